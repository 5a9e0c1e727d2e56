//! Metrics Insights SQL in GetMetricData:
//!
//! ```text
//! SELECT AVG|COUNT|MAX|MIN|SUM(metricName)
//! FROM namespace | SCHEMA(namespace[, dimKey…])
//! [WHERE key = 'v' | key != 'v' [AND …]]
//! [GROUP BY key[, …]] [ORDER BY FUNC() [ASC|DESC]] [LIMIT n]
//! ```
//!
//! Keywords are case-insensitive, identifiers case-sensitive; names with characters outside
//! `[A-Za-z0-9_]` are double-quoted, label values single-quoted. `SCHEMA(ns, a, b)` selects the
//! metrics with exactly the dimensions {a, b}; `FROM ns` any dimensions. One series per group
//! (metrics lacking a group key fall into `Other`), groups in ascending label order unless
//! `ORDER BY` sorts them by the function over the whole range.

use nephoscope_metricstore::{Agg, SeriesKey};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Func {
    Avg,
    Count,
    Max,
    Min,
    Sum,
}

impl Func {
    pub fn value(self, a: &Agg) -> Option<f64> {
        if a.count <= 0.0 {
            return None;
        }
        Some(match self {
            Func::Avg => a.average(),
            Func::Count => a.count,
            Func::Max => a.max,
            Func::Min => a.min,
            Func::Sum => a.sum,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub func: Func,
    pub metric: String,
    pub namespace: String,
    /// `SCHEMA(ns, dims…)`: the exact dimension names.
    pub schema: Option<Vec<String>>,
    /// (key, value, equal?)
    pub filters: Vec<(String, String, bool)>,
    pub group_by: Vec<String>,
    /// `Some(descending)` for ORDER BY.
    pub order: Option<(Func, bool)>,
    pub limit: usize,
}

/// Series returned at most (AWS's limit).
pub const MAX_SERIES: usize = 500;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Str(String),
    Num(String),
    Sym(char),
    NotEq,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ch == '"' {
            let mut v = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err("Unterminated string in the Metrics Insights query".into()),
                    Some('\\') => {
                        v.extend(c.get(i + 1));
                        i += 2;
                    }
                    Some(q) if *q == ch => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        v.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(if ch == '\'' {
                Tok::Str(v)
            } else {
                Tok::Ident(v)
            });
        } else if ch == '!' && c.get(i + 1) == Some(&'=') {
            out.push(Tok::NotEq);
            i += 2;
        } else if "(),=".contains(ch) {
            out.push(Tok::Sym(ch));
            i += 1;
        } else if ch.is_ascii_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let w: String = c[start..i].iter().collect();
            out.push(if w.chars().all(|d| d.is_ascii_digit()) {
                Tok::Num(w)
            } else {
                Tok::Word(w)
            });
        } else {
            return Err(format!(
                "Unexpected character '{ch}' in the Metrics Insights query"
            ));
        }
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn kw(&mut self, k: &str) -> bool {
        if matches!(self.t.get(self.i), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, k: &str) -> Result<(), String> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(format!("Expected {k} in the Metrics Insights query"))
        }
    }
    fn sym(&mut self, s: char) -> bool {
        if self.t.get(self.i) == Some(&Tok::Sym(s)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> Result<String, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Word(w)) | Some(Tok::Ident(w)) => {
                self.i += 1;
                Ok(w)
            }
            other => Err(format!(
                "Expected a name in the Metrics Insights query, found {other:?}"
            )),
        }
    }
    fn func(&mut self) -> Result<Func, String> {
        let f = match self.t.get(self.i) {
            Some(Tok::Word(w)) => match w.to_ascii_uppercase().as_str() {
                "AVG" => Func::Avg,
                "COUNT" => Func::Count,
                "MAX" => Func::Max,
                "MIN" => Func::Min,
                "SUM" => Func::Sum,
                other => {
                    return Err(format!(
                        "The function {other} is not a Metrics Insights aggregate"
                    ))
                }
            },
            other => {
                return Err(format!(
                    "Expected AVG, COUNT, MAX, MIN or SUM, found {other:?}"
                ))
            }
        };
        self.i += 1;
        Ok(f)
    }
}

/// Parses a Metrics Insights query; `None` when the expression is not one (no leading SELECT).
pub fn parse(expr: &str) -> Option<Result<Query, String>> {
    let head = expr.trim_start();
    if !head
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
    {
        return None;
    }
    Some(parse_query(expr))
}

