//! The `SOURCE` command that may open a query (API and CLI only): it chooses the log groups,
//! `SOURCE logGroups(namePrefix: ['/a', '/b'], class: 'STANDARD')`. It is cut off before the
//! rest of the query is parsed; anything it does not understand is an error with its position.
//! Inside a subquery or a join (`(SOURCE '<group>' | …)`) it may also name one log group.

use crate::QueryError;

/// The log groups a query's `SOURCE` selects (no names and no prefixes: every log group of
/// the class), and the time range it may give (`START=… END=…`, as the console writes it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// Exact group names (`SOURCE '<group>'` inside a subquery or join, `names: [...]`).
    pub names: Vec<String>,
    /// Group-name prefixes (at most five).
    pub name_prefixes: Vec<String>,
    /// `STANDARD` or `INFREQUENT_ACCESS`, when given.
    pub class: Option<String>,
    pub start: Option<TimeBound>,
    pub end: Option<TimeBound>,
}

/// A time a `SOURCE … START=… END=…` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// Milliseconds from the query's start (`-3600s`, `-12h`, `0s`, `now`).
    Relative(i64),
    /// Epoch milliseconds (`2026-01-23T00:00:00.000Z`).
    Absolute(i64),
}

impl TimeBound {
    /// The epoch milliseconds it names, the query starting at `now_ms`.
    pub fn at(self, now_ms: i64) -> i64 {
        match self {
            TimeBound::Relative(d) => now_ms.saturating_add(d),
            TimeBound::Absolute(t) => t,
        }
    }
}

/// Most log groups a `SOURCE logGroups(...)` may select (AWS's limit).
pub const MAX_SOURCE_GROUPS: usize = 10_000;

/// `-3600s`, `-12h`, `0s`, `now`, or an instant (`2026-01-23T00:00:00.000Z`).
fn time_bound(t: &str) -> Option<TimeBound> {
    if t.eq_ignore_ascii_case("now") {
        return Some(TimeBound::Relative(0));
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(TimeBound::Absolute(ts.as_millisecond()));
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let split = body.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = body.split_at(split);
    let n: i64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    let d = n.checked_mul(ms)?;
    // (At most 1000 years back, as time periods in a query.)
    if d > 1000 * 366 * 86_400_000 {
        return None;
    }
    // (A future bound is refused: START/END look back from now.)
    if !neg && d != 0 {
        return None;
    }
    Some(TimeBound::Relative(-d))
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
        if name.is_empty() {
            return err(s, i, "SOURCE needs a log group name");
        }
        let src = Source {
            names: vec![name],
            ..Source::default()
        };
        return time_range(&c, start, i, src, nested);
    }
    let is_call = {
        let mut j = i + "logGroups".len();
        while j < c.len() && c[j].is_whitespace() {
            j += 1;
        }
        word_at(i, "logGroups") && c.get(j) == Some(&'(')
    };
    if !is_call {
        // A bare log group name, as `logcompare`'s example writes it: `SOURCE lg start=-1d`.
        let s = i;
        while i < c.len() && is_group_name_char(c[i]) {
            i += 1;
        }
        if i == s || c.get(i).is_some_and(|n| !n.is_whitespace() && *n != '|') {
            return err(
                start,
                i.max(s + 1).min(c.len().max(start + 1)),
                "SOURCE takes a log group name or logGroups(namePrefix: [...], class: '...')",
            );
        }
        let src = Source {
            names: vec![c[s..i].iter().collect()],
            ..Source::default()
        };
        return time_range(&c, start, i, src, nested);
    }
    i += "logGroups".len();
    skip_ws(&mut i);
    if c.get(i) != Some(&'(') {
        return err(start, i, "expected '(' after SOURCE logGroups");
    }
    i += 1;
    let mut src = Source::default();
    let list = |i: &mut usize,
                key_start: usize,
                key: &str,
                string: &dyn Fn(&mut usize) -> Result<String, QueryError>|
     -> Result<Vec<String>, QueryError> {
        if c.get(*i) != Some(&'[') {
            return err(*i, *i + 1, format!("{key} takes a list: ['/a', '/b']"));
        }
        *i += 1;
        let mut out = Vec::new();
        loop {
            while *i < c.len() && c[*i].is_whitespace() {
                *i += 1;
            }
            if c.get(*i) == Some(&']') {
                *i += 1;
                return Ok(out);
            }
            if *i >= c.len() {
                return err(key_start, *i, format!("unterminated {key} list"));
            }
            out.push(string(i)?);
            while *i < c.len() && c[*i].is_whitespace() {
                *i += 1;
            }
            if c.get(*i) == Some(&',') {
                *i += 1;
            }
        }
    };
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
                src.name_prefixes = list(&mut i, key_start, "namePrefix", &string)?;
                if src.name_prefixes.len() > MAX_PREFIXES {
                    return err(
                        key_start,
                        i,
                        format!("SOURCE takes at most {MAX_PREFIXES} name prefixes"),
                    );
                }
            }
            // The console writes the names it selected.
            "names" => {
                src.names = list(&mut i, key_start, "names", &string)?;
                if src.names.is_empty() {
                    return err(key_start, i, "names needs a log group name");
                }
            }
            // `class: 'STANDARD'`, or a list of one class as AWS's examples write it.
            "class" => {
                let v = if c.get(i) == Some(&'[') {
                    match list(&mut i, key_start, "class", &string)?.as_slice() {
                        [one] => one.clone(),
                        _ => return err(key_start, i, "class names one log class"),
                    }
                } else {
                    string(&mut i)?
                };
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
    if !src.names.is_empty() && !src.name_prefixes.is_empty() {
        return err(
            start,
            i,
            "SOURCE logGroups takes names or namePrefix, not both",
        );
    }
    time_range(&c, start, i, src, nested)
}

