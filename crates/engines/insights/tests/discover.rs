use nephoscope_insights::discover_fields;

#[test]
fn discovered_fields_with_percentages() {
    let msgs = [
        r#"{"a":1,"b":{"c":"x","d":[1,{"e":2}]},"@example.com":"y","n":null}"#,
        r#"{"a":2,"b":{"c":"z"}}"#,
        "plain text",
        r#"{"a":3}"#,
    ];
    let f = discover_fields(msgs.iter().copied());
    let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|x| x.1);
    for s in [
        "@timestamp",
        "@message",
        "@logStream",
        "@log",
        "@ingestionTime",
    ] {
        assert_eq!(get(s), Some(100.0), "{s}");
    }
    assert_eq!(get("a"), Some(75.0));
    assert_eq!(get("b.c"), Some(50.0));
    assert_eq!(get("b.d.0"), Some(25.0));
    assert_eq!(get("b.d.1.e"), Some(25.0));
    assert_eq!(get("@@example.com"), Some(25.0));
    assert_eq!(get("n"), None);
    assert_eq!(get("b"), None);
    // sorted by percent descending, then name
    assert!(f
        .windows(2)
        .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
    assert_eq!(f[0].0, "@ingestionTime");
    assert!(discover_fields(std::iter::empty()).is_empty());
}
