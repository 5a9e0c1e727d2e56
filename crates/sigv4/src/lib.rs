//! Verification of AWS Signature Version 4 on incoming requests.
//!
//! Canonicalisation follows what real clients sign (see `docs/dev/server-contract.md`): the path
//! is URI-encoded once more on top of its wire form (non-S3 rule), the query is decoded then
//! re-encoded and sorted, signed headers are trimmed and whitespace-collapsed, and the payload
//! hash is `x-amz-content-sha256` when present (checked against the body) or the body's SHA-256.
//! Nothing here reads the clock or knows an account: callers pass "now" and the secret.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const URI_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Malformed(String),
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentHashMismatch,
    #[error(
        "Signature expired: {request} is now earlier than {earliest} ({now} - {minutes} min.)"
    )]
    Expired {
        request: String,
        earliest: String,
        now: String,
        minutes: i64,
    },
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + {minutes} min.)")]
    NotYetCurrent {
        request: String,
        latest: String,
        now: String,
        minutes: i64,
    },
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `yyyymmdd` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<String>,
    /// 64 lower-case hex digits.
    pub signature: String,
}

impl Authorization {
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=<hex>`.
pub fn parse_authorization(header: &str) -> Result<Authorization, SigV4Error> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| {
            SigV4Error::Malformed(format!(
                "Authorization header requires the {ALGORITHM} algorithm."
            ))
        })?
        .trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        let (k, v) = part.split_once('=').ok_or_else(|| {
            SigV4Error::Malformed(format!(
                "Authorization header requires each component to be of the form key=value: '{part}'"
            ))
        })?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let missing = |name: &str| {
        SigV4Error::Malformed(format!(
            "Authorization header requires '{name}' parameter. Authorization={header}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts[0].is_empty() {
        return Err(SigV4Error::Malformed(format!(
            "Credential should be scoped to a valid region, service and date. Credential={credential}"
        )));
    }
    if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(SigV4Error::Malformed(format!(
            "Credential should be scoped to a valid date. Credential={credential}"
        )));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigV4Error::Malformed(
            "Signature must be 64 hexadecimal characters.".into(),
        ));
    }
    let signed_headers: Vec<String> = signed
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.is_empty() || !signed_headers.iter().any(|h| h == "host") {
        return Err(SigV4Error::Malformed(
            "'Host' must be a signed header.".into(),
        ));
    }
    Ok(Authorization {
        access_key_id: parts[0].to_string(),
        date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// What the verifier needs to see of a request.
pub struct Request<'a> {
    pub method: &'a str,
    /// Path and query exactly as received (`/canary/my%20canary?x=1`).
    pub path_and_query: &'a str,
    /// Header name/value pairs in wire order (names any case).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The body bytes as received (before any `Content-Encoding` is undone).
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// `yyyymmddThhmmssZ` → epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Epoch seconds → `yyyymmddThhmmssZ`.
pub fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(|seg| utf8_percent_encode(seg, URI_ENCODE).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |s: &str| {
                let decoded = percent_decode_str(s).decode_utf8_lossy();
                utf8_percent_encode(&decoded, URI_ENCODE).to_string()
            };
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn collapse_whitespace(v: &[u8], out: &mut String) {
    let s = String::from_utf8_lossy(v);
    let mut first = true;
    for word in s.split_ascii_whitespace() {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key of `secret` for a credential scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The canonical request of `req` as signed by `auth`'s header list.
pub fn canonical_request(
    req: &Request<'_>,
    auth: &Authorization,
    payload_hash: &str,
) -> Result<String, SigV4Error> {
    let (path, query) = req
        .path_and_query
        .split_once('?')
        .unwrap_or((req.path_and_query, ""));
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(path));
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for name in &auth.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut any = false;
        for (i, v) in req.header_values(name).enumerate() {
            if i > 0 {
                out.push(',');
            }
            collapse_whitespace(v, &mut out);
            any = true;
        }
        if !any {
            return Err(SigV4Error::Malformed(format!(
                "Signed header '{name}' is missing from the request."
            )));
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&auth.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Verifies the signature of `req` (already parsed into `auth`) with `secret`, at `now` epoch
/// seconds with a skew window of `max_skew_secs`.
pub fn verify(
    req: &Request<'_>,
    auth: &Authorization,
    secret: &str,
    now: i64,
    max_skew_secs: i64,
) -> Result<(), SigV4Error> {
    let amz_date = req
        .header("x-amz-date")
        .ok_or_else(|| {
            SigV4Error::Malformed(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?
        .trim();
    let when = parse_amz_date(amz_date).ok_or_else(|| {
        SigV4Error::Malformed(format!(
            "Invalid X-Amz-Date '{amz_date}': expected yyyyMMddTHHmmssZ."
        ))
    })?;
    if !amz_date.starts_with(&auth.date) {
        return Err(SigV4Error::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            auth.date,
            &amz_date[..8]
        )));
    }
    let minutes = max_skew_secs / 60;
    if when < now - max_skew_secs {
        return Err(SigV4Error::Expired {
            request: amz_date.to_string(),
            earliest: format_amz_date(now - max_skew_secs),
            now: format_amz_date(now),
            minutes,
        });
    }
    if when > now + max_skew_secs {
        return Err(SigV4Error::NotYetCurrent {
            request: amz_date.to_string(),
            latest: format_amz_date(now + max_skew_secs),
            now: format_amz_date(now),
            minutes,
        });
    }
    let body_hash = sha256_hex(req.body);
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some(h) => {
            let h = h.trim();
            if !h.eq_ignore_ascii_case(&body_hash) {
                return Err(SigV4Error::ContentHashMismatch);
            }
            h.to_string()
        }
        None => body_hash,
    };
    let creq = canonical_request(req, auth, &payload_hash)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        auth.scope(),
        sha256_hex(creq.as_bytes())
    );
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch)
    }
}

/// Signs a request the way SDKs do; used by tests, benchmarks and fuzzers to build inputs.
pub fn sign(
    req: &Request<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    signed_headers: &[&str],
) -> String {
    let amz_date = req.header("x-amz-date").unwrap_or("19700101T000000Z");
    let auth = Authorization {
        access_key_id: access_key_id.into(),
        date: amz_date.get(..8).unwrap_or(amz_date).into(),
        region: region.into(),
        service: service.into(),
        signed_headers: signed_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        signature: String::new(),
    };
    let payload_hash = req
        .header("x-amz-content-sha256")
        .map(str::to_string)
        .unwrap_or_else(|| sha256_hex(req.body));
    let creq = canonical_request(req, &auth, &payload_hash).unwrap_or_default();
    let sts = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        auth.scope(),
        sha256_hex(creq.as_bytes())
    );
    let key = signing_key(secret, &auth.date, region, service);
    format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={}",
        auth.scope(),
        auth.signed_headers.join(";"),
        hex::encode(hmac(&key, sts.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trip_table() {
        for (text, secs) in [
            ("19700101T000000Z", 0),
            ("20240101T000000Z", 1_704_067_200),
            ("20261125T165725Z", 1_795_625_845),
            ("20000229T235959Z", 951_868_799),
        ] {
            assert_eq!(parse_amz_date(text), Some(secs), "{text}");
            assert_eq!(format_amz_date(secs), text);
        }
        for bad in [
            "2024-01-01T00:00:00Z",
            "20241301T000000Z",
            "20240101T000000",
            "",
            "2024010XT000000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_authorization_table() {
        let ok = parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request, SignedHeaders=Host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(ok.access_key_id, "AKID");
        assert_eq!(ok.service, "logs");
        assert_eq!(ok.signed_headers, vec!["host", "x-amz-date"]);
        for bad in [
            "",
            "Basic abc",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/2024/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=xyz",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/logs/aws4_request, SignedHeaders=x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_uri_double_encodes() {
        assert_eq!(
            canonical_uri("/canary/my%20canary"),
            "/canary/my%2520canary"
        );
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(
            canonical_query("Action=List%20Metrics"),
            "Action=List%20Metrics"
        );
    }
}
