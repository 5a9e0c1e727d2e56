//! The log store's state and the mutations that change it. Every mutation is a write-ahead log
//! record; `apply` is deterministic, so replaying the log rebuilds exactly the state that was
//! acknowledged.

use crate::codec::{DecodeError, Reader, Writer};
use std::collections::BTreeMap;

/// An account and region: the isolation boundary of every resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: i64,
    pub ingestion_time: i64,
    /// Position in the store's total order of events; unique, increasing with ingestion.
    pub seq: u64,
    pub message: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub name: String,
    pub creation_time: i64,
    pub first_event_timestamp: Option<i64>,
    pub last_event_timestamp: Option<i64>,
    pub last_ingestion_time: Option<i64>,
    pub stored_bytes: u64,
    /// Sorted by (timestamp, seq).
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub creation_time: i64,
    pub retention_days: Option<u32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: BTreeMap<String, String>,
    pub streams: BTreeMap<String, Stream>,
}

impl Group {
    pub fn stored_bytes(&self) -> u64 {
        self.streams.values().map(|s| s.stored_bytes).sum()
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub scopes: BTreeMap<Scope, BTreeMap<String, Group>>,
    pub next_seq: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    CreateGroup {
        scope: Scope,
        name: String,
        creation_time: i64,
        class: String,
        kms_key_id: Option<String>,
        deletion_protection: bool,
        tags: BTreeMap<String, String>,
    },
    DeleteGroup {
        scope: Scope,
        name: String,
    },
    CreateStream {
        scope: Scope,
        group: String,
        name: String,
        creation_time: i64,
    },
    DeleteStream {
        scope: Scope,
        group: String,
        name: String,
    },
    PutEvents {
        scope: Scope,
        group: String,
        stream: String,
        ingestion_time: i64,
        /// (timestamp, message), already validated and in chronological order.
        events: Vec<(i64, String)>,
    },
    SetRetention {
        scope: Scope,
        group: String,
        days: Option<u32>,
    },
    Tag {
        scope: Scope,
        group: String,
        tags: BTreeMap<String, String>,
    },
    Untag {
        scope: Scope,
        group: String,
        keys: Vec<String>,
    },
    SetDeletionProtection {
        scope: Scope,
        group: String,
        enabled: bool,
    },
    /// Physically drops events older than `before` (retention).
    Expire {
        scope: Scope,
        group: String,
        before: i64,
    },
    /// Forgets everything (ephemeral servers' reset).
    Reset,
}

/// Why a mutation did not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream already exists")]
    StreamExists,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The log group has deletion protection enabled.")]
    DeletionProtected,
}

/// What a successful mutation reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// For PutEvents: the seq of the first event stored.
    pub first_seq: u64,
}

impl State {
    pub fn group(&self, scope: &Scope, name: &str) -> Option<&Group> {
        self.scopes.get(scope)?.get(name)
    }

    fn group_mut(&mut self, scope: &Scope, name: &str) -> Result<&mut Group, Rejection> {
        self.scopes
            .get_mut(scope)
            .and_then(|g| g.get_mut(name))
            .ok_or(Rejection::GroupNotFound)
    }