fn parse_query(expr: &str) -> Result<Query, String> {
    let mut p = P {
        t: lex(expr)?,
        i: 0,
    };
    p.expect_kw("SELECT")?;
    let func = p.func()?;
    if !p.sym('(') {
        return Err("Expected ( after the aggregate".into());
    }
    let metric = p.name()?;
    if !p.sym(')') {
        return Err("Expected ) after the metric name".into());
    }
    p.expect_kw("FROM")?;
    let (namespace, schema) = if p.kw("SCHEMA") {
        if !p.sym('(') {
            return Err("Expected ( after SCHEMA".into());
        }
        let ns = p.name()?;
        let mut dims = Vec::new();
        while p.sym(',') {
            dims.push(p.name()?);
        }
        if !p.sym(')') {
            return Err("Expected ) to close SCHEMA".into());
        }
        (ns, Some(dims))
    } else {
        (p.name()?, None)
    };
    let mut filters = Vec::new();
    if p.kw("WHERE") {
        loop {
            let key = p.name()?;
            let eq = match p.t.get(p.i) {
                Some(Tok::Sym('=')) => true,
                Some(Tok::NotEq) => false,
                _ => return Err("WHERE supports = and != only".into()),
            };
            p.i += 1;
            let v = match p.t.get(p.i).cloned() {
                Some(Tok::Str(v)) => v,
                _ => return Err("WHERE values must be single-quoted".into()),
            };
            p.i += 1;
            filters.push((key, v, eq));
            if p.kw("OR") {
                return Err("OR in WHERE is not supported by Metrics Insights; use AND".into());
            }
            if !p.kw("AND") {
                break;
            }
        }
    }
    let mut group_by = Vec::new();
    if p.kw("GROUP") {
        p.expect_kw("BY")?;
        group_by.push(p.name()?);
        while p.sym(',') {
            group_by.push(p.name()?);
        }
    }
    let mut order = None;
    if p.kw("ORDER") {
        p.expect_kw("BY")?;
        let f = p.func()?;
        if !(p.sym('(') && p.sym(')')) {
            return Err("ORDER BY takes an aggregate with empty parentheses, such as MAX()".into());
        }
        let desc = if p.kw("DESC") {
            true
        } else {
            p.kw("ASC");
            false
        };
        order = Some((f, desc));
    }
    let mut limit = MAX_SERIES;
    if p.kw("LIMIT") {
        limit = match p.t.get(p.i) {
            Some(Tok::Num(n)) => n.parse().map_err(|_| "Bad LIMIT".to_string())?,
            _ => return Err("LIMIT takes a number".into()),
        };
        p.i += 1;
        if limit == 0 || limit > MAX_SERIES {
            return Err(format!("LIMIT must be between 1 and {MAX_SERIES}"));
        }
    }
    if p.i != p.t.len() {
        return Err(format!(
            "Unexpected {:?} in the Metrics Insights query",
            p.t[p.i]
        ));
    }
    Ok(Query {
        func,
        metric,
        namespace,
        schema,
        filters,
        group_by,
        order,
        limit,
    })
}

impl Query {
    pub fn selects(&self, k: &SeriesKey) -> bool {
        if k.namespace != self.namespace || k.name != self.metric {
            return false;
        }
        if let Some(dims) = &self.schema {
            let mut have: Vec<&str> = k.dimensions.iter().map(|(n, _)| n.as_str()).collect();
            let mut want: Vec<&str> = dims.iter().map(String::as_str).collect();
            have.sort_unstable();
            want.sort_unstable();
            if have != want {
                return false;
            }
        }
        self.filters.iter().all(|(key, v, eq)| {
            let actual = k
                .dimensions
                .iter()
                .find(|(n, _)| n == key)
                .map(|(_, val)| val);
            match eq {
                true => actual == Some(v),
                false => actual != Some(v),
            }
        })
    }

    /// The group a series belongs to: its values of the GROUP BY keys (`Other` when absent).
    pub fn group_of(&self, k: &SeriesKey) -> Vec<String> {
        self.group_by
            .iter()
            .map(|g| {
                k.dimensions
                    .iter()
                    .find(|(n, _)| n == g)
                    .map_or_else(|| "Other".to_string(), |(_, v)| v.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, dims: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(
            "AWS/EC2",
            name,
            dims.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn parse_and_select_table() {
        let q = parse(r#"SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId) WHERE InstanceId != 'i-2' GROUP BY InstanceId ORDER BY MAX() DESC LIMIT 10"#)
            .unwrap()
            .unwrap();
        assert_eq!(q.func, Func::Avg);
        assert_eq!(q.namespace, "AWS/EC2");
        assert_eq!(q.order, Some((Func::Max, true)));
        assert_eq!(q.limit, 10);
        assert!(q.selects(&key("CPUUtilization", &[("InstanceId", "i-1")])));
        assert!(!q.selects(&key("CPUUtilization", &[("InstanceId", "i-2")])));
        assert!(!q.selects(&key(
            "CPUUtilization",
            &[("InstanceId", "i-1"), ("Az", "a")]
        )));
        assert!(!q.selects(&key("NetworkIn", &[("InstanceId", "i-1")])));
        let any = parse(r#"select sum(CPUUtilization) from "AWS/EC2" group by Az"#)
            .unwrap()
            .unwrap();
        assert!(any.selects(&key(
            "CPUUtilization",
            &[("InstanceId", "i-1"), ("Az", "a")]
        )));
        assert_eq!(
            any.group_of(&key("CPUUtilization", &[("InstanceId", "i-1")])),
            vec!["Other"]
        );
        assert!(parse("m1 * 2").is_none());
        for bad in [
            "SELECT MEDIAN(x) FROM ns",
            "SELECT AVG(x) FROM ns WHERE a = b",
            "SELECT AVG(x) FROM ns WHERE a = 'b' OR c = 'd'",
            "SELECT AVG(x) FROM ns LIMIT 501",
            "SELECT AVG(x) FROM ns extra",
            "SELECT AVG(x)",
        ] {
            assert!(parse(bad).unwrap().is_err(), "{bad}");
        }
    }
}
