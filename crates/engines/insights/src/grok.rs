//! Grok patterns (PPL's `grok field 'pattern'`): `%{NAME}` and `%{NAME:field}` macros over a
//! regular expression, expanded into one regex with named groups, which then runs as `parse`.
//!
//! `%{NAME:field}` captures as `field`; a `%{NAME}` written in the query captures under the
//! pattern's own name (as OpenSearch's grok gives `COMMONAPACHELOG` in its documented example);
//! inside a pattern's definition only the named macros capture. A name captured twice keeps its
//! first place (later ones match without capturing). The definitions below are this project's
//! regexes for the usual grok pattern names; a name not among them is an error naming it.

/// (name, definition): a definition may use other names.
const PATTERNS: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", r"%{USERNAME}"),
    (
        "EMAILLOCALPART",
        r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*",
    ),
    ("EMAILADDRESS", r"%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"[+-]?[0-9]+"),
    ("BASE10NUM", r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"),
    ("NUMBER", r"%{BASE10NUM}"),
    ("BASE16NUM", r"[+-]?(?:0[xX])?[0-9A-Fa-f]+"),
    ("POSINT", r"\b[1-9][0-9]*\b"),
    ("NONNEGINT", r"\b[0-9]+\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    (
        "QUOTEDSTRING",
        r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`"#,
    ),
    ("QS", r"%{QUOTEDSTRING}"),
    (
        "UUID",
        r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}",
    ),
    (
        "MAC",
        r"(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}",
    ),
    (
        "IPV4",
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}",
    ),
    // Eight groups, or fewer around one `::`, optionally ending in an IPv4 address.
    (
        "IPV6",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:)|(?:[0-9A-Fa-f]{1,4}:){6}%{IPV4}|::(?:[Ff]{4}:)?%{IPV4})",
    ),
    ("IP", r"(?:%{IPV6}|%{IPV4})"),
    (
        "HOSTNAME",
        r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*\.?",
    ),
    ("IPORHOST", r"(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", r"%{IPORHOST}:%{POSINT}"),
    ("UNIXPATH", r"(?:/[\w_%!$@:.,+~-]*)+"),
    ("WINPATH", r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+"),
    ("PATH", r"(?:%{UNIXPATH}|%{WINPATH})"),
    ("URIPROTO", r"[A-Za-z][A-Za-z0-9+\-.]*"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("URIPARAM", r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*"),
    ("URIPATHPARAM", r"%{URIPATH}(?:%{URIPARAM})?"),
    (
        "URI",
        r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?",
    ),
    (
        "MONTH",
        r"\b(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]un(?:e)?|[Jj]ul(?:y)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)\b",
    ),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:0[1-9]|[12][0-9]|3[01]|[1-9])"),
    (
        "DAY",
        r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
    ),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("TIME", r"%{HOUR}:%{MINUTE}(?::%{SECOND})?"),
    ("ISO8601_TIMEZONE", r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    (
        "TIMESTAMP_ISO8601",
        r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    ),
    ("DATE_US", r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}"),
    ("DATE_EU", r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}"),
    ("DATE", r"(?:%{DATE_US}|%{DATE_EU})"),
    ("DATESTAMP", r"%{DATE}[- ]%{TIME}"),
    ("TZ", r"(?:[APMCE][SD]T|UTC)"),
    ("HTTPDATE", r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}"),
    ("SYSLOGTIMESTAMP", r"%{MONTH} +%{MONTHDAY} %{TIME}"),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
    ("HTTPDUSER", r"(?:%{EMAILADDRESS}|%{USER})"),
    (
        "COMMONAPACHELOG",
        r#"%{IPORHOST:clientip} %{HTTPDUSER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})" %{NUMBER:response} (?:%{NUMBER:bytes}|-)"#,
    ),
    (
        "COMBINEDAPACHELOG",
        r"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
    ),
];

/// Deepest nesting of pattern definitions (the table's is 5; this stops a cycle).
const MAX_DEPTH: usize = 16;

/// Expands grok `pattern` into a regex with named groups. `Err`: the message and the char
/// range (within `pattern`) of the macro at fault.
pub(crate) fn expand(pattern: &str) -> Result<String, (String, usize, usize)> {
    let mut names = Vec::new();
    let mut out = String::new();
    expand_into(pattern, true, 0, &mut names, &mut out)?;
    Ok(out)
}

fn expand_into(
    pattern: &str,
    top: bool,
    depth: usize,
    names: &mut Vec<String>,
    out: &mut String,
) -> Result<(), (String, usize, usize)> {
    if depth > MAX_DEPTH {
        return Err(("grok patterns nest too deeply".into(), 0, 0));
    }
    let mut rest = pattern;
    let mut at = 0; // chars of `pattern` before `rest`
    while let Some(i) = rest.find("%{") {
        out.push_str(&rest[..i]);
        let start = at + rest[..i].chars().count();
        let Some(close) = rest[i..].find('}') else {
            return Err((
                "unclosed %{ in the grok pattern".into(),
                start,
                start + rest[i..].chars().count(),
            ));
        };
        let inner = &rest[i + 2..i + close];
        let end = start + inner.chars().count() + 3;
        let mut parts = inner.split(':');
        let name = parts.next().unwrap_or_default();
        let field = parts.next();
        if parts.next().is_some() {
            return Err((
                format!("%{{{inner}}}: a type after the field name is not supported yet"),
                start,
                end,
            ));
        }
        let Some(&(_, def)) = PATTERNS.iter().find(|(n, _)| *n == name) else {
            return Err((
                format!("the grok pattern {name} is not supported"),
                start,
                end,
            ));
        };
        let capture = match field {
            Some(f) => Some(f),
            None if top => Some(name),
            None => None,
        };
        if let Some(f) = capture {
            let valid = f.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err((
                    format!("{f} is not a field name grok can capture (letters, digits, _)"),
                    start,
                    end,
                ));
            }
        }
        match capture.filter(|f| !names.iter().any(|n| n == f)) {
            Some(f) => {
                names.push(f.to_string());
                out.push_str(&format!("(?<{f}>"));
            }
            None => out.push_str("(?:"),
        }
        expand_into(def, false, depth + 1, names, out).map_err(|(m, ..)| (m, start, end))?;
        out.push(')');
        at = end;
        rest = &rest[i + close + 1..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (grok pattern, text, the captures expected: name → value).
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    #[test]
    fn patterns_capture_as_grok_does() {
        let cases: &[Case<'_>] = &[
            (
                ".+@%{HOSTNAME:host}",
                "amberduke@pyrami.com",
                &[("host", "pyrami.com")],
            ),
            (
                "%{NUMBER} %{GREEDYDATA:address}",
                "880 Holmes Lane",
                &[("NUMBER", "880"), ("address", "Holmes Lane")],
            ),
            (
                "%{COMMONAPACHELOG}",
                r#"177.95.8.74 - upton5450 [28/Sep/2022:10:15:57 -0700] "HEAD /e-business/mindshare HTTP/1.0" 404 19927"#,
                &[
                    (
                        "COMMONAPACHELOG",
                        r#"177.95.8.74 - upton5450 [28/Sep/2022:10:15:57 -0700] "HEAD /e-business/mindshare HTTP/1.0" 404 19927"#,
                    ),
                    ("clientip", "177.95.8.74"),
                    ("ident", "-"),
                    ("auth", "upton5450"),
                    ("timestamp", "28/Sep/2022:10:15:57 -0700"),
                    ("verb", "HEAD"),
                    ("request", "/e-business/mindshare"),
                    ("httpversion", "1.0"),
                    ("response", "404"),
                    ("bytes", "19927"),
                ],
            ),
            (
                "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} \\[%{DATA:thread}\\] %{GREEDYDATA:msg}",
                "2024-03-01T12:00:01.250Z WARN [main-1] disk almost full",
                &[
                    ("ts", "2024-03-01T12:00:01.250Z"),
                    ("level", "WARN"),
                    ("thread", "main-1"),
                    ("msg", "disk almost full"),
                ],
            ),
            (
                "%{IP:a} %{IP:b} %{UUID:id} %{EMAILADDRESS:mail}",
                "2001:db8::8a2e:370:7334 10.0.0.1 123e4567-e89b-12d3-a456-426614174000 a.b@ex.org",
                &[
                    ("a", "2001:db8::8a2e:370:7334"),
                    ("b", "10.0.0.1"),
                    ("id", "123e4567-e89b-12d3-a456-426614174000"),
                    ("mail", "a.b@ex.org"),
                ],
            ),
            // A name captured twice keeps its first place.
            ("%{INT:n}-%{INT:n}", "12-34", &[("n", "12")]),
        ];
        for (grok, text, want) in cases {
            let re = regex::Regex::new(&expand(grok).unwrap()).unwrap();
            let caps = re
                .captures(text)
                .unwrap_or_else(|| panic!("{grok} on {text}"));
            let got: Vec<(&str, &str)> = re
                .capture_names()
                .flatten()
                .filter_map(|n| caps.name(n).map(|m| (n, m.as_str())))
                .collect();
            assert_eq!(got, *want, "{grok}");
        }
    }

    #[test]
    fn errors_name_the_macro() {
        let cases: &[(&str, &str, &str)] = &[
            ("%{NOPE:x} y", "NOPE is not supported", "%{NOPE:x}"),
            ("a %{INT:n:int}", "a type", "%{INT:n:int}"),
            ("a %{INT", "unclosed", "%{INT"),
            ("%{INT:1x}", "not a field name", "%{INT:1x}"),
        ];
        for (grok, words, span) in cases {
            let (m, s, e) = expand(grok).unwrap_err();
            assert!(m.contains(words), "{grok}: {m}");
            let got: String = grok.chars().skip(s).take(e - s).collect();
            assert_eq!(got, *span, "{grok}");
        }
    }

    #[test]
    fn every_pattern_compiles() {
        for (name, _) in PATTERNS {
            let re = expand(&format!("%{{{name}}}")).unwrap();
            regex::Regex::new(&re).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
