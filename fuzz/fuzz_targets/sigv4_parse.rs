//! SigV4: `parse_authorization` and `parse_amz_date` on arbitrary text, and `verify` of a request
//! built from the input with a fixed secret. Nothing may panic.
//!
//! Input, HTTP-like: a request line `METHOD PATH?QUERY`, then `Name: value` header lines, a blank
//! line, and the body (`\n` line ends; a `\r` before it is dropped). The `Authorization` header is
//! parsed as the server does; `verify` runs at a fixed "now" and at the request's own
//! `X-Amz-Date` (so the canonical request is built), and once more on a copy re-signed with
//! `sign` (so the success path runs too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nephoscope_sigv4::{parse_amz_date, parse_authorization, sign, verify, Request};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2024-01-01T00:00:00Z.
const NOW: i64 = 1_704_067_200;
const SKEW: i64 = 900;

fn split_lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| *c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_authorization(&text);
    let _ = parse_amz_date(&text);

    // Request line, headers, blank line, body.
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = split_lines(head);
    let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let (method, path) = request_line
        .split_once(' ')
        .unwrap_or((request_line.as_str(), "/"));
    let mut owned: Vec<(String, &[u8])> = Vec::new();
    for line in lines {
        let (name, value) = match line.iter().position(|c| *c == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        owned.push((String::from_utf8_lossy(name).into_owned(), value));
    }
    let headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let req = Request {
        method,
        path_and_query: path,
        headers: &headers,
        body,
    };
    for (_, v) in &headers {
        if let Ok(s) = std::str::from_utf8(v) {
            let _ = parse_authorization(s);
            let _ = parse_amz_date(s);
        }
    }

    let Some(auth) = req
        .header("authorization")
        .and_then(|h| parse_authorization(h).ok())
    else {
        return;
    };
    let _ = verify(&req, &auth, SECRET, NOW, SKEW);
    let Some(date) = req.header("x-amz-date") else {
        return;
    };
    if let Some(when) = parse_amz_date(date.trim()) {
        let _ = verify(&req, &auth, SECRET, when, SKEW);
    }

    // Re-sign with the same scope and headers, then verify: reaches the success path. `sign`
    // slices the date's first 8 bytes, so only ASCII dates are given to it (a test helper, not
    // a parser of untrusted input).
    if !date.is_ascii() {
        return;
    }
    let signed_headers: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    let header = sign(
        &req,
        &auth.access_key_id,
        SECRET,
        &auth.region,
        &auth.service,
        &signed_headers,
    );
    let resigned: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("authorization") {
                (*n, header.as_bytes())
            } else {
                (*n, *v)
            }
        })
        .collect();
    let req = Request {
        headers: &resigned,
        ..req
    };
    if let Ok(auth) = parse_authorization(&header) {
        if let Some(when) = parse_amz_date(date.trim()) {
            let _ = verify(&req, &auth, SECRET, when, SKEW);
        }
    }
});