    pub fn apply(&mut self, m: Mutation) -> Result<Applied, Rejection> {
        match m {
            Mutation::CreateGroup {
                scope,
                name,
                creation_time,
                class,
                kms_key_id,
                deletion_protection,
                tags,
            } => {
                let groups = self.scopes.entry(scope).or_default();
                if groups.contains_key(&name) {
                    return Err(Rejection::GroupExists);
                }
                groups.insert(
                    name.clone(),
                    Group {
                        name,
                        creation_time,
                        class,
                        kms_key_id,
                        deletion_protection,
                        tags,
                        ..Group::default()
                    },
                );
            }
            Mutation::DeleteGroup { scope, name } => {
                let g = self.group_mut(&scope, &name)?;
                if g.deletion_protection {
                    return Err(Rejection::DeletionProtected);
                }
                if let Some(groups) = self.scopes.get_mut(&scope) {
                    groups.remove(&name);
                }
            }
            Mutation::CreateStream {
                scope,
                group,
                name,
                creation_time,
            } => {
                let g = self.group_mut(&scope, &group)?;
                if g.streams.contains_key(&name) {
                    return Err(Rejection::StreamExists);
                }
                g.streams.insert(
                    name.clone(),
                    Stream {
                        name,
                        creation_time,
                        ..Stream::default()
                    },
                );
            }
            Mutation::DeleteStream { scope, group, name } => {
                let g = self.group_mut(&scope, &group)?;
                g.streams.remove(&name).ok_or(Rejection::StreamNotFound)?;
            }
            Mutation::PutEvents {
                scope,
                group,
                stream,
                ingestion_time,
                events,
            } => {
                let first_seq = self.next_seq;
                let g = self.group_mut(&scope, &group)?;
                let s = g
                    .streams
                    .get_mut(&stream)
                    .ok_or(Rejection::StreamNotFound)?;
                let mut seq = first_seq;
                for (timestamp, message) in events {
                    s.stored_bytes += message.len() as u64;
                    s.first_event_timestamp = Some(
                        s.first_event_timestamp
                            .map_or(timestamp, |f| f.min(timestamp)),
                    );
                    s.last_event_timestamp = Some(
                        s.last_event_timestamp
                            .map_or(timestamp, |l| l.max(timestamp)),
                    );
                    let ev = Event {
                        timestamp,
                        ingestion_time,
                        seq,
                        message: message.into_boxed_str(),
                    };
                    // Batches are chronological; only out-of-order batches need an insert.
                    if s.events.last().is_none_or(|l| l.timestamp <= timestamp) {
                        s.events.push(ev);
                    } else {
                        let at = s.events.partition_point(|e| e.timestamp <= timestamp);
                        s.events.insert(at, ev);
                    }
                    seq += 1;
                }
                s.last_ingestion_time = Some(ingestion_time);
                self.next_seq = seq;
                return Ok(Applied { first_seq });
            }
            Mutation::SetRetention { scope, group, days } => {
                self.group_mut(&scope, &group)?.retention_days = days;
            }
            Mutation::Tag { scope, group, tags } => {
                self.group_mut(&scope, &group)?.tags.extend(tags);
            }
            Mutation::Untag { scope, group, keys } => {
                let g = self.group_mut(&scope, &group)?;
                for k in keys {
                    g.tags.remove(&k);
                }
            }
            Mutation::SetDeletionProtection {
                scope,
                group,
                enabled,
            } => {
                self.group_mut(&scope, &group)?.deletion_protection = enabled;
            }
            Mutation::Expire {
                scope,
                group,
                before,
            } => {
                let g = self.group_mut(&scope, &group)?;
                for s in g.streams.values_mut() {
                    let cut = s.events.partition_point(|e| e.timestamp < before);
                    if cut > 0 {
                        let freed: u64 =
                            s.events[..cut].iter().map(|e| e.message.len() as u64).sum();
                        s.events.drain(..cut);
                        s.stored_bytes -= freed;
                    }
                }
            }
            Mutation::Reset => {
                self.scopes.clear();
            }
        }
        Ok(Applied::default())
    }
}

fn scope_w(w: &mut Writer, s: &Scope) {
    w.str(&s.account);
    w.str(&s.region);
}

fn scope_r(r: &mut Reader<'_>) -> Result<Scope, DecodeError> {
    Ok(Scope {
        account: r.str()?,
        region: r.str()?,
    })
}

fn map_w(w: &mut Writer, m: &BTreeMap<String, String>) {
    w.u64(m.len() as u64);
    for (k, v) in m {
        w.str(k);
        w.str(v);
    }
}

fn map_r(r: &mut Reader<'_>) -> Result<BTreeMap<String, String>, DecodeError> {
    let n = r.u64()?;
    let mut m = BTreeMap::new();
    for _ in 0..n {
        let k = r.str()?;
        m.insert(k, r.str()?);
    }
    Ok(m)
}