/// The characters a log group's name may hold (AWS: `[\.\-_/#A-Za-z0-9]+`).
fn is_group_name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | '/' | '#')
}

/// `START=… END=…` after the groups (the console's time range), either or both, any order,
/// then what follows the SOURCE.
fn time_range(
    c: &[char],
    start: usize,
    mut i: usize,
    mut src: Source,
    nested: bool,
) -> Result<Option<(Source, usize)>, QueryError> {
    let word_at = |i: usize, w: &str| {
        c.len() >= i + w.len()
            && c[i..i + w.len()]
                .iter()
                .collect::<String>()
                .eq_ignore_ascii_case(w)
            && c.get(i + w.len()).is_none_or(|n| !n.is_alphanumeric())
    };
    loop {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        let which = if word_at(i, "start") {
            "start"
        } else if word_at(i, "end") {
            "end"
        } else {
            break;
        };
        let at = i;
        i += which.len();
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        if c.get(i) != Some(&'=') {
            return err(
                at,
                i,
                format!("expected '=' after {}", which.to_uppercase()),
            );
        }
        i += 1;
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        let s = i;
        while i < c.len() && !c[i].is_whitespace() && c[i] != '|' {
            i += 1;
        }
        let text: String = c[s..i].iter().collect();
        let Some(t) = time_bound(&text) else {
            return err(
                s,
                i.max(s + 1),
                format!(
                    "{} takes a time such as -3600s, -12h, 0s, now or 2026-01-23T00:00:00Z",
                    which.to_uppercase()
                ),
            );
        };
        if nested {
            return err(
                at,
                i,
                "START/END in a subquery's or a join's SOURCE is not supported yet: it reads the query's time range",
            );
        }
        if which == "start" {
            src.start = Some(t);
        } else {
            src.end = Some(t);
        }
    }
    after_source(c, start, i, src, nested)
}

/// A PPL query's leading `[search] source = [ … ]` (AWS's query scope for PPL, API and CLI
/// only): the log groups it names (`lg:`), and its conditions as PPL text (`` `status` = 200 ``,
/// `` `region` IN ("a", "b") ``) for a `where` before the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PplScope {
    pub source: Source,
    pub conditions: Vec<String>,
    /// The char offset where the rest of the query starts (after its `|`), or the end.
    pub rest: usize,
    /// The char offset where the scope ends (its `]`).
    pub end: usize,
}

