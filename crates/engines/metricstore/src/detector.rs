//! Anomaly detectors: which metric (or math expression) a detector models and how it is trained,
//! kept per (account, region) beside the series, so they go through the same log, checkpoints and
//! reset. The service owns their meaning — ids, statistics, the encoding of math queries; the
//! store keeps them and encodes them.

use crate::SeriesKey;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};

#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    /// Unique in its scope; the service derives it from the target.
    pub id: String,
    pub target: Target,
    pub training: Training,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One metric and statistic; `account` as the caller named it (`None`: the caller's own).
    Metric {
        account: Option<String>,
        key: SeriesKey,
        stat: String,
    },
    /// A metric math expression: the service's encoding of its queries.
    Math { queries: String },
}

/// How a detector's model is trained.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Training {
    /// Time ranges left out of training: (start, end) in epoch milliseconds.
    pub excluded: Vec<(i64, i64)>,
    /// A tz database name: the model's hours of the day are this zone's.
    pub timezone: Option<String>,
    pub periodic_spikes: Option<bool>,
    pub adaptation_speed: Option<String>,
    pub outlier_filtering: Option<String>,
}

fn opt_bool(w: &mut Writer, b: Option<bool>) {
    w.u8(match b {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
}

impl Detector {
    pub fn encode(&self, w: &mut Writer) {
        w.u8(1); // record version
        w.str(&self.id);
        match &self.target {
            Target::Metric { account, key, stat } => {
                w.u8(0);
                w.opt_str(account.as_deref());
                w.str(&key.namespace);
                w.str(&key.name);
                w.u64(key.dimensions.len() as u64);
                for (n, v) in &key.dimensions {
                    w.str(n);
                    w.str(v);
                }
                w.str(stat);
            }
            Target::Math { queries } => {
                w.u8(1);
                w.str(queries);
            }
        }
        let t = &self.training;
        w.u64(t.excluded.len() as u64);
        for (s, e) in &t.excluded {
            w.i64(*s);
            w.i64(*e);
        }
        w.opt_str(t.timezone.as_deref());
        opt_bool(w, t.periodic_spikes);
        w.opt_str(t.adaptation_speed.as_deref());
        w.opt_str(t.outlier_filtering.as_deref());
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Detector, DecodeError> {
        if r.u8()? != 1 {
            return Err(DecodeError(0));
        }
        let id = r.str()?;
        let target = match r.u8()? {
            0 => {
                let account = r.opt_str()?;
                let namespace = r.str()?;
                let name = r.str()?;
                let mut dimensions = Vec::new();
                for _ in 0..r.u64()? {
                    dimensions.push((r.str()?, r.str()?));
                }
                Target::Metric {
                    account,
                    key: SeriesKey {
                        namespace,
                        name,
                        dimensions,
                    },
                    stat: r.str()?,
                }
            }
            1 => Target::Math { queries: r.str()? },
            _ => return Err(DecodeError(0)),
        };
        let mut excluded = Vec::new();
        for _ in 0..r.u64()? {
            excluded.push((r.i64()?, r.i64()?));
        }
        let timezone = r.opt_str()?;
        let periodic_spikes = match r.u8()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return Err(DecodeError(0)),
        };
        Ok(Detector {
            id,
            target,
            training: Training {
                excluded,
                timezone,
                periodic_spikes,
                adaptation_speed: r.opt_str()?,
                outlier_filtering: r.opt_str()?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_round_trip() {
        for d in [
            Detector {
                id: "a".into(),
                target: Target::Metric {
                    account: None,
                    key: SeriesKey::new("App", "Latency", vec![("Host".into(), "h".into())]),
                    stat: "p99".into(),
                },
                training: Training::default(),
            },
            Detector {
                id: "b".into(),
                target: Target::Math {
                    queries: "[{\"Id\":\"e1\"}]".into(),
                },
                training: Training {
                    excluded: vec![(1, 2), (-5, 7)],
                    timezone: Some("Europe/Paris".into()),
                    periodic_spikes: Some(false),
                    adaptation_speed: Some("FAST".into()),
                    outlier_filtering: None,
                },
            },
        ] {
            let mut w = Writer::default();
            d.encode(&mut w);
            let mut r = Reader::new(&w.buf);
            assert_eq!(Detector::decode(&mut r).unwrap(), d);
            assert!(r.done());
        }
    }
}