impl Mutation {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Mutation::CreateGroup {
                scope,
                name,
                creation_time,
                class,
                kms_key_id,
                deletion_protection,
                tags,
            } => {
                w.u8(1);
                scope_w(&mut w, scope);
                w.str(name);
                w.i64(*creation_time);
                w.str(class);
                w.opt_str(kms_key_id.as_deref());
                w.bool(*deletion_protection);
                map_w(&mut w, tags);
            }
            Mutation::DeleteGroup { scope, name } => {
                w.u8(2);
                scope_w(&mut w, scope);
                w.str(name);
            }
            Mutation::CreateStream {
                scope,
                group,
                name,
                creation_time,
            } => {
                w.u8(3);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
                w.i64(*creation_time);
            }
            Mutation::DeleteStream { scope, group, name } => {
                w.u8(4);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(name);
            }
            Mutation::PutEvents {
                scope,
                group,
                stream,
                ingestion_time,
                events,
            } => {
                w.buf
                    .reserve(events.iter().map(|(_, m)| m.len() + 12).sum::<usize>() + 64);
                w.u8(5);
                scope_w(&mut w, scope);
                w.str(group);
                w.str(stream);
                w.i64(*ingestion_time);
                w.u64(events.len() as u64);
                for (ts, msg) in events {
                    w.i64(*ts);
                    w.str(msg);
                }
            }
            Mutation::SetRetention { scope, group, days } => {
                w.u8(6);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(days.map_or(0, u64::from));
            }
            Mutation::Tag { scope, group, tags } => {
                w.u8(7);
                scope_w(&mut w, scope);
                w.str(group);
                map_w(&mut w, tags);
            }
            Mutation::Untag { scope, group, keys } => {
                w.u8(8);
                scope_w(&mut w, scope);
                w.str(group);
                w.u64(keys.len() as u64);
                for k in keys {
                    w.str(k);
                }
            }
            Mutation::SetDeletionProtection {
                scope,
                group,
                enabled,
            } => {
                w.u8(9);
                scope_w(&mut w, scope);
                w.str(group);
                w.bool(*enabled);
            }
            Mutation::Expire {
                scope,
                group,
                before,
            } => {
                w.u8(10);
                scope_w(&mut w, scope);
                w.str(group);
                w.i64(*before);
            }
            Mutation::Reset => w.u8(11),
        }
        w.buf
    }

    pub fn decode(data: &[u8]) -> Result<Mutation, DecodeError> {
        let mut r = Reader::new(data);
        let m = match r.u8()? {
            1 => Mutation::CreateGroup {
                scope: scope_r(&mut r)?,
                name: r.str()?,
                creation_time: r.i64()?,
                class: r.str()?,
                kms_key_id: r.opt_str()?,
                deletion_protection: r.bool()?,
                tags: map_r(&mut r)?,
            },
            2 => Mutation::DeleteGroup {
                scope: scope_r(&mut r)?,
                name: r.str()?,
            },
            3 => Mutation::CreateStream {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
                creation_time: r.i64()?,
            },
            4 => Mutation::DeleteStream {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                name: r.str()?,
            },
            5 => {
                let scope = scope_r(&mut r)?;
                let group = r.str()?;
                let stream = r.str()?;
                let ingestion_time = r.i64()?;
                let n = r.u64()? as usize;
                let mut events = Vec::with_capacity(n.min(10_000));
                for _ in 0..n {
                    let ts = r.i64()?;
                    events.push((ts, r.str()?));
                }
                Mutation::PutEvents {
                    scope,
                    group,
                    stream,
                    ingestion_time,
                    events,
                }
            }
            6 => Mutation::SetRetention {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                days: match r.u64()? {
                    0 => None,
                    d => Some(u32::try_from(d).map_err(|_| DecodeError(0))?),
                },
            },
            7 => Mutation::Tag {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                tags: map_r(&mut r)?,
            },
            8 => {
                let scope = scope_r(&mut r)?;
                let group = r.str()?;
                let n = r.u64()?;
                let mut keys = Vec::new();
                for _ in 0..n {
                    keys.push(r.str()?);
                }
                Mutation::Untag { scope, group, keys }
            }
            9 => Mutation::SetDeletionProtection {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                enabled: r.bool()?,
            },
            10 => Mutation::Expire {
                scope: scope_r(&mut r)?,
                group: r.str()?,
                before: r.i64()?,
            },
            11 => Mutation::Reset,
            _ => return Err(DecodeError(0)),
        };
        if !r.done() {
            return Err(DecodeError(data.len()));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn every_mutation_round_trips() {
        let s = scope();
        let all = vec![
            Mutation::CreateGroup {
                scope: s.clone(),
                name: "g".into(),
                creation_time: 5,
                class: "STANDARD".into(),
                kms_key_id: Some("k".into()),
                deletion_protection: true,
                tags: [("a".to_string(), "b".to_string())].into(),
            },
            Mutation::DeleteGroup {
                scope: s.clone(),
                name: "g".into(),
            },
            Mutation::CreateStream {
                scope: s.clone(),
                group: "g".into(),
                name: "s".into(),
                creation_time: -1,
            },
            Mutation::DeleteStream {
                scope: s.clone(),
                group: "g".into(),
                name: "s".into(),
            },
            Mutation::PutEvents {
                scope: s.clone(),
                group: "g".into(),
                stream: "s".into(),
                ingestion_time: 9,
                events: vec![(1, "a".into()), (2, "ü".into())],
            },
            Mutation::SetRetention {
                scope: s.clone(),
                group: "g".into(),
                days: Some(7),
            },
            Mutation::SetRetention {
                scope: s.clone(),
                group: "g".into(),
                days: None,
            },
            Mutation::Tag {
                scope: s.clone(),
                group: "g".into(),
                tags: BTreeMap::new(),
            },
            Mutation::Untag {
                scope: s.clone(),
                group: "g".into(),
                keys: vec!["a".into()],
            },
            Mutation::SetDeletionProtection {
                scope: s.clone(),
                group: "g".into(),
                enabled: false,
            },
            Mutation::Expire {
                scope: s,
                group: "g".into(),
                before: 100,
            },
        ];
        for m in all {
            assert_eq!(Mutation::decode(&m.encode()).unwrap(), m);
        }
        assert!(Mutation::decode(&[]).is_err());
        assert!(Mutation::decode(&[99]).is_err());
    }

    #[test]
    fn apply_rules_table() {
        let s = scope();
        let mut st = State::default();
        let create = |name: &str| Mutation::CreateGroup {
            scope: s.clone(),
            name: name.into(),
            creation_time: 0,
            class: "STANDARD".into(),
            kms_key_id: None,
            deletion_protection: false,
            tags: BTreeMap::new(),
        };
        assert!(st.apply(create("g")).is_ok());
        assert_eq!(st.apply(create("g")), Err(Rejection::GroupExists));
        let put = |ts: Vec<i64>| Mutation::PutEvents {
            scope: s.clone(),
            group: "g".into(),
            stream: "s".into(),
            ingestion_time: 10,
            events: ts.into_iter().map(|t| (t, format!("m{t}"))).collect(),
        };
        assert_eq!(st.apply(put(vec![1])), Err(Rejection::StreamNotFound));
        st.apply(Mutation::CreateStream {
            scope: s.clone(),
            group: "g".into(),
            name: "s".into(),
            creation_time: 0,
        })
        .unwrap();
        st.apply(put(vec![5, 6])).unwrap();
        let applied = st.apply(put(vec![1, 7])).unwrap();
        assert_eq!(applied.first_seq, 2);
        let stream = &st.group(&s, "g").unwrap().streams["s"];
        let order: Vec<i64> = stream.events.iter().map(|e| e.timestamp).collect();
        assert_eq!(order, vec![1, 5, 6, 7]);
        assert_eq!(
            (stream.first_event_timestamp, stream.last_event_timestamp),
            (Some(1), Some(7))
        );
        st.apply(Mutation::Expire {
            scope: s.clone(),
            group: "g".into(),
            before: 6,
        })
        .unwrap();
        let stream = &st.group(&s, "g").unwrap().streams["s"];
        assert_eq!(stream.events.len(), 2);
        assert_eq!(stream.stored_bytes, 4);
        st.apply(Mutation::SetDeletionProtection {
            scope: s.clone(),
            group: "g".into(),
            enabled: true,
        })
        .unwrap();
        assert_eq!(
            st.apply(Mutation::DeleteGroup {
                scope: s.clone(),
                name: "g".into()
            }),
            Err(Rejection::DeletionProtected)
        );
        let other = Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        };
        assert!(st.group(&other, "g").is_none(), "accounts are isolated");
    }
}