/// Splits a leading `[search] source = [ … ]` off a PPL query (`None`: it does not open so).
pub fn split_ppl(text: &str) -> Result<Option<PplScope>, QueryError> {
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    };
    let word = |i: usize| -> String {
        c[i..]
            .iter()
            .take_while(|ch| ch.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    ws(&mut i);
    let start = i;
    if word(i) == "search" {
        i += 6;
        ws(&mut i);
    }
    if word(i) != "source" {
        return Ok(None);
    }
    i += 6;
    ws(&mut i);
    if c.get(i) != Some(&'=') {
        return Ok(None);
    }
    i += 1;
    ws(&mut i);
    if c.get(i) != Some(&'[') {
        return err(
            start,
            i.max(start + 1),
            "source names the log groups in brackets: source = [lg:`/my/group`]",
        );
    }
    i += 1;
    let mut scope = PplScope {
        source: Source::default(),
        conditions: Vec::new(),
        rest: 0,
        end: 0,
    };
    // A name, back-quoted or bare (until a space, a comma or the closing bracket).
    let name = |i: &mut usize| -> Result<String, QueryError> {
        let s = *i;
        if c.get(*i) == Some(&'`') {
            *i += 1;
            let from = *i;
            while *i < c.len() && c[*i] != '`' {
                *i += 1;
            }
            if *i >= c.len() {
                return err(s, *i, "unterminated back-quoted name");
            }
            *i += 1;
            return Ok(c[from..*i - 1].iter().collect());
        }
        while *i < c.len() && !c[*i].is_whitespace() && !matches!(c[*i], ',' | ']' | '=' | '(') {
            *i += 1;
        }
        if *i == s {
            return err(s, s + 1, "expected a name");
        }
        Ok(c[s..*i].iter().collect())
    };
    // `= value` or `IN (values)` after a field; the char offset after it.
    let condition = |i: &mut usize| -> Result<(), QueryError> {
        ws(i);
        if c.get(*i) == Some(&'=') {
            *i += 1;
            ws(i);
            return value(&c, i);
        }
        if word(*i) == "in" {
            *i += 2;
            ws(i);
            if c.get(*i) != Some(&'(') {
                return err(*i, *i + 1, "expected ( after IN");
            }
            *i += 1;
            loop {
                ws(i);
                value(&c, i)?;
                ws(i);
                match c.get(*i) {
                    Some(',') => *i += 1,
                    Some(')') => {
                        *i += 1;
                        return Ok(());
                    }
                    _ => return err(*i, *i + 1, "expected , or ) in the IN list"),
                }
            }
        }
        err(
            *i,
            *i + 1,
            "a source condition is field = value or field IN (values)",
        )
    };
    loop {
        ws(&mut i);
        if c.get(i) == Some(&']') && (scope.source.names.len() + scope.conditions.len()) > 0 {
            i += 1;
            break;
        }
        let at = i;
        let w: String = c[i..]
            .iter()
            .take_while(|ch| ch.is_ascii_alphabetic())
            .collect();
        if c.get(i + w.len()) == Some(&':') && w.eq_ignore_ascii_case("lg") {
            i += 3;
            let n = name(&mut i)?;
            if n.is_empty() {
                return err(at, i, "lg: needs a log group name");
            }
            scope.source.names.push(n);
        } else if c.get(i + w.len()) == Some(&':') && w.eq_ignore_ascii_case("ds") {
            return err(
                at,
                i + 3,
                "data sources (ds:) are not supported: there are no data sources here; name log groups with lg:`/my/group`",
            );
        } else {
            let quoted = c.get(i) == Some(&'`');
            let field = name(&mut i)?;
            // (A bare field name is a plain name: it is written into the query's text.)
            if !quoted
                && !field.eq_ignore_ascii_case("aws:fieldIndex")
                && !field
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '@'))
            {
                return err(
                    at,
                    i,
                    "a source condition's field is a name (back-quote others)",
                );
            }
            if field.eq_ignore_ascii_case("aws:fieldIndex") {
                // Which fields are indexed: there are no field indexes here, so it selects
                // nothing more (the conditions filter as `where` does).
                condition(&mut i)?;
            } else {
                condition(&mut i)?;
                scope.conditions.push(c[at..i].iter().collect());
            }
        }
        ws(&mut i);
        match c.get(i) {
            Some(',') => i += 1,
            Some(']') => {}
            _ => {
                return err(
                    i,
                    (i + 1).min(c.len().max(1)),
                    "expected , or ] in source = [ … ]",
                )
            }
        }
    }
    scope.end = i;
    ws(&mut i);
    scope.rest = match c.get(i) {
        Some('|') => i + 1,
        None => i,
        Some(_) => return err(i, i + 1, "expected '|' after source = [ … ]"),
    };
    Ok(Some(scope))
}

