//! The `SOURCE` command that may open a query (API and CLI only): it chooses the log groups,
//! `SOURCE logGroups(namePrefix: ['/a', '/b'], class: 'STANDARD')`. It is cut off before the
//! rest of the query is parsed; anything it does not understand is an error with its position.
//! Inside a subquery or a join (`(SOURCE '<group>' | …)`) it may also name one log group.

use crate::QueryError;

/// The log groups a query's `SOURCE` selects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// Exact group names (`SOURCE '<group>'`, only inside a subquery or join).
    pub names: Vec<String>,
    /// Group-name prefixes (at most five).
    pub name_prefixes: Vec<String>,
    /// `STANDARD` or `INFREQUENT_ACCESS`, when given.
    pub class: Option<String>,
}

/// Most name prefixes one SOURCE may list (AWS's limit).
pub const MAX_PREFIXES: usize = 5;

fn err<T>(start: usize, end: usize, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError {
        start,
        end,
        message: message.into(),
    })
}

/// Splits a leading `SOURCE …` off `text`: the source and the char offset where the rest of the
/// query starts (after its `|`), or `None` when the query does not begin with SOURCE.
pub fn split(text: &str) -> Result<Option<(Source, usize)>, QueryError> {
    split_in(text, false)
}

/// [`split`] for the text inside a subquery's or a join's parentheses (`nested`): SOURCE may
/// name a group (`SOURCE '/aws/lambda/f'`) and may be all there is (the rest is then empty).
pub fn split_in(text: &str, nested: bool) -> Result<Option<(Source, usize)>, QueryError> {
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    let word_at = |i: usize, w: &str| {
        c.len() >= i + w.len()
            && c[i..i + w.len()]
                .iter()
                .collect::<String>()
                .eq_ignore_ascii_case(w)
            && c.get(i + w.len()).is_none_or(|n| !n.is_alphanumeric())
    };
    if !word_at(i, "source") {
        return Ok(None);
    }
    let start = i;
    i += "source".len();
    skip_ws(&mut i);
    if matches!(c.get(i), Some('\'' | '"')) {
        let q = c[i];
        let s = i;
        i += 1;
        let mut name = String::new();
        while i < c.len() && c[i] != q {
            name.push(c[i]);
            i += 1;
        }
        if i >= c.len() {
            return err(s, i, "unterminated string");
        }
        i += 1;
        if !nested {
            return err(
                start,
                i,
                "SOURCE '<log group>' names a log group only inside a subquery or a join; a query starts with SOURCE logGroups(namePrefix: [...]) or names its log groups in the request",
            );
        }
        if name.is_empty() {
            return err(s, i, "SOURCE needs a log group name");
        }
        let src = Source {
            names: vec![name],
            ..Source::default()
        };
        return after_source(&c, start, i, src, nested);
    }
    if !word_at(i, "logGroups") {
        return err(
            start,
            i,
            "SOURCE supports logGroups(namePrefix: [...], class: '...') only",
        );
    }
    i += "logGroups".len();
    skip_ws(&mut i);
    if c.get(i) != Some(&'(') {
        return err(start, i, "expected '(' after SOURCE logGroups");
    }
    i += 1;
    let mut src = Source::default();
    loop {
        skip_ws(&mut i);
        if c.get(i) == Some(&')') {
            i += 1;
            break;
        }
        let key_start = i;
        while i < c.len() && c[i].is_alphanumeric() {
            i += 1;
        }
        let key: String = c[key_start..i].iter().collect();
        skip_ws(&mut i);
        if c.get(i) != Some(&':') {
            return err(
                key_start,
                i,
                format!("expected ':' after SOURCE option '{key}'"),
            );
        }
        i += 1;
        skip_ws(&mut i);
        let string = |i: &mut usize| -> Result<String, QueryError> {
            let q = c.get(*i).copied();
            if q != Some('\'') && q != Some('"') {
                return err(*i, *i + 1, "expected a quoted string");
            }
            let s = *i;
            *i += 1;
            let mut v = String::new();
            while *i < c.len() && Some(c[*i]) != q {
                v.push(c[*i]);
                *i += 1;
            }
            if *i >= c.len() {
                return err(s, *i, "unterminated string");
            }
            *i += 1;
            Ok(v)
        };
        match key.as_str() {
            "namePrefix" => {
                if c.get(i) != Some(&'[') {
                    return err(i, i + 1, "namePrefix takes a list: ['/a', '/b']");
                }
                i += 1;
                loop {
                    skip_ws(&mut i);
                    if c.get(i) == Some(&']') {
                        i += 1;
                        break;
                    }
                    src.name_prefixes.push(string(&mut i)?);
                    skip_ws(&mut i);
                    if c.get(i) == Some(&',') {
                        i += 1;
                    }
                }
                if src.name_prefixes.len() > MAX_PREFIXES {
                    return err(
                        key_start,
                        i,
                        format!("SOURCE takes at most {MAX_PREFIXES} name prefixes"),
                    );
                }
            }
            "class" => {
                let v = string(&mut i)?;
                if v != "STANDARD" && v != "INFREQUENT_ACCESS" {
                    return err(
                        key_start,
                        i,
                        "class must be 'STANDARD' or 'INFREQUENT_ACCESS'",
                    );
                }
                src.class = Some(v);
            }
            other => {
                return err(
                    key_start,
                    i,
                    format!("SOURCE option '{other}' is not supported yet"),
                );
            }
        }
        skip_ws(&mut i);
        if c.get(i) == Some(&',') {
            i += 1;
        }
    }
    if src.name_prefixes.is_empty() {
        return err(start, i, "SOURCE logGroups needs namePrefix");
    }
    after_source(&c, start, i, src, nested)
}

