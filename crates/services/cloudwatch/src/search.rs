//! SEARCH expressions of GetMetricData: `SEARCH('{Namespace,Dim1} term OR "exact" Dim=value',
//! 'Stat', period)` selects the metrics whose namespace, name, dimension names and values match,
//! and returns one series per metric.
//!
//! Matching follows the CloudWatch guide: a schema in braces restricts to one namespace and to
//! metrics with exactly those dimension names; bare terms match tokens case-insensitively
//! (`cpu` matches `CPUUtilization`), quoted terms match case-sensitively as substrings, and
//! `Name=value` / `Name="value"` match a property (`MetricName`, `Namespace`, or a dimension).
//! `AND` (implicit), `OR`, `NOT` and parentheses combine them.

use nephoscope_metricstore::SeriesKey;

/// `{Namespace, Dim…}`: a namespace and the exact set of dimension names.
pub type Schema = (String, Vec<String>);

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub schema: Option<Schema>,
    pub term: Option<Term>,
    pub stat: String,
    pub period: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Token(String),
    Exact(String),
    Property(String, String, bool),
    And(Box<Term>, Box<Term>),
    Or(Box<Term>, Box<Term>),
    Not(Box<Term>),
}

/// The SEARCH calls inside a math expression (`SUM(SEARCH('…', 'Sum', 60)) / 2`): each call's
/// text, and the expression with call `n` replaced by `name(n)`. Quotes are honoured, so a
/// `SEARCH(` or a parenthesis inside a search string is not a call boundary. An unclosed call
/// or string is an error.
pub fn extract_calls(
    expr: &str,
    name: impl Fn(usize) -> String,
) -> Result<(String, Vec<String>), String> {
    let chars: Vec<(usize, char)> = expr.char_indices().collect();
    let (mut out, mut calls) = (String::with_capacity(expr.len()), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_word = i == 0 || {
            let p = chars[i - 1].1;
            !(p.is_ascii_alphanumeric() || p == '_')
        };
        if c == 'S' && starts_word && expr[at..].starts_with("SEARCH") {
            let mut j = i + "SEARCH".len();
            while j < chars.len() && chars[j].1.is_whitespace() {
                j += 1;
            }
            if j < chars.len() && chars[j].1 == '(' {
                let end = call_end(&chars, j)?;
                calls.push(expr[at..end].to_string());
                out.push_str(&name(calls.len() - 1));
                i = chars.partition_point(|(p, _)| *p < end);
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Ok((out, calls))
}

/// The byte offset just past the `)` that closes the `(` at `chars[open]`.
fn call_end(chars: &[(usize, char)], open: usize) -> Result<usize, String> {
    let (mut depth, mut quote, mut k) = (0usize, None::<char>, open);
    while k < chars.len() {
        let c = chars[k].1;
        match (quote, c) {
            (Some(_), '\\') => k += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(chars[k].0 + 1);
                }
            }
            _ => {}
        }
        k += 1;
    }
    Err("a SEARCH call is not closed".into())
}

/// Parses a whole expression that is a SEARCH call; `None` when it is not one.
pub fn parse(expr: &str) -> Option<Result<Search, String>> {
    let t = expr.trim();
    let rest = t.strip_prefix("SEARCH")?.trim_start().strip_prefix('(')?;
    let inner = rest.trim_end().strip_suffix(')')?;
    Some(parse_args(inner))
}

/// Splits the arguments: two or three, the first two single-quoted strings.
fn parse_args(inner: &str) -> Result<Search, String> {
    let mut args = Vec::new();
    let mut chars = inner.char_indices().peekable();
    let mut start = 0;
    let mut in_str = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if in_str => {
                chars.next();
            }
            '\'' => in_str = !in_str,
            ',' if !in_str => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    if !(2..=3).contains(&args.len()) {
        return Err("SEARCH takes a search string, a statistic and an optional period".into());
    }
    let unquote = |s: &str| -> Result<String, String> {
        s.strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .map(|s| s.replace("\\'", "'"))
            .ok_or_else(|| format!("SEARCH argument {s} must be a single-quoted string"))
    };
    let query = unquote(args[0])?;
    let stat = unquote(args[1])?;
    let period = match args.get(2) {
        Some(p) => Some(
            p.parse::<i64>()
                .map_err(|_| format!("SEARCH period {p} is not a number"))?,
        ),
        None => None,
    };
    if query.len() > 1024 {
        return Err("A SEARCH expression is limited to 1,024 characters".into());
    }
    let (schema, text) = schema(&query)?;
    let tokens = lex(text)?;
    let mut pos = 0;
    let term = if tokens.is_empty() {
        None
    } else {
        Some(or(&tokens, &mut pos)?)
    };
    if pos != tokens.len() {
        return Err(format!(
            "Unexpected {:?} in the SEARCH expression",
            tokens[pos]
        ));
    }
    Ok(Search {
        schema,
        term,
        stat,
        period,
    })
}

/// `{Namespace, Dim1, "Dim 2"}` at the start of the query.
fn schema(q: &str) -> Result<(Option<Schema>, &str), String> {
    let q = q.trim_start();
    let Some(rest) = q.strip_prefix('{') else {
        return Ok((None, q));
    };
    let end = rest.find('}').ok_or("Unclosed '{' in the SEARCH schema")?;
    let mut parts = rest[..end]
        .split(',')
        .map(|p| p.trim().trim_matches('"').to_string());
    let ns = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("The SEARCH schema must start with a namespace")?;
    Ok((
        Some((ns, parts.filter(|p| !p.is_empty()).collect())),
        &rest[end + 1..],
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Eq,
    Open,
    Close,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '=' => {
                out.push(Tok::Eq);
                i += 1;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err("Unterminated quoted term in the SEARCH expression".into())
                        }
                        Some('\\') => {
                            v.extend(b.get(i + 1));
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            v.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Quoted(v));
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_whitespace() && !"()=\"".contains(b[i]) {
                    i += 1;
                }
                out.push(Tok::Word(b[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

fn or(t: &[Tok], pos: &mut usize) -> Result<Term, String> {
    let mut left = and(t, pos)?;
    while t.get(*pos) == Some(&Tok::Word("OR".into())) {
        *pos += 1;
        left = Term::Or(Box::new(left), Box::new(and(t, pos)?));
    }
    Ok(left)
}

fn and(t: &[Tok], pos: &mut usize) -> Result<Term, String> {
    let mut left = unary(t, pos)?;
    loop {
        match t.get(*pos) {
            Some(Tok::Word(w)) if w == "OR" => break,
            Some(Tok::Close) | None => break,
            Some(Tok::Word(w)) if w == "AND" => {
                *pos += 1;
                left = Term::And(Box::new(left), Box::new(unary(t, pos)?));
            }
            _ => left = Term::And(Box::new(left), Box::new(unary(t, pos)?)),
        }
    }
    Ok(left)
}

fn unary(t: &[Tok], pos: &mut usize) -> Result<Term, String> {
    match t.get(*pos) {
        Some(Tok::Word(w)) if w == "NOT" => {
            *pos += 1;
            Ok(Term::Not(Box::new(unary(t, pos)?)))
        }
        Some(Tok::Open) => {
            *pos += 1;
            let inner = or(t, pos)?;
            if t.get(*pos) != Some(&Tok::Close) {
                return Err("Unbalanced parentheses in the SEARCH expression".into());
            }
            *pos += 1;
            Ok(inner)
        }
        Some(Tok::Word(w)) | Some(Tok::Quoted(w)) if t.get(*pos + 1) == Some(&Tok::Eq) => {
            let name = w.clone();
            *pos += 2;
            match t.get(*pos) {
                Some(Tok::Quoted(v)) => {
                    *pos += 1;
                    Ok(Term::Property(name, v.clone(), true))
                }
                Some(Tok::Word(v)) => {
                    *pos += 1;
                    Ok(Term::Property(name, v.clone(), false))
                }
                _ => Err(format!("The property {name}= needs a value")),
            }
        }
        Some(Tok::Word(w)) if w == "AND" || w == "OR" => Err(format!(
            "{w} needs a term on each side in the SEARCH expression"
        )),
        Some(Tok::Word(w)) => {
            *pos += 1;
            Ok(Term::Token(w.clone()))
        }
        Some(Tok::Quoted(q)) => {
            *pos += 1;
            Ok(Term::Exact(q.clone()))
        }
        other => Err(format!("Unexpected {other:?} in the SEARCH expression")),
    }
}

/// Tokens of a name: split at non-alphanumerics, lower→upper case changes and digit runs
/// (`CPUUtilization` → cpu, utilization, cpuutilization).
fn tokens(s: &str) -> Vec<String> {
    let mut out = vec![s.to_lowercase()];
    let chars: Vec<char> = s.chars().collect();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur).to_lowercase());
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = match prev {
            Some(p) if p.is_lowercase() && c.is_uppercase() => true,
            Some(p) if p.is_uppercase() && c.is_uppercase() => {
                next.is_some_and(|n| n.is_lowercase())
            }
            Some(p) if p.is_ascii_digit() != c.is_ascii_digit() => true,
            _ => false,
        };
        if boundary && !cur.is_empty() {
            out.push(std::mem::take(&mut cur).to_lowercase());
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur.to_lowercase());
    }
    out
}

fn fields(k: &SeriesKey) -> Vec<&str> {
    let mut f = vec![k.namespace.as_str(), k.name.as_str()];
    for (n, v) in &k.dimensions {
        f.push(n);
        f.push(v);
    }
    f
}

fn matches(t: &Term, k: &SeriesKey) -> bool {
    match t {
        Term::Token(w) => {
            let w = w.to_lowercase();
            fields(k).iter().any(|f| tokens(f).contains(&w))
        }
        Term::Exact(q) => fields(k).iter().any(|f| f.contains(q.as_str())),
        Term::Property(name, v, exact) => {
            let hit = |s: &str| {
                if *exact {
                    s == v
                } else {
                    tokens(s).contains(&v.to_lowercase())
                }
            };
            match name.as_str() {
                "MetricName" => hit(&k.name),
                "Namespace" => hit(&k.namespace),
                dim => k.dimensions.iter().any(|(n, val)| n == dim && hit(val)),
            }
        }
        Term::And(a, b) => matches(a, k) && matches(b, k),
        Term::Or(a, b) => matches(a, k) || matches(b, k),
        Term::Not(a) => !matches(a, k),
    }
}

impl Search {
    pub fn selects(&self, k: &SeriesKey) -> bool {
        if let Some((ns, dims)) = &self.schema {
            let mut names: Vec<&str> = k.dimensions.iter().map(|(n, _)| n.as_str()).collect();
            let mut want: Vec<&str> = dims.iter().map(String::as_str).collect();
            names.sort_unstable();
            want.sort_unstable();
            if &k.namespace != ns || names != want {
                return false;
            }
        }
        self.term.as_ref().is_none_or(|t| matches(t, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, name: &str, dims: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(
            ns,
            name,
            dims.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn extract_calls_table() {
        let name = |n: usize| format!("s{n}");
        let cases: &[(&str, &str, &[&str])] = &[
            ("m1 + 1", "m1 + 1", &[]),
            (
                "SEARCH('cpu', 'Sum', 60)",
                "s0",
                &["SEARCH('cpu', 'Sum', 60)"],
            ),
            (
                "SUM(SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPU (x)\"', 'Average', 300)) / 2",
                "SUM(s0) / 2",
                &["SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPU (x)\"', 'Average', 300)"],
            ),
            (
                "SEARCH ('a\\'b)', 'Sum') - MAX(SEARCH('SEARCH(', 'Sum'))",
                "s0 - MAX(s1)",
                &["SEARCH ('a\\'b)', 'Sum')", "SEARCH('SEARCH(', 'Sum')"],
            ),
            ("MYSEARCH(x)", "MYSEARCH(x)", &[]),
        ];
        for (expr, rewritten, calls) in cases {
            let (r, c) = extract_calls(expr, name).unwrap();
            assert_eq!(
                (r.as_str(), c.iter().map(String::as_str).collect::<Vec<_>>()),
                (*rewritten, calls.to_vec()),
                "{expr}"
            );
        }
        for bad in ["SEARCH('cpu', 'Sum'", "SUM(SEARCH('cpu)) + 1"] {
            assert!(extract_calls(bad, name).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_selection_table() {
        let cpu = key("AWS/EC2", "CPUUtilization", &[("InstanceId", "i-1234")]);
        let net = key("AWS/EC2", "NetworkIn", &[("InstanceId", "i-1234")]);
        let app = key("Flink", "wordCount", &[("Job", "wc"), ("Task", "t1")]);
        for (q, want) in [
            (
                "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)",
                [true, false, false],
            ),
            ("SEARCH('cpu', 'Average')", [true, false, false]),
            (
                "SEARCH('{AWS/EC2,InstanceId} cpu OR network', 'Sum')",
                [true, true, false],
            ),
            ("SEARCH('NOT cpu', 'Sum')", [false, true, true]),
            (
                "SEARCH('\"wordCount\" Job=wc', 'Sum')",
                [false, false, true],
            ),
            ("SEARCH('{Flink,Job} count', 'Sum')", [false, false, false]),
            ("SEARCH('{Flink,Job,Task}', 'Sum')", [false, false, true]),
            (
                "SEARCH('utilization AND (instanceid OR job)', 'Sum')",
                [true, false, false],
            ),
        ] {
            let s = parse(q).unwrap().unwrap();
            let got = [s.selects(&cpu), s.selects(&net), s.selects(&app)];
            assert_eq!(got, want, "{q}");
        }
        assert!(parse("m1 * 2").is_none());
        for bad in [
            "SEARCH('x')",
            "SEARCH('(cpu', 'Sum')",
            "SEARCH('{', 'Sum')",
            "SEARCH('a', 'Sum', x)",
        ] {
            assert!(parse(bad).unwrap().is_err(), "{bad}");
        }
    }
}