/// A string (`"…"`, `'…'`) or a number in a source condition; moves past it.
fn value(c: &[char], i: &mut usize) -> Result<(), QueryError> {
    match c.get(*i) {
        Some(q @ ('"' | '\'')) => {
            let s = *i;
            *i += 1;
            while *i < c.len() && c[*i] != *q {
                *i += 1;
            }
            if *i >= c.len() {
                return err(s, *i, "unterminated string");
            }
            *i += 1;
            Ok(())
        }
        _ => {
            let s = *i;
            while *i < c.len()
                && (c[*i].is_ascii_alphanumeric() || matches!(c[*i], '.' | '-' | '+'))
            {
                *i += 1;
            }
            // (A word is no value: a string is quoted.)
            let text: String = c[s..*i].iter().collect();
            if text.parse::<f64>().map_or(true, |x| !x.is_finite()) {
                return err(
                    s,
                    (*i).max(s + 1),
                    "a source condition's value is a quoted string or a number",
                );
            }
            Ok(())
        }
    }
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
        // The console's forms: every group, a time range, names, a class in a list.
        let (s, _) = split("SOURCE logGroups() | fields x").unwrap().unwrap();
        assert_eq!(s, Source::default());
        let q =
            "SOURCE logGroups(namePrefix: [], class: \"STANDARD\") START=-3600s END=0s |\nfields x";
        let (s, rest) = split(q).unwrap().unwrap();
        assert!(s.name_prefixes.is_empty());
        assert_eq!(
            (s.start, s.end, s.class.as_deref()),
            (
                Some(TimeBound::Relative(-3_600_000)),
                Some(TimeBound::Relative(0)),
                Some("STANDARD")
            )
        );
        assert_eq!(q.chars().skip(rest).collect::<String>(), "\nfields x");
        let (s, _) = split("source logGroups(names: ['/a', '/b'], class: ['INFREQUENT_ACCESS']) START=2026-01-23T00:00:00.000Z END=now | fields x")
            .unwrap()
            .unwrap();
        assert_eq!(s.names, vec!["/a", "/b"]);
        assert_eq!(s.class.as_deref(), Some("INFREQUENT_ACCESS"));
        assert_eq!(s.start, Some(TimeBound::Absolute(1_769_126_400_000)));
        assert_eq!(s.end, Some(TimeBound::Relative(0)));
        assert_eq!(
            TimeBound::Relative(-12 * 3_600_000).at(100_000_000),
            56_800_000
        );
        // A log group by name at the start of a query, quoted or bare, with a time range.
        let (s, _) = split("SOURCE lg start=-1d end=now\n| logcompare timeshift 7d")
            .unwrap()
            .unwrap();
        assert_eq!(s.names, vec!["lg"]);
        assert_eq!(
            (s.start, s.end),
            (
                Some(TimeBound::Relative(-86_400_000)),
                Some(TimeBound::Relative(0))
            )
        );
        let (s, rest) = split("SOURCE '/aws/lambda/f' | fields x").unwrap().unwrap();
        assert_eq!(
            (s.names, s.start, rest),
            (vec!["/aws/lambda/f".into()], None, 24)
        );
        let (s, _) = split("source /aws/batch/job#1 | fields x")
            .unwrap()
            .unwrap();
        assert_eq!(s.names, vec!["/aws/batch/job#1"]);
        // (`logGroups` without parentheses is a group of that name.)
        let (s, _) = split("SOURCE logGroups | fields x").unwrap().unwrap();
        assert_eq!(s.names, vec!["logGroups"]);
        for bad in [
            "SOURCE lg start=-1d",
            "SOURCE lg, other | fields x",
            "SOURCE = lg | fields x",
            "SOURCE | fields x",
            "SOURCE lg start=1d | fields x",
            "SOURCE logGroups(namePrefix: ['/a']) fields x",
            "SOURCE logGroups() START=+5m | fields x",
            "SOURCE logGroups() START=5m | fields x",
            "SOURCE logGroups() END=-3x | fields x",
            "SOURCE logGroups(names: ['/a'], namePrefix: ['/b']) | fields x",
            "SOURCE logGroups(names: []) | fields x",
            "SOURCE logGroups(class: ['STANDARD', 'INFREQUENT_ACCESS']) | fields x",
            "SOURCE logGroups(namePrefix: ['a','b','c','d','e','f']) | fields x",
            "SOURCE logGroups(accountIdentifier: ['1']) | fields x",
            "SOURCE logGroups(namePrefix: ['/a'])",
        ] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }
}
