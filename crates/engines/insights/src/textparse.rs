//! The line formats `parse` reads besides glob and regex: logfmt (`key=value` pairs) and CSV.

/// The `key=value` pairs of a logfmt line, in order. Pairs are separated by whitespace; a value
/// may be double-quoted (`msg="a b"`, with `\"` and `\\` escapes); `key=` is an empty value and
/// a bare `key` is `true` (the logfmt convention). A later pair with the same key replaces the
/// earlier value. Text that has no `=` anywhere is not logfmt: no pairs.
pub fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if !line.contains('=') {
        return out;
    }
    let c: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        let ks = i;
        while i < c.len() && !c[i].is_whitespace() && c[i] != '=' && c[i] != '"' {
            i += 1;
        }
        let key: String = c[ks..i].iter().collect();
        let mut value = String::from("true");
        if i < c.len() && c[i] == '=' {
            i += 1;
            value.clear();
            if i < c.len() && c[i] == '"' {
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' && i + 1 < c.len() {
                        i += 1;
                        match c[i] {
                            'n' => value.push('\n'),
                            't' => value.push('\t'),
                            'r' => value.push('\r'),
                            other => value.push(other),
                        }
                    } else {
                        value.push(c[i]);
                    }
                    i += 1;
                }
                i += 1;
            } else {
                while i < c.len() && !c[i].is_whitespace() {
                    value.push(c[i]);
                    i += 1;
                }
            }
        } else if i < c.len() && c[i] == '"' {
            // A stray quote is not part of any pair.
            i += 1;
            continue;
        }
        if key.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    out
}

/// The values of one CSV line (RFC 4180): separated by commas; a value in double quotes may
/// hold commas, and `""` inside it is one quote. Values are not trimmed.
pub fn csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(ch) = chars.next() {
        if quoted {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(ch);
            }
            continue;
        }
        match ch {
            ',' => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            '"' if at_start => quoted = true,
            '\r' | '\n' if chars.peek().is_none_or(|n| *n == '\n') => {}
            other => cur.push(other),
        }
        at_start = false;
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_table() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                r#"level=error msg="connection failed" duration=42"#,
                &[
                    ("level", "error"),
                    ("msg", "connection failed"),
                    ("duration", "42"),
                ],
            ),
            (
                r#"a= b tls c="x \"y\" \\ z""#,
                &[
                    ("a", ""),
                    ("b", "true"),
                    ("tls", "true"),
                    ("c", r#"x "y" \ z"#),
                ],
            ),
            ("k=1 k=2", &[("k", "2")]),
            ("no pairs here", &[]),
            ("  x=1\ty=2  ", &[("x", "1"), ("y", "2")]),
        ];
        for (line, want) in cases {
            let got = logfmt(line);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn csv_table() {
        let cases: &[(&str, &[&str])] = &[
            ("a,b,c", &["a", "b", "c"]),
            (r#""a, b",c"#, &["a, b", "c"]),
            (r#""say ""hi""",,x"#, &[r#"say "hi""#, "", "x"]),
            ("one", &["one"]),
            (" a , b", &[" a ", " b"]),
            ("a,b\n", &["a", "b"]),
        ];
        for (line, want) in cases {
            assert_eq!(csv_line(line), *want, "{line}");
        }
    }
}
