//! The code of the `field_columns` fuzz target (`fuzz/fuzz_targets/field_columns.rs`), here
//! so plain `cargo test` replays its seeds and saved crashes (`tests/fuzz_regressions.rs`).

use nephoscope_logstore::fields::{self, BlockFields, FieldExtractor};

/// Log messages (the input's lines) through discovery and a block's field columns:
/// * the fast scanner finds exactly the fields the full parse finds;
/// * the columns built from the messages and decoded again answer, for every name, what
///   the messages hold (the last value a message gives a name), or send the reader to the
///   messages — never anything else; a damaged frame never panics;
/// * a message the store would mark flat is a JSON object of scalars with unique keys, in
///   which searching for keys finds what the walk finds (every name alone and all together,
///   the messages in order so key positions carry over).
pub fn field_columns(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let messages: Vec<&str> = text.split('\n').collect();
    let mut names: Vec<String> = Vec::new();
    let mut expected: Vec<Vec<(String, String)>> = Vec::new();
    for m in &messages {
        let mut fast = Vec::new();
        crate::FieldDiscovery.fields(m, &mut |k, v| fast.push((k.to_string(), v.to_string())));
        let mut full = Vec::new();
        nephoscope_insights::discovered_fields_by_full_parse(m, &mut |k, v| {
            full.push((k.to_string(), v.to_string()))
        });
        assert_eq!(fast, full, "fields of {m:?}");
        for (k, _) in &full {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        expected.push(full);
    }
    names.push("absent".to_string());
    flat_search(&messages, &names);
    let raw: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    let frame = fields::build(&raw, &crate::FieldDiscovery);
    let n = messages.len();
    let block = BlockFields::decode(&frame, n, None).expect("a frame just built decodes");
    let (mut arena, mut out) = (String::new(), Vec::new());
    for name in &names {
        let wanted = std::slice::from_ref(name);
        if !block.values(wanted, n, &mut arena, &mut out) {
            continue;
        }
        for (i, fields) in expected.iter().enumerate() {
            let want = fields
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            let got = out[i].map(|(a, b)| &arena[a as usize..b as usize]);
            assert_eq!(got, want, "{name} of message {i}");
        }
    }
    // Damage: every truncation and a flipped byte decode or fail, never panic.
    for cut in (0..frame.len()).step_by(frame.len() / 64 + 1) {
        let _ = BlockFields::decode(&frame[..cut], n, None);
        let mut bad = frame.clone();
        bad[cut] ^= 0x55;
        if let Ok(b) = BlockFields::decode(&bad, n, Some(&names)) {
            b.values(&names, n, &mut arena, &mut out);
        }
    }
}

fn flat_search(messages: &[&str], names: &[String]) {
    use nephoscope_insights::FieldScanner;
    let mut lists: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
    lists.push(names.to_vec());
    // One scanner per list, so key positions carry over from message to message.
    let mut lists: Vec<(Vec<String>, FieldScanner)> = lists
        .into_iter()
        .map(|l| (l, FieldScanner::default()))
        .collect();
    let mut scanner = FieldScanner::default();
    for m in messages {
        if !nephoscope_logstore::flat::is_flat_object(m) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(m).expect("a flat message is JSON");
        let o = v.as_object().expect("a flat message is an object");
        assert!(o.values().all(|v| !v.is_object() && !v.is_array()), "{m:?}");
        let members: Members = serde_json::from_str(m).expect("a flat message is JSON");
        assert_eq!(members.0, o.len(), "a flat message repeats no key: {m:?}");
        for (wanted, flat) in &mut lists {
            let (mut walked, mut searched) = (Vec::new(), Vec::new());
            scanner.extract(m, wanted, &mut |k, v| {
                walked.push((k.to_string(), v.to_string()))
            });
            flat.extract_marked(m, true, wanted, &mut |k, v| {
                searched.push((k.to_string(), v.to_string()))
            });
            assert_eq!(searched, walked, "{wanted:?} in {m:?}");
        }
    }
}

/// How many members a JSON object has, repeated keys counted each time.
struct Members(usize);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut n = 0;
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {
                    n += 1;
                }
                Ok(Members(n))
            }
        }
        d.deserialize_map(Count)
    }
}