/// What follows a SOURCE ending before char `i`: `|` and the rest, or (nested) nothing.
fn after_source(
    c: &[char],
    start: usize,
    mut i: usize,
    src: Source,
    nested: bool,
) -> Result<Option<(Source, usize)>, QueryError> {
    while i < c.len() && c[i].is_whitespace() {
        i += 1;
    }
    match c.get(i) {
        Some('|') => Ok(Some((src, i + 1))),
        None if nested => Ok(Some((src, i))),
        None => err(
            start,
            i,
            "a query cannot be only SOURCE: add commands after '|'",
        ),
        Some(_) => err(i, i + 1, "expected '|' after SOURCE"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_table() {
        let (s, rest) = split("SOURCE logGroups(namePrefix: ['/aws/lambda', \"/app\"], class: 'STANDARD') | fields @message")
            .unwrap()
            .unwrap();
        assert_eq!(s.name_prefixes, vec!["/aws/lambda", "/app"]);
        assert_eq!(s.class.as_deref(), Some("STANDARD"));
        assert_eq!(&"SOURCE logGroups(namePrefix: ['/aws/lambda', \"/app\"], class: 'STANDARD') | fields @message"[rest..], " fields @message");
        assert_eq!(split("fields @message").unwrap(), None);
        let (s, rest) = split_in("SOURCE '/aws/lambda/f' | fields x", true)
            .unwrap()
            .unwrap();
        assert_eq!((s.names, rest), (vec!["/aws/lambda/f".to_string()], 24));
        let (s, rest) = split_in(" SOURCE \"/g\" ", true).unwrap().unwrap();
        assert_eq!((s.names, rest), (vec!["/g".to_string()], 13));
        for bad in [
            "SOURCE '/group' | fields @message",
            "SOURCE logGroups(namePrefix: ['/a']) fields x",
            "SOURCE logGroups(class: 'STANDARD') | fields x",
            "SOURCE logGroups(namePrefix: ['a','b','c','d','e','f']) | fields x",
            "SOURCE logGroups(accountIdentifier: ['1']) | fields x",
            "SOURCE logGroups(namePrefix: ['/a'])",
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }
}
