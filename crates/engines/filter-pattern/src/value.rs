//! Comparison values shared by JSON and space-delimited conditions: numbers, `*` wildcards,
//! regexes, and how each is tested against a value's text.

use ::regex::Regex;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }

    pub(crate) fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// A literal that parses as a number (`400`, `+1000`, `55.5`, `10e-3`): compared numerically.
    Number(f64),
    /// A string, with AWS's wildcard rule: a leading and/or trailing `*` match any text there;
    /// a `*` elsewhere is a literal character (AWS: `Ev*ent` matches only the string `Ev*ent`).
    Text(TextPattern),
    /// `%regex%`: matches when the regex finds a match anywhere in the value.
    Regex(Regex),
}

/// A string value with its wildcards resolved at parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextPattern {
    Any,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

impl TextPattern {
    pub(crate) fn new(s: &str) -> TextPattern {
        if s.is_empty() {
            return TextPattern::Exact(String::new());
        }
        let core = s.trim_start_matches('*');
        let leading = core.len() != s.len();
        if core.is_empty() {
            return TextPattern::Any;
        }
        let trimmed = core.trim_end_matches('*');
        let trailing = trimmed.len() != core.len();
        let core = trimmed.to_string();
        match (leading, trailing) {
            (false, false) => TextPattern::Exact(core),
            (false, true) => TextPattern::Prefix(core),
            (true, false) => TextPattern::Suffix(core),
            (true, true) => TextPattern::Contains(core),
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            TextPattern::Any => true,
            TextPattern::Exact(s) => text == s,
            TextPattern::Prefix(s) => text.starts_with(s.as_str()),
            TextPattern::Suffix(s) => text.ends_with(s.as_str()),
            TextPattern::Contains(s) => text.contains(s.as_str()),
        }
    }

    /// The literal text every matching value contains.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self {
            TextPattern::Any => None,
            TextPattern::Exact(s)
            | TextPattern::Prefix(s)
            | TextPattern::Suffix(s)
            | TextPattern::Contains(s) => Some(s),
        }
    }
}

/// One `op operand` test, applied to the text of a value.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    pub(crate) op: Op,
    pub(crate) operand: Operand,
}

impl Comparison {
    /// Tests a scalar value given as text (a JSON number keeps its original spelling).
    ///
    /// Numeric literals compare numerically against values that parse as numbers; a value that is
    /// not a number is unequal to every number, and never ordered against one. Strings and regexes
    /// support only `=` and `!=` (the parser guarantees it).
    pub(crate) fn test(&self, text: &str) -> bool {
        match &self.operand {
            Operand::Number(n) => match parse_number(text) {
                Some(v) => match self.op {
                    Op::Eq => v == *n,
                    Op::Ne => v != *n,
                    Op::Lt => v < *n,
                    Op::Gt => v > *n,
                    Op::Le => v <= *n,
                    Op::Ge => v >= *n,
                },
                None => self.op == Op::Ne,
            },
            Operand::Text(p) => p.matches(text) == (self.op == Op::Eq),
            Operand::Regex(r) => r.is_match(text) == (self.op == Op::Eq),
        }
    }
}

/// Parses the number grammar AWS documents — an optional sign, an integer or decimal, and an
/// optional `e` exponent with optional sign — and nothing else (no `inf`, `NaN`, hex, or `_`).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for (s, v) in [
            ("400", 400.0),
            ("+1000", 1000.0),
            ("-5", -5.0),
            ("55.5", 55.5),
            ("10e3", 10e3),
            ("10e-3", 10e-3),
            ("1E+2", 100.0),
            (".5", 0.5),
            ("5.", 5.0),
        ] {
            assert_eq!(parse_number(s), Some(v), "{s}");
        }
        for s in [
            "", "+", ".", "e5", "1e", "1e+", "0x10", "inf", "NaN", "1_000", "1,000", " 1", "1.2.3",
            "1e999",
        ] {
            assert_eq!(parse_number(s), None, "{s}");
        }
    }

    #[test]
    fn wildcards() {
        assert_eq!(TextPattern::new("*"), TextPattern::Any);
        assert_eq!(TextPattern::new("**"), TextPattern::Any);
        assert_eq!(TextPattern::new(""), TextPattern::Exact(String::new()));
        assert_eq!(
            TextPattern::new("*Event"),
            TextPattern::Suffix("Event".into())
        );
        assert_eq!(
            TextPattern::new("Event*"),
            TextPattern::Prefix("Event".into())
        );
        assert_eq!(
            TextPattern::new("*html*"),
            TextPattern::Contains("html".into())
        );
        assert_eq!(
            TextPattern::new("Ev*ent"),
            TextPattern::Exact("Ev*ent".into())
        );
        assert!(TextPattern::new("*Event").matches("PutEvent"));
        assert!(TextPattern::new("Event*").matches("EventName"));
        assert!(!TextPattern::new("Ev*ent").matches("Event"));
        assert!(TextPattern::new("Ev*ent").matches("Ev*ent"));
    }
}
