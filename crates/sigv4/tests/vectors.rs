//! The 21 signed requests captured from real clients verify with their secret and fail when the
//! secret, the body, a signed header or the date is changed.

use base64::Engine;
use nephoscope_sigv4::{parse_amz_date, parse_authorization, verify, Request, SigV4Error};

struct Captured {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn secret_of(akid: &str) -> &'static str {
    match akid {
        "AKIDEXAMPLE" => "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AKIDDOCKER" => "dockersecret",
        "AKID" => "x",
        other => panic!("unknown key {other}"),
    }
}

fn load() -> Vec<Captured> {
    let text = include_str!("data/captured-requests.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            Captured {
                method: v["method"].as_str().unwrap().into(),
                path: v["path"].as_str().unwrap().into(),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().to_string(),
                            h[1].as_str().unwrap().as_bytes().to_vec(),
                        )
                    })
                    .collect(),
                body: base64::engine::general_purpose::STANDARD
                    .decode(v["body_b64"].as_str().unwrap())
                    .unwrap(),
            }
        })
        .collect()
}

fn check(c: &Captured, secret: &str) -> Result<(), SigV4Error> {
    let headers: Vec<(&str, &[u8])> = c
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request {
        method: &c.method,
        path_and_query: &c.path,
        headers: &headers,
        body: &c.body,
    };
    let auth = parse_authorization(req.header("authorization").unwrap())?;
    let now = parse_amz_date(req.header("x-amz-date").unwrap()).unwrap();
    verify(&req, &auth, secret, now, 900)
}

fn akid(c: &Captured) -> String {
    let h = c
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .unwrap();
    parse_authorization(std::str::from_utf8(&h.1).unwrap())
        .unwrap()
        .access_key_id
}

#[test]
fn all_captured_requests_verify() {
    let all = load();
    assert_eq!(all.len(), 21);
    for c in &all {
        let secret = secret_of(&akid(c));
        assert_eq!(check(c, secret), Ok(()), "{} {}", c.method, c.path);
    }
}

#[test]
fn wrong_secret_fails() {
    for c in &load() {
        assert_eq!(check(c, "not-the-secret"), Err(SigV4Error::Mismatch));
    }
}

#[test]
fn tampered_body_fails() {
    for mut c in load() {
        let secret = secret_of(&akid(&c));
        c.body.push(b' ');
        let r = check(&c, secret);
        assert!(
            matches!(
                r,
                Err(SigV4Error::Mismatch | SigV4Error::ContentHashMismatch)
            ),
            "{r:?}"
        );
    }
}

#[test]
fn tampered_signed_header_fails() {
    for mut c in load() {
        let secret = secret_of(&akid(&c));
        let host = c
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .unwrap();
        host.1 = b"127.0.0.1:1".to_vec();
        assert_eq!(check(&c, secret), Err(SigV4Error::Mismatch));
    }
}

#[test]
fn tampered_date_fails() {
    for mut c in load() {
        let secret = secret_of(&akid(&c));
        let date = c
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
            .unwrap();
        // One second later, same day: only the signature can tell.
        let s = String::from_utf8(date.1.clone()).unwrap();
        let secs = parse_amz_date(&s).unwrap();
        let later = nephoscope_sigv4::format_amz_date(secs + 1);
        assert_eq!(&later[..8], &s[..8], "capture must not sit on midnight");
        date.1 = later.into_bytes();
        assert_eq!(check(&c, secret), Err(SigV4Error::Mismatch));
    }
}

#[test]
fn skew_window_is_enforced() {
    let c = &load()[0];
    let headers: Vec<(&str, &[u8])> = c
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request {
        method: &c.method,
        path_and_query: &c.path,
        headers: &headers,
        body: &c.body,
    };
    let auth = parse_authorization(req.header("authorization").unwrap()).unwrap();
    let t = parse_amz_date(req.header("x-amz-date").unwrap()).unwrap();
    let secret = secret_of(&auth.access_key_id);
    assert!(verify(&req, &auth, secret, t + 900, 900).is_ok());
    let err = verify(&req, &auth, secret, t + 901, 900).unwrap_err();
    assert!(err.to_string().starts_with("Signature expired: "), "{err}");
    assert!(matches!(
        verify(&req, &auth, secret, t - 901, 900),
        Err(SigV4Error::NotYetCurrent { .. })
    ));
}
