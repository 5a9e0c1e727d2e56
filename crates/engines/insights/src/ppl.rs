//! OpenSearch PPL, as StartQuery's `queryLanguage: PPL` takes it: a subset, translated command
//! by command into the Logs Insights language and run by the same engine.
//!
//! Supported: `fields` (keep, and `-` to remove from the fields shown), `where`, `eval`,
//! `rename`, `stats` (`count()`, `count(f)`, `sum`, `avg`, `min`, `max`, `dc`/`distinct_count`,
//! `percentile`/`percentile_approx`, `stddev_samp`; `by` fields and `span(field, n[unit])`),
//! `sort [+|-]f`, `head [n] [from m]`, `dedup f, …`, `top`/`rare`, `fillnull`, `parse` (named
//! groups), `grok` ([`crate::grok`]), `eventstats` (a subquery feeding a lookup),
//! `in [ source = g | … ]` subsearches (Logs Insights subqueries whose query is the translated
//! subsearch),
//! `trendline sma(…)`, `expand`, one `[INNER | LEFT] JOIN` on an equality (as the
//! Logs Insights `join`), with
//! PPL's expressions (comparisons, `and`/`or`/`not`, arithmetic, `in (…)`, `between`, `like`)
//! and the functions in [`FUNCTIONS`]. Anything else is a [`QueryError`] naming it (never
//! dropped): the command's or the function's place in the query.
//!
//! Results follow PPL: `fields` shows the fields listed, `stats` shows its aggregates (named
//! by their text as written, `count()` as `count()`, or by their alias) then the span then the
//! `by` fields, `eval` adds its fields to what is shown, and a query that names no fields shows
//! whole records, as Logs Insights does.

use crate::ast::{Command, RowCmd};
use crate::translate::{like_regex, name, negate, string, Piece};
use crate::{Query, QueryError};

type R<T> = Result<T, QueryError>;

fn err<T>(start: usize, end: usize, msg: impl Into<String>) -> R<T> {
    Err(QueryError {
        start,
        end,
        message: msg.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A word: a name, a keyword or a function (keywords are told by their lowercase).
    Word(String),
    /// A `` `back-quoted` `` name.
    Quoted(String),
    Str(String),
    Num(String),
    /// Punctuation and operators.
    Sym(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const SYMBOLS: [&str; 19] = [
    "<=", ">=", "!=", "<>", "==", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/",
    "%",
];

fn lex(text: &str) -> R<Vec<Token>> {
    let cs: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments: `// …` to the end of the line, `/* … */`.
        if c == '/' && cs.get(i + 1) == Some(&'/') {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && cs.get(i + 1) == Some(&'*') {
            i += 2;
            while i < cs.len() && !(cs[i] == '*' && cs.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            if i >= cs.len() {
                return err(start, cs.len(), "unterminated comment");
            }
            i += 2;
            continue;
        }
        let tok = if c == '\'' || c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                match cs.get(i) {
                    None => return err(start, cs.len(), "unterminated string"),
                    Some(&q) if q == c => {
                        // A doubled quote stands for itself.
                        if cs.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let Some(&e) = cs.get(i + 1) else {
                            return err(start, cs.len(), "unterminated string");
                        };
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            e => e,
                        });
                        i += 2;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            Tok::Str(s)
        } else if c == '`' {
            i += 1;
            let mut s = String::new();
            while i < cs.len() && cs[i] != '`' {
                s.push(cs[i]);
                i += 1;
            }
            if i >= cs.len() {
                return err(start, cs.len(), "unterminated back-quoted name");
            }
            i += 1;
            Tok::Quoted(s)
        } else if c.is_ascii_digit()
            || (c == '.' && cs.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            // An exponent: `1e3`, `2.5E-2`.
            if matches!(cs.get(i), Some('e' | 'E'))
                && (cs.get(i + 1).is_some_and(char::is_ascii_digit)
                    || (matches!(cs.get(i + 1), Some('+' | '-'))
                        && cs.get(i + 2).is_some_and(char::is_ascii_digit)))
            {
                i += 2;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
            }
            // A number directly followed by letters is a time span (`5m`): one word.
            if i < cs.len() && cs[i].is_ascii_alphabetic() {
                while i < cs.len() && cs[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                Tok::Word(cs[start..i].iter().collect())
            } else {
                let text: String = cs[start..i].iter().collect();
                // Written as Logs Insights reads numbers (no exponent, no leading dot).
                match text.parse::<f64>() {
                    Ok(x) if x.is_finite() => Tok::Num(crate::value::fmt_num(x)),
                    _ => return err(start, i, format!("{text} is not a number")),
                }
            }
        } else if c.is_alphabetic() || c == '_' || c == '@' {
            while i < cs.len() && (cs[i].is_alphanumeric() || matches!(cs[i], '_' | '@' | '.')) {
                i += 1;
            }
            Tok::Word(cs[start..i].iter().collect())
        } else {
            let rest: String = cs[i..cs.len().min(i + 2)].iter().collect();
            let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
                return err(start, start + 1, format!("unexpected character '{c}'"));
            };
            i += sym.chars().count();
            Tok::Sym(sym)
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: cs.len(),
        end: cs.len(),
    });
    Ok(out)
}

/// PPL's own functions → (Logs Insights function, fewest and most arguments), besides
/// [`crate::translate::COMMON_FUNCTIONS`]. `substring` and the null tests are rewritten
/// ([`Parser::call`]).
const FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("concat", "concat", 1, 9),
    ("cidrmatch", "isIpInSubnet", 2, 2),
    ("ispresent", "ispresent", 1, 1),
    ("isempty", "isempty", 1, 1),
    ("isblank", "isblank", 1, 1),
];

/// Functions whose answer is not null when an argument is (`not` over them needs no
/// presence test).
const NULL_AWARE: &[&str] = &[
    "isnull",
    "isnotnull",
    "ifnull",
    "coalesce",
    "if",
    "ispresent",
    "isempty",
    "isblank",
];

/// PPL aggregate → the Logs Insights one (`count()` is `count(*)`).
const AGGREGATES: &[(&str, &str, usize)] = &[
    ("count", "count", 1),
    ("sum", "sum", 1),
    ("avg", "avg", 1),
    ("min", "min", 1),
    ("max", "max", 1),
    ("dc", "count_distinct", 1),
    ("distinct_count", "count_distinct", 1),
    ("percentile", "pct", 2),
    ("percentile_approx", "pct", 2),
    ("stddev_samp", "stddev", 1),
    ("take", "ppl_take", 2),
];

/// `span` units → Logs Insights period units (month and minute differ by case).
const SPAN_UNITS: &[(&str, &str)] = &[
    ("ms", "ms"),
    ("s", "s"),
    ("m", "m"),
    ("h", "h"),
    ("d", "d"),
    ("w", "w"),
    ("M", "mo"),
    ("q", "q"),
    ("y", "y"),
];

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    text: &'a [char],
    /// How deeply the expression being read nests.
    depth: usize,
    /// The fields the expressions read so far outside null tests (`not` over them is false
    /// when one is missing, as PPL's null logic has it).
    seen: Vec<String>,
    /// After a `join`: its two aliases; a field read must then be qualified by one of them
    /// (`l.x`) unless a later command made it (`made`).
    join: Option<(String, String)>,
    made: Vec<String>,
    /// The queries of `in [ source = … | … ]` subsearches, in the order they appear.
    subsearches: Vec<Query>,
    /// A join's right side given as a subsearch: its query, whose rows the join reads.
    join_side: Option<Query>,
    /// Scalar subsearches `[ source = g | … ]` in expressions: (query, the field it selects,
    /// its log group), by their number in `ppl_scalar(j)`.
    scalars: Vec<(Query, String, String)>,
    /// Fields whole records lost (`fields -`, `rename`, `expand … as`): no later command may
    /// read them, and they leave the rows at the end.
    gone: Vec<String>,
    /// The sub-searches of `appendcol`, by their number in the `AppendCols` they feed.
    appended: Vec<Query>,
}

/// The deepest a PPL expression may nest (parentheses, calls, unary operators).
const MAX_DEPTH: usize = 64;

/// A chain of operands joined by one operator (in parentheses when there are several).
fn chain(parts: Vec<String>, op: &str) -> String {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    format!("({})", parts.join(op))
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at_sym(&self, s: &str) -> bool {
        matches!(&self.peek().tok, Tok::Sym(x) if *x == s)
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        let at = self.at_sym(s);
        if at {
            self.pos += 1;
        }
        at
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let at = self.at_word(w);
        if at {
            self.pos += 1;
        }
        at
    }

    fn expect_sym(&mut self, s: &str) -> R<()> {
        if self.eat_sym(s) {
            return Ok(());
        }
        let t = self.peek();
        err(t.start, t.end.max(t.start + 1), format!("expected '{s}'"))
    }

    /// The command ends here (at `|` or the end).
    fn at_end(&self) -> bool {
        self.at_sym("|") || matches!(self.peek().tok, Tok::Eof)
    }

    /// The source text from token `from` to the current one (how PPL names a column).
    fn source(&self, from: usize) -> String {
        let (s, e) = (self.toks[from].start, self.toks[self.pos - 1].end);
        self.text[s..e].iter().collect()
    }

    /// A field name: a word or a back-quoted name.
    fn field(&mut self) -> R<(String, String)> {
        let t = self.next();
        match t.tok {
            Tok::Word(w) | Tok::Quoted(w) => Ok((name(&w, t.start, t.end)?, w)),
            _ => err(t.start, t.end.max(t.start + 1), "expected a field name"),
        }
    }

    /// A field name read (not set) by a command: after a join, qualified or made since.
    /// An optional positive whole number of rows (10 when none is written).
    fn count_or_ten(&mut self, wrong: &str) -> R<usize> {
        match self.peek().tok.clone() {
            Tok::Num(n) => {
                let t = self.next();
                n.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map_or_else(|| err(t.start, t.end, wrong), Ok)
            }
            _ => Ok(10),
        }
    }

    /// `a, b, …`: each field as [`Parser::read_field`] reads it.
    fn read_fields(&mut self) -> R<Vec<(String, String)>> {
        let mut out = vec![self.read_field()?];
        while self.eat_sym(",") {
            out.push(self.read_field()?);
        }
        Ok(out)
    }

    fn read_field(&mut self) -> R<(String, String)> {
        let at = self.peek().clone();
        let f = self.field()?;
        self.check_read(&f.1, at.start, at.end)?;
        Ok(f)
    }

    fn check_read(&self, raw: &str, start: usize, end: usize) -> R<()> {
        if self.gone.iter().any(|g| g == raw) {
            return err(
                start,
                end,
                format!("{raw} was renamed or removed: it is no field now"),
            );
        }
        let Some((l, r)) = &self.join else {
            return Ok(());
        };
        let qualified = [l, r].iter().any(|a| {
            raw.strip_prefix(a.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
        });
        if qualified || self.made.iter().any(|m| m == raw) {
            return Ok(());
        }
        err(
            start,
            end,
            format!(
                "after a join, qualify {raw} with the alias of its side ({l}.{raw} or {r}.{raw})"
            ),
        )
    }

    /// A field a command writes: a field of the rows again (see [`Parser::gone`]).
    fn make(&mut self, name: String) {
        self.gone.retain(|g| *g != name);
        self.made.push(name);
    }

    fn expr(&mut self) -> R<String> {
        let start = self.peek().start;
        let text = self.nested(Self::or)?;
        // (Some translations repeat an operand: nested, they would grow without bound.)
        let end = self.toks[self.pos.saturating_sub(1)].end.max(start);
        crate::translate::bounded(text, start, end)
    }

    fn or(&mut self) -> R<String> {
        let from = self.seen.len();
        // A chain is written as one (its operators associate left in both languages): no
        // nesting as deep as it is long.
        let mut parts = vec![self.and()?];
        while self.eat_word("or") {
            parts.push(self.and()?);
        }
        let mut l = chain(parts, " or ");
        // `xor` binds least (OpenSearch's grammar: and, or, then xor). A side reading a
        // missing field is null, and so is the xor (a comparison with a missing field is
        // false here, not null: the fields read are tested).
        while self.eat_word("xor") {
            let mut parts = vec![self.and()?];
            while self.eat_word("or") {
                parts.push(self.and()?);
            }
            let x = format!("ppl_xor({l}, {})", chain(parts, " or "));
            let mut present: Vec<String> = Vec::new();
            for f in &self.seen[from..] {
                let t = format!("ispresent({f})");
                if !present.contains(&t) {
                    present.push(t);
                }
            }
            l = if present.is_empty() {
                x
            } else {
                format!("if({}, {x}, ppl_nullif(0, 0))", present.join(" and "))
            };
        }
        Ok(l)
    }

    fn and(&mut self) -> R<String> {
        let mut parts = vec![self.not()?];
        while self.eat_word("and") {
            parts.push(self.not()?);
        }
        Ok(chain(parts, " and "))
    }

    fn not(&mut self) -> R<String> {
        if self.eat_word("not") {
            let from = self.seen.len();
            let e = self.nested(Self::not)?;
            return Ok(negate(&e, &self.seen[from..]));
        }
        self.comparison()
    }

    /// Runs `f` one nesting level deeper (at most [`MAX_DEPTH`]).
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> R<String>) -> R<String> {
        if self.depth >= MAX_DEPTH {
            let t = self.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                format!("the expression nests more than {MAX_DEPTH} levels deep"),
            );
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn comparison(&mut self) -> R<String> {
        if let Some(t) = self.tuple_subsearch()? {
            return Ok(t);
        }
        let from = self.seen.len();
        let l = self.additive()?;
        let negated = self.at_word("not")
            && matches!(&self.toks.get(self.pos + 1).map(|t| &t.tok),
                Some(Tok::Word(w)) if ["in", "like", "between"].iter().any(|k| w.eq_ignore_ascii_case(k)));
        if negated {
            self.pos += 1;
        }
        let wrap = |p: &Self, e: String| {
            if negated {
                negate(&e, &p.seen[from..])
            } else {
                e
            }
        };
        if self.at_word("in")
            && matches!(
                self.toks.get(self.pos + 1).map(|t| &t.tok),
                Some(Tok::Sym("["))
            )
            && matches!(self.toks.get(self.pos + 2).map(|t| &t.tok),
                Some(Tok::Word(w)) if ["search", "source", "subquery"].iter().any(|k| w.eq_ignore_ascii_case(k)))
        {
            self.pos += 1;
            let sub = self.subsearch(&l)?;
            return Ok(wrap(self, sub));
        }
        if self.eat_word("in") {
            let items = self.list()?;
            return Ok(wrap(self, format!("({l} in [{}])", items.join(", "))));
        }
        if self.eat_word("like") {
            let t = self.next();
            let Tok::Str(p) = t.tok else {
                return err(
                    t.start,
                    t.end.max(t.start + 1),
                    "like takes a string pattern",
                );
            };
            let re = like_regex(&p).or_else(|m| err(t.start, t.end, m))?;
            return Ok(wrap(self, format!("({l} like {re})")));
        }
        if self.eat_word("between") {
            let lo = self.additive()?;
            if !self.eat_word("and") {
                let t = self.peek();
                return err(t.start, t.end.max(t.start + 1), "expected 'and' in between");
            }
            let hi = self.additive()?;
            return Ok(wrap(self, format!("({l} >= {lo} and {l} <= {hi})")));
        }
        if negated {
            let t = self.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected in, like or between",
            );
        }
        for (sym, op) in [
            ("=", "="),
            ("==", "="),
            ("!=", "!="),
            ("<>", "!="),
            ("<", "<"),
            ("<=", "<="),
            (">", ">"),
            (">=", ">="),
        ] {
            if self.eat_sym(sym) {
                let r = self.additive()?;
                return Ok(format!("({l} {op} {r})"));
            }
        }
        Ok(l)
    }

    /// `[ search source = <group> | … | fields y ]` (at the `[`) compared with field `l`: Logs
    /// Insights subquery text whose query is replaced by the translated subsearch once parsed
    /// (see [`Parser::subsearches`]).
    fn subsearch(&mut self, l: &str) -> R<String> {
        let open = self.next();
        let Some(field) = l
            .strip_prefix('`')
            .and_then(|x| x.strip_suffix('`'))
            .map_or_else(
                || (!l.contains(['(', ' ', '"'])).then(|| l.to_string()),
                |x| Some(x.replace("``", "`")),
            )
        else {
            // Another expression is compared as a tuple of one.
            let sub = self.subsearch_query(&open, 1)?;
            self.subsearches.push(sub.query);
            return Ok(crate::translate::tuple_in(&[l.to_string()], &sub.group));
        };
        let sub = self.subsearch_query(&open, 1)?;
        // Its rows must hold the outer field's name (Logs Insights compares by name).
        let query = if sub.selected == field {
            sub.query
        } else {
            if field.contains('`') || sub.selected.contains('`') {
                return err(
                    open.start,
                    sub.end,
                    "a subsearch's field names cannot hold `",
                );
            }
            let renamed = format!("{} | eval `{field}` = `{}`", sub.inner, sub.selected);
            let rest_start = sub.rest_start;
            translate_shown(&renamed)
                .map_err(|e| QueryError {
                    start: e.start + rest_start,
                    end: e.end + rest_start,
                    message: e.message,
                })?
                .0
        };
        self.subsearches.push(query);
        Ok(format!("{l} in (SOURCE '{}' | fields {l})", sub.group))
    }

    /// `(a, b, …) [not] in [ source = g | … | fields d, e, … ]`, when the parser stands at
    /// such a `(`: the values compared together with the subsearch's fields in order (a row
    /// missing one of its values passes neither `in` nor `not in`, as SQL's unknown).
    fn tuple_subsearch(&mut self) -> R<Option<String>> {
        if !self.at_sym("(") {
            return Ok(None);
        }
        // The matching `)`, and whether a comma stands directly inside it.
        let (mut depth, mut close, mut comma) = (0usize, None, false);
        for (i, t) in self.toks.iter().enumerate().skip(self.pos) {
            match t.tok {
                Tok::Sym("(") | Tok::Sym("[") => depth += 1,
                Tok::Sym(")") | Tok::Sym("]") => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                Tok::Sym(",") if depth == 1 => comma = true,
                Tok::Eof => break,
                _ => {}
            }
        }
        let Some(close) = close else {
            return Ok(None);
        };
        let word = |i: usize, ws: &[&str]| {
            matches!(self.toks.get(i).map(|t| &t.tok),
                Some(Tok::Word(w)) if ws.iter().any(|k| w.eq_ignore_ascii_case(k)))
        };
        let negated = word(close + 1, &["not"]);
        let at = close + 1 + usize::from(negated);
        if !comma
            || !word(at, &["in"])
            || !matches!(self.toks.get(at + 1).map(|t| &t.tok), Some(Tok::Sym("[")))
            || !word(at + 2, &["search", "source", "subquery"])
        {
            return Ok(None);
        }
        let from = self.seen.len();
        self.pos += 1;
        let mut values = vec![self.additive()?];
        while self.eat_sym(",") {
            values.push(self.additive()?);
        }
        self.expect_sym(")")?;
        self.pos = at + 1;
        let open = self.next();
        let sub = self.subsearch_query(&open, values.len())?;
        self.subsearches.push(sub.query);
        let e = crate::translate::tuple_in(&values, &sub.group);
        Ok(Some(if negated {
            negate(&e, &self.seen[from..])
        } else {
            e
        }))
    }

    /// A scalar subsearch `[ source = g | … | stats max(c) ]` (after its `[`): its one value,
    /// as SQL's scalar subquery (`ppl_scalar(j)`, replaced once it has run).
    fn scalar_subsearch(&mut self, open: &Token) -> R<String> {
        let sub = self.subsearch_query(open, 1)?;
        let j = self.scalars.len();
        self.scalars.push((sub.query, sub.selected, sub.group));
        let x = format!("ppl_scalar({j})");
        // (No row makes it NULL: `not` over a comparison with it is then false.)
        self.seen.push(x.clone());
        Ok(x)
    }

    /// The subsearch whose `[` is `open` (the parser stands after it): its log group, its
    /// commands translated and the one field they select; the parser goes past its `]`.
    /// The token of the `]` matching a `[` just read.
    fn closing_bracket(&self, open: &Token) -> R<usize> {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(self.pos) {
            match t.tok {
                Tok::Sym("[") => depth += 1,
                Tok::Sym("]") if depth == 0 => return Ok(i),
                Tok::Sym("]") => depth -= 1,
                _ => {}
            }
        }
        err(open.start, open.end, "this [ is not closed")
    }

    fn subsearch_query(&mut self, open: &Token, want: usize) -> R<Subsearch> {
        self.subsearch_with(open, want, false)
    }

    /// [`Parser::subsearch_query`]; for `exists` (`exists`), the subsearch may be correlated
    /// (its [`Subsearch::pairs`]) and selects their inner fields, or counts its rows when it is
    /// not.
    fn subsearch_with(&mut self, open: &Token, want: usize, exists: bool) -> R<Subsearch> {
        let close = self.closing_bracket(open)?;
        let end = self.toks[close].start;
        // `search source = g`, `subquery source = g` (AWS's example) or `source = g`, then
        // `| commands`.
        if self.at_word("search") || self.at_word("subquery") {
            self.pos += 1;
        }
        if !self.eat_word("source") || !self.eat_sym("=") {
            let t = self.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected source = <log group> in the subsearch",
            );
        }
        let g = self.next();
        let group = match &g.tok {
            Tok::Word(w) | Tok::Quoted(w) if crate::translate::group_name_ok(w) => w.clone(),
            _ => {
                return err(
                    g.start,
                    g.end.max(g.start + 1),
                    "expected the subsearch's log group",
                )
            }
        };
        let bare = self.pos >= close;
        if !exists && (bare || !self.at_sym("|")) {
            return err(
                g.start,
                end,
                "the subsearch must select one field: [ source = g | fields y ]",
            );
        }
        if exists && !bare && !self.at_sym("|") {
            let t = self.peek();
            return err(t.start, t.end.max(t.start + 1), "expected | or ]");
        }
        // Correlations (`exists` only): `where outer.b = inner.d [and …]`, the subsearch's
        // own field qualified by its source's name and the outer query's by another name.
        let (pairs, spans) = if exists {
            self.correlations(&group, self.pos, close)?
        } else {
            (Vec::new(), Vec::new())
        };
        // Another name qualified by the subsearch's own source (`inner.d`) would be read as a
        // missing field: refused.
        let qualifier = format!("{group}.");
        if let Some(t) = self.toks[self.pos..close]
            .iter()
            .enumerate()
            .find(|(i, t)| {
                !spans
                    .iter()
                    .any(|&(a, b)| (a..=b).contains(&(self.pos + i)))
                    && matches!(&t.tok, Tok::Word(w) | Tok::Quoted(w) if w.starts_with(&qualifier))
            })
            .map(|(_, t)| t)
        {
            return err(
                t.start,
                t.end,
                "a subsearch reads the outer query's fields only in exists, as equalities `outer.x = inner.y` joined by and (other correlations are not supported yet)",
            );
        }
        let rest_start = if bare {
            end
        } else {
            self.toks[self.pos + 1].start
        };
        let mut inner: String = self.text[rest_start..end].iter().collect();
        // (Each correlation reads `true` there, padded to its length: places stay.)
        for &(a, b) in &spans {
            let (from, to) = (
                self.toks[a].start - rest_start,
                self.toks[b].end - rest_start,
            );
            let mut chars: Vec<char> = inner.chars().collect();
            let pad = "true".chars().chain(std::iter::repeat(' ')).take(to - from);
            chars.splice(from..to, pad);
            inner = chars.into_iter().collect();
        }
        if exists {
            let sep = if bare { "" } else { " | " };
            let tail = if pairs.is_empty() {
                "stats count() as `n`".to_string()
            } else {
                let names: Vec<String> = pairs
                    .iter()
                    .map(|(i, _)| format!("`{}`", i.replace('`', "``")))
                    .collect();
                // (Each combination once: the subquery's row cap counts keys, not records.)
                format!("dedup {0} | fields {0}", names.join(", "))
            };
            if bare {
                inner = tail;
            } else {
                inner = format!("{inner}{sep}{tail}");
            }
        }
        let shift = |e: QueryError| QueryError {
            start: e.start + rest_start,
            end: e.end + rest_start,
            message: e.message,
        };
        let Some(translated) = crate::translate::subquery_level(|| translate_shown(&inner)) else {
            return err(open.start, end, crate::translate::too_deep("subsearches"));
        };
        let (query, shown) = translated.map_err(shift)?;
        let selected = match shown.as_deref() {
            // (A join's right side, or `exists`: any fields.)
            _ if want == 0 => String::new(),
            Some([y]) if want == 1 => y.clone(),
            Some(ys) if want > 1 && ys.len() == want => String::new(),
            _ if want > 1 => {
                return err(
                    rest_start,
                    end,
                    format!("the subsearch must select {want} fields, one for each compared: … | fields d, e"),
                )
            }
            _ => {
                return err(
                    rest_start,
                    end,
                    "the subsearch must select one field: … | fields y",
                )
            }
        };
        if query.join.is_some() {
            return err(rest_start, end, "a subsearch cannot hold a join");
        }
        self.pos = close + 1;
        Ok(Subsearch {
            query,
            selected,
            group,
            inner,
            rest_start,
            end,
            pairs,
        })
    }

    /// The correlations among the tokens `from..close` of a subsearch over `group`: equalities
    /// `outer.b = group.d` (either way round) that are conjuncts of a `where` with no `or` or
    /// `xor`, as (the subsearch's field, the outer query's field) and the tokens they span.
    /// The outer field is the name after its qualifier, or the whole name when the qualifier
    /// is one of the outer query's join aliases.
    #[allow(clippy::type_complexity)]
    fn correlations(
        &self,
        group: &str,
        from: usize,
        close: usize,
    ) -> R<(Vec<(String, String)>, Vec<(usize, usize)>)> {
        let qualifier = format!("{group}.");
        let word = |i: usize| match self.toks.get(i).map(|t| &t.tok) {
            Some(Tok::Word(w) | Tok::Quoted(w)) if i < close => Some(w.as_str()),
            _ => None,
        };
        let is_word = |i: usize, ws: &[&str]| {
            word(i).is_some_and(|w| ws.iter().any(|k| w.eq_ignore_ascii_case(k)))
        };
        let (mut pairs, mut spans) = (Vec::new(), Vec::new());
        let (mut clause_start, mut depth, mut last_end) = (from, 0usize, from);
        for i in from..close {
            match &self.toks[i].tok {
                Tok::Sym("|") if depth == 0 => clause_start = i + 1,
                Tok::Sym("(" | "[") => depth += 1,
                Tok::Sym(")" | "]") => depth = depth.saturating_sub(1),
                _ => {}
            }
            let eq = matches!(
                self.toks.get(i + 1).map(|t| &t.tok),
                Some(Tok::Sym("=" | "=="))
            );
            let (Some(a), true, Some(b)) = (word(i), eq, word(i + 2)) else {
                continue;
            };
            let (inner_side, outer_side) =
                match (a.strip_prefix(&qualifier), b.strip_prefix(&qualifier)) {
                    (Some(x), None) => (x, b),
                    (None, Some(y)) => (y, a),
                    _ => continue,
                };
            let Some((q, rest)) = outer_side.split_once('.') else {
                continue;
            };
            // A conjunct of this clause's `where`, outside parentheses, in a clause without
            // `or`/`xor` (the clause ends at the next `|` outside brackets).
            let clause_end = self.pipes(i, close).next().unwrap_or(close);
            last_end = clause_end;
            let top = depth == 0
                && is_word(clause_start, &["where"])
                && (i == clause_start + 1 || is_word(i - 1, &["and"]))
                && (i + 3 >= clause_end || is_word(i + 3, &["and"]))
                && !(clause_start..clause_end).any(|k| is_word(k, &["or", "xor"]));
            if !top {
                let t = &self.toks[i];
                return err(
                    t.start,
                    self.toks[i + 2].end,
                    "a correlation is an equality `outer.x = inner.y` joined to the subsearch's other conditions by and (not under or, not or parentheses)",
                );
            }
            let outer = match &self.join {
                Some((l, r)) if q == l || q == r => outer_side.to_string(),
                _ => rest.to_string(),
            };
            let at = if a.starts_with(&qualifier) { i + 2 } else { i };
            self.check_read(&outer, self.toks[at].start, self.toks[at].end)?;
            crate::translate::user_name(inner_side, 0, 0)?;
            pairs.push((inner_side.to_string(), outer));
            spans.push((i, i + 2));
        }
        // Only `where` may follow the correlation: a command reshaping the rows (`head`,
        // `dedup`, `stats`, `eval`, …) would run over every row rather than the matching ones.
        if !pairs.is_empty() {
            if let Some(k) = self
                .pipes(last_end, close)
                .find(|&k| !is_word(k + 1, &["where"]))
            {
                let t = self.toks.get(k + 1).unwrap_or(&self.toks[k]);
                return err(
                    t.start,
                    t.end.max(t.start + 1),
                    "only where may follow a correlation in an exists subsearch (commands that reshape the rows would run over every row)",
                );
            }
        }
        Ok((pairs, spans))
    }

    /// The places of the `|` among the tokens `from..to` that stand outside the brackets and
    /// parentheses opened there.
    fn pipes(&self, from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
        let mut inside = 0usize;
        (from..to).filter(move |&k| match self.toks[k].tok {
            Tok::Sym("(" | "[") => {
                inside += 1;
                false
            }
            Tok::Sym(")" | "]") => {
                inside = inside.saturating_sub(1);
                false
            }
            Tok::Sym("|") => inside == 0,
            _ => false,
        })
    }

    /// `exists [ source = g | … ]` (after `exists`, at the `[`): whether the subsearch has a
    /// row — correlated by `where outer.b = g.d [and …]`, whether it has a row whose fields
    /// equal the outer row's (a row missing one has none, so `not exists` keeps it).
    fn exists_subsearch(&mut self) -> R<String> {
        let open = self.next();
        let sub = self.subsearch_with(&open, 0, true)?;
        if sub.pairs.is_empty() {
            let j = self.scalars.len();
            self.scalars.push((sub.query, "n".to_string(), sub.group));
            // (No row: the count is 0.)
            return Ok(format!("(coalesce(ppl_scalar({j}), 0) > 0)"));
        }
        self.subsearches.push(sub.query);
        let outer: Vec<String> = sub
            .pairs
            .iter()
            .map(|(_, o)| name(o, 0, 0))
            .collect::<R<_>>()?;
        Ok(crate::translate::tuple_in(&outer, &sub.group))
    }

    /// `(a, b, …)` or `[a, b, …]`.
    fn list(&mut self) -> R<Vec<String>> {
        let close = if self.eat_sym("(") {
            ")"
        } else if self.eat_sym("[") {
            "]"
        } else {
            let t = self.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected a list in parentheses",
            );
        };
        let mut items = Vec::new();
        if !self.eat_sym(close) {
            loop {
                items.push(self.expr()?);
                if self.eat_sym(close) {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(items)
    }

    fn additive(&mut self) -> R<String> {
        self.arithmetic(&["+", "-"], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> R<String> {
        self.arithmetic(&["*", "/", "%"], Self::unary)
    }

    /// A chain of `operand`s joined by any of `ops` (one precedence level), written flat in
    /// one pair of parentheses: both languages associate it left.
    fn arithmetic(
        &mut self,
        ops: &[&'static str],
        operand: fn(&mut Self) -> R<String>,
    ) -> R<String> {
        let mut l = operand(self)?;
        let mut more = false;
        while let Some(&op) = ops.iter().find(|o| self.at_sym(o)) {
            self.pos += 1;
            let r = operand(self)?;
            l = format!("{l} {op} {r}");
            more = true;
        }
        Ok(if more { format!("({l})") } else { l })
    }

    /// `case(cond, value [, cond, value]… [else default])`: the value of the first condition
    /// that holds, else the default (null without one).
    fn case(&mut self, start: usize, end: usize) -> R<String> {
        self.expect_sym("(")?;
        // (Conditions and values answer for missing fields themselves, as CASE does.)
        let from = self.seen.len();
        let mut args = Vec::new();
        loop {
            args.push(self.expr()?);
            self.expect_sym(",")?;
            args.push(self.expr()?);
            if self.eat_word("else") {
                args.push(self.expr()?);
                self.expect_sym(")")?;
                break;
            }
            if self.eat_sym(")") {
                break;
            }
            self.expect_sym(",")?;
        }
        self.seen.truncate(from);
        // (Logs Insights' case takes ten pairs and a default.)
        if args.len() > 21 {
            return err(start, end, "case takes at most 10 conditions");
        }
        Ok(format!("case({})", args.join(", ")))
    }

    /// `cast(x as type)`; what does not convert is null.
    fn cast(&mut self) -> R<String> {
        self.expect_sym("(")?;
        let x = self.expr()?;
        if !self.eat_word("as") {
            let t = self.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected AS in cast(x as type)",
            );
        }
        let t = self.next();
        let ty = match &t.tok {
            Tok::Word(w) => w.to_ascii_lowercase(),
            _ => String::new(),
        };
        let f = match ty.as_str() {
            "int" | "integer" => "toInt",
            "long" | "bigint" => "toLong",
            "short" | "smallint" => "ppl_smallint",
            "byte" | "tinyint" => "ppl_tinyint",
            "float" | "double" | "real" => "toDouble",
            "boolean" | "bool" => "ppl_boolean",
            "date" => "ppl_date",
            "timestamp" | "datetime" => "ppl_timestamp",
            "string" | "varchar" | "char" | "text" => "",
            _ => {
                return err(
                    t.start,
                    t.end.max(t.start + 1),
                    "cast takes int, long, short, byte, float, double, boolean, date, timestamp or string",
                )
            }
        };
        self.expect_sym(")")?;
        Ok(if f.is_empty() {
            // A null stays null (concat alone would make it empty text).
            format!("if(ispresent({x}), concat({x}), {x})")
        } else {
            format!("{f}({x})")
        })
    }

    fn unary(&mut self) -> R<String> {
        if self.eat_sym("-") {
            let e = self.nested(Self::unary)?;
            return Ok(format!("(-{e})"));
        }
        self.primary()
    }

    fn primary(&mut self) -> R<String> {
        let t = self.next();
        match t.tok {
            Tok::Num(n) => Ok(n),
            Tok::Str(s) => Ok(string(&s)),
            Tok::Quoted(n) => {
                self.check_read(&n, t.start, t.end)?;
                let x = name(&n, t.start, t.end)?;
                self.seen.push(x.clone());
                Ok(x)
            }
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(format!("({e})"))
            }
            // `exists [ source = inner | … ]`.
            Tok::Word(ref w)
                if w.eq_ignore_ascii_case("exists") && matches!(self.peek().tok, Tok::Sym("[")) =>
            {
                self.exists_subsearch()
            }
            // A scalar subsearch: `eval m = [ source = inner | stats max(c) ]`.
            Tok::Sym("[") if matches!(&self.peek().tok, Tok::Word(w) if ["search", "source", "subquery"].iter().any(|k| w.eq_ignore_ascii_case(k))) => {
                self.scalar_subsearch(&t)
            }
            Tok::Word(w) if self.at_sym("(") => self.call(&w, t.start, t.end),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                Ok(format!("ppl_boolean('{}')", w.to_ascii_lowercase()))
            }
            Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit()) => err(
                t.start,
                t.end,
                format!("{w} is not a value here (a span such as 5m goes in span())"),
            ),
            Tok::Word(w) => {
                self.check_read(&w, t.start, t.end)?;
                let x = name(&w, t.start, t.end)?;
                self.seen.push(x.clone());
                Ok(x)
            }
            _ => err(t.start, t.end.max(t.start + 1), "expected an expression"),
        }
    }

    /// A function call, after its name.
    fn call(&mut self, f: &str, start: usize, end: usize) -> R<String> {
        let lower = f.to_ascii_lowercase();
        match lower.as_str() {
            "case" => return self.case(start, end),
            "cast" => return self.cast(),
            // `date_add(date, INTERVAL n unit)` (and its synonyms): the time n units later.
            "date_add" | "adddate" | "date_sub" | "subdate" if matches!(self.toks.get(self.pos..self.pos + 2), Some([o, _]) if matches!(o.tok, Tok::Sym("("))) =>
            {
                self.expect_sym("(")?;
                let date = self.expr()?;
                self.expect_sym(",")?;
                if self.eat_word("interval") {
                    let n = self.nested(Self::additive)?;
                    let u = self.next();
                    let unit = match &u.tok {
                        Tok::Word(w)
                            if [
                                "microsecond", "second", "minute", "hour", "day", "week", "month",
                                "quarter", "year",
                            ]
                            .iter()
                            .any(|k| w.eq_ignore_ascii_case(k)) =>
                        {
                            w.to_ascii_uppercase()
                        }
                        _ => {
                            return err(
                                u.start,
                                u.end.max(u.start + 1),
                                "INTERVAL takes a unit: SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR",
                            )
                        }
                    };
                    self.expect_sym(")")?;
                    let n = if lower.ends_with("sub") || lower == "subdate" {
                        format!("(-({n}))")
                    } else {
                        n
                    };
                    return Ok(format!(
                        "ppl_timestampadd({}, {n}, {date})",
                        crate::translate::string(&unit)
                    ));
                }
                // A number of days (the argument read once: nested calls stay linear).
                let days = self.expr()?;
                self.expect_sym(")")?;
                let f = if lower.ends_with("sub") || lower == "subdate" {
                    "ppl_date_sub"
                } else {
                    "ppl_date_add"
                };
                return Ok(format!("{f}({date}, {days})"));
            }
            // `rand([seed])`: a number in [0, 1) per row.
            "rand" => {
                self.expect_sym("(")?;
                let seed = if self.at_sym(")") {
                    None
                } else {
                    Some(self.nested(Self::additive)?)
                };
                self.expect_sym(")")?;
                return crate::translate::rand_call(seed.as_deref());
            }
            // `position(sub IN text)`: 1-based, 0 when absent.
            "position" => {
                self.expect_sym("(")?;
                // (Not a whole expression: `in` would be read as a comparison.)
                let sub = self.nested(Self::additive)?;
                if !self.eat_word("in") {
                    let t = self.peek();
                    return err(
                        t.start,
                        t.end.max(t.start + 1),
                        "expected IN in position(sub IN text)",
                    );
                }
                let text = self.expr()?;
                self.expect_sym(")")?;
                return Ok(format!("ppl_locate({sub}, {text})"));
            }
            _ => {}
        }
        let from = self.seen.len();
        // `TIMESTAMPDIFF(DAY, …)`: the unit is a word, not a field (read before the rest, so
        // no field check applies to it).
        let unit = match (
            matches!(lower.as_str(), "timestampdiff" | "timestampadd"),
            self.toks.get(self.pos..self.pos + 3),
        ) {
            (true, Some([open, word, comma]))
                if matches!(open.tok, Tok::Sym("("))
                    && matches!(comma.tok, Tok::Sym(","))
                    && matches!(&word.tok, Tok::Word(w) if w.chars().all(|c| c.is_ascii_alphabetic())) =>
            {
                let Tok::Word(w) = &word.tok else {
                    unreachable!()
                };
                let u = crate::translate::string(w);
                self.pos += 2;
                Some(u)
            }
            _ => None,
        };
        let mut args = if unit.is_some() {
            // The rest of the list, after the unit's comma: read as `(` … `)`.
            let mut rest = Vec::new();
            while self.eat_sym(",") {
                rest.push(self.expr()?);
            }
            self.expect_sym(")")?;
            rest
        } else {
            self.list()?
        };
        if let Some(u) = unit {
            args.insert(0, u);
        }
        // Null tests and defaults answer for missing fields themselves.
        if NULL_AWARE.contains(&lower.as_str()) {
            self.seen.truncate(from);
        }
        let count = |lo: usize, hi: usize| -> R<()> {
            if args.len() < lo || args.len() > hi {
                return err(
                    start,
                    end,
                    format!(
                        "{f} takes {lo}{} arguments",
                        if hi > lo {
                            format!(" to {hi}")
                        } else {
                            String::new()
                        }
                    ),
                );
            }
            Ok(())
        };
        match lower.as_str() {
            // 1-based in PPL, 0-based in Logs Insights.
            "substring" | "substr" => {
                count(2, 3)?;
                Ok(crate::translate::substr(&args))
            }
            "isnull" => {
                count(1, 1)?;
                Ok(format!("(not ispresent({}))", args[0]))
            }
            "isnotnull" => {
                count(1, 1)?;
                Ok(format!("ispresent({})", args[0]))
            }
            "like" => err(
                start,
                end,
                "like(field, pattern) is not supported yet: write field like 'pattern'",
            ),
            // `from_unixtime(seconds, format)`: the time written with MySQL's format letters.
            "from_unixtime" if args.len() == 2 => Ok(format!(
                "ppl_date_format(ppl_from_unixtime({}), {})",
                args[0], args[1]
            )),
            _ => match FUNCTIONS
                .iter()
                .chain(crate::translate::COMMON_FUNCTIONS)
                .chain(crate::translate::INTERNAL_FUNCTIONS)
                .chain(crate::translate::PPL_JSON_FUNCTIONS)
                .find(|(p, ..)| *p == lower)
            {
                Some(&(_, ours, lo, hi)) => {
                    count(lo, hi)?;
                    crate::translate::check_regex_literal(ours, &args)
                        .or_else(|m| err(start, end, m))?;
                    Ok(format!("{ours}({})", args.join(", ")))
                }
                None => match crate::translate::shared_function(&lower, &args) {
                    Some(r) => r.or_else(|m| err(start, end, m)),
                    None => err(
                        start,
                        end,
                        format!("the PPL function {f} is not supported yet"),
                    ),
                },
            },
        }
    }
}

/// Where an `appendcol`'s rows are looked for until its sub-search's place is known.
const APPEND_MARK: usize = 1 << 20;
/// The most rows an `appendcol` sub-search lays over the query's (as Logs Insights'
/// `appendcols` by default).
const APPEND_MAX_ROWS: usize = 10_000;

/// A subsearch read by [`Parser::subsearch_query`].
struct Subsearch {
    query: Query,
    /// The one field its commands select.
    selected: String,
    group: String,
    /// Its commands' text, and where it starts and ends in the query.
    inner: String,
    rest_start: usize,
    end: usize,
    /// Its correlations (`exists`): (its own field, the outer query's field).
    pairs: Vec<(String, String)>,
}

/// What the results show after each command: named fields, or whole records.
type Shown = Option<Vec<String>>;

/// Parses a PPL query into a [`Query`] of the same engine.
pub fn parse_ppl(text: &str) -> R<Query> {
    // AWS's query scope for PPL: `source = [lg:`/g`, `field` = value, …] | …`.
    if let Some(scope) = crate::source::split_ppl(text)? {
        let rest: String = text.chars().skip(scope.rest).collect();
        let prefix = if scope.conditions.is_empty() {
            String::new()
        } else {
            format!("where {} | ", scope.conditions.join(" and "))
        };
        // (A scope alone gives the records.)
        let body = if rest.trim().is_empty() {
            format!("{prefix}where true")
        } else {
            format!("{prefix}{rest}")
        };
        let shift = prefix.chars().count();
        let n = text.chars().count();
        return crate::translate::translating(|| translate(&body))
            .map(|mut q| {
                q.source = Some(scope.source.clone());
                q
            })
            .map_err(|mut e| {
                if e.start < shift || rest.trim().is_empty() {
                    // (In the scope's conditions.)
                    e.start = 0;
                    e.end = scope.end;
                } else {
                    e.start = e.start - shift + scope.rest;
                    e.end = (e.end - shift + scope.rest).min(n);
                }
                e
            });
    }
    // A leading `SOURCE logGroups(...)` chooses the log groups, as in Logs Insights (AWS's
    // CloudWatch takes it in PPL from the API and CLI).
    let t = text.trim_start();
    let opens_with_source = t.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("source"))
        && t[6..]
            .trim_start()
            .get(..9)
            .is_some_and(|w| w.eq_ignore_ascii_case("loggroups"));
    let split = if opens_with_source {
        crate::source::split(text)
    } else {
        Ok(None)
    };
    let r = match split {
        Err(e) => Err(e),
        Ok(Some((src, at))) => {
            let rest: String = text.chars().skip(at).collect();
            crate::translate::translating(|| translate(&rest))
                .map(|mut q| {
                    q.source = Some(src);
                    q
                })
                .map_err(|mut e| {
                    e.start += at;
                    e.end += at;
                    e
                })
        }
        Ok(None) => crate::translate::translating(|| translate(text)),
    };
    // A place past the end (an unfinished query) is its last character.
    let n = text.chars().count();
    r.map_err(|mut e| {
        e.end = e.end.min(n);
        e.start = e.start.min(e.end.saturating_sub(1));
        e
    })
}

fn translate(text: &str) -> R<Query> {
    translate_shown(text).map(|(mut q, _)| {
        crate::flatten_subqueries(&mut q.subs);
        q
    })
}

/// A PPL query's translation and the fields it shows (`None`: whole records).
fn translate_shown(text: &str) -> R<(Query, Shown)> {
    if let Some(i) = text
        .chars()
        .position(|c| c == crate::translate::PLACEHOLDER)
    {
        crate::translate::user_name(text, i, i + 1)?;
    }
    // A leading `search`/`source` names the data: not supported (the log groups come from the
    // request). Told before the rest is read, whose syntax is its own.
    let lead = text.trim_start();
    let word: String = lead
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if ["search", "source"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
    {
        let start = text.chars().count() - lead.chars().count();
        return err(
            start,
            start + word.len(),
            format!("{word} is not supported yet: give the log groups in the request"),
        );
    }
    let toks = lex(text)?;
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        text: &chars,
        depth: 0,
        seen: Vec::new(),
        join: None,
        made: Vec::new(),
        subsearches: Vec::new(),
        join_side: None,
        scalars: Vec::new(),
        gone: Vec::new(),
        appended: Vec::new(),
    };
    let mut pieces: Vec<Piece> = Vec::new();
    let mut shown: Shown = None;
    // The subquery of an `eventstats` (its groups' aggregates).
    let mut eventstats: Option<Query> = None;
    // The eventstats computed as windows ([`eventstats_windows`]), counted.
    let mut windowed_eventstats = 0usize;
    // Fields renamed while whole records were shown: (old name, its place).
    let mut renamed: Vec<(String, usize, usize)> = Vec::new();
    loop {
        if matches!(p.peek().tok, Tok::Eof) {
            if pieces.is_empty() && p.gone.is_empty() {
                return err(0, chars.len(), "query is empty");
            }
            break;
        }
        let t = p.next();
        let (cmd, cs) = match &t.tok {
            Tok::Word(w) => (w.to_ascii_lowercase(), t.start),
            _ => return err(t.start, t.end.max(t.start + 1), "expected a PPL command"),
        };
        let add = |pieces: &mut Vec<Piece>, text: String, eval: bool, end: usize| {
            pieces.push(Piece {
                text,
                eval,
                ready: None,
                start: cs,
                end,
            })
        };
        // A command with no Logs Insights syntax, placed by a stand-in.
        let ready = |pieces: &mut Vec<Piece>, cmd: Command, end: usize| {
            pieces.push(Piece {
                text: "limit 1".into(),
                eval: false,
                ready: Some(cmd),
                start: cs,
                end,
            })
        };
        match cmd.as_str() {
            "fields" => {
                if p.at_sym("-") {
                    p.next();
                    // Over whole records the fields leave each row; else those shown lose them.
                    if let Some(cols) = shown.as_mut() {
                        loop {
                            let at = p.peek().clone();
                            let (_, r) = p.read_field()?;
                            let Some(i) = cols.iter().position(|c| *c == r) else {
                                return err(
                                    at.start,
                                    at.end,
                                    format!("fields -: {r} is not a field shown here"),
                                );
                            };
                            cols.remove(i);
                            if !p.eat_sym(",") {
                                break;
                            }
                        }
                        if cols.is_empty() {
                            return err(cs, p.peek().start, "fields - removes every field shown");
                        }
                    } else {
                        let at = p.peek().start;
                        let (_, raws): (Vec<_>, Vec<_>) = p.read_fields()?.into_iter().unzip();
                        let end = p.peek().start;
                        renamed.extend(raws.iter().map(|r| (r.clone(), at, end)));
                        p.gone.extend(raws);
                    }
                } else {
                    p.eat_sym("+");
                    let (names, raw): (Vec<_>, Vec<_>) = p.read_fields()?.into_iter().unzip();
                    if let Some(r) = raw.iter().find(|r| renamed.iter().any(|(n, ..)| n == *r)) {
                        return err(
                            cs,
                            p.peek().start,
                            format!("{r} was renamed or removed: it is no field now"),
                        );
                    }
                    renamed.clear();
                    p.gone.clear();
                    add(
                        &mut pieces,
                        format!("fields {}", names.join(", ")),
                        false,
                        p.peek().start,
                    );
                    shown = Some(raw);
                }
            }
            "where" => {
                let e = p.expr()?;
                add(&mut pieces, format!("filter {e}"), false, p.peek().start);
            }
            "eval" => {
                let mut projs = Vec::new();
                loop {
                    let (n, r) = p.field()?;
                    p.expect_sym("=")?;
                    let e = p.expr()?;
                    projs.push(format!("{e} as {n}"));
                    p.make(r.clone());
                    if let Some(s) = shown.as_mut() {
                        if !s.contains(&r) {
                            s.push(r);
                        }
                    }
                    if !p.eat_sym(",") {
                        break;
                    }
                }
                add(
                    &mut pieces,
                    format!("fields {}", projs.join(", ")),
                    true,
                    p.peek().start,
                );
            }
            // The new name gets the value; the old one leaves the fields shown. Whole records
            // cannot lose a field here: a later `fields` or `stats` must choose what is shown.
            "rename" => {
                let mut projs = Vec::new();
                loop {
                    let at = p.peek().clone();
                    let (from, raw) = p.read_field()?;
                    if !p.eat_word("as") {
                        let t = p.peek();
                        return err(t.start, t.end.max(t.start + 1), "expected 'as'");
                    }
                    let (to, new) = p.field()?;
                    // (Over whole records the old name leaves the rows at the end.)
                    if shown.is_none() {
                        p.gone.push(raw.clone());
                    }
                    p.make(new.clone());
                    match shown.as_mut() {
                        Some(cols) => {
                            let Some(i) = cols.iter().position(|c| *c == raw) else {
                                return err(
                                    at.start,
                                    at.end,
                                    format!("rename: {raw} is not a field shown here"),
                                );
                            };
                            if cols.contains(&new) {
                                return err(
                                    at.start,
                                    at.end,
                                    format!("rename: {new} is already a field shown here"),
                                );
                            }
                            cols[i] = new;
                        }
                        None => renamed.push((raw, at.start, at.end)),
                    }
                    projs.push(format!("{from} as {to}"));
                    if !p.eat_sym(",") {
                        break;
                    }
                }
                add(
                    &mut pieces,
                    format!("fields {}", projs.join(", ")),
                    true,
                    p.peek().start,
                );
            }
            "stats" => {
                let (text, out) = stats(&mut p)?;
                let cols = out.cols;
                // Only the stats' columns exist after it.
                p.made = cols.clone();
                renamed.clear();
                p.gone.clear();
                add(&mut pieces, text, false, p.peek().start);
                shown = Some(cols);
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let desc = if p.eat_sym("-") {
                        true
                    } else {
                        p.eat_sym("+");
                        false
                    };
                    // `num(f)`, `str(f)`, `ip(f)`, `auto(f)`: how the field's values compare.
                    let how = ["num", "str", "ip", "auto"].into_iter().find(|w| {
                        p.at_word(w)
                            && matches!(p.toks.get(p.pos + 1).map(|t| &t.tok), Some(Tok::Sym("(")))
                    });
                    let key = match how {
                        Some(how) => {
                            p.pos += 2;
                            let (n, _) = p.read_field()?;
                            p.expect_sym(")")?;
                            match how {
                                "num" => format!("toNumber({n})"),
                                "str" => format!("ppl_str_key({n})"),
                                "ip" => format!("ipv4ToNumber({n})"),
                                _ => n,
                            }
                        }
                        None => p.read_field()?.0,
                    };
                    keys.push(format!("{key} {}", if desc { "desc" } else { "asc" }));
                    if !p.eat_sym(",") {
                        break;
                    }
                }
                add(
                    &mut pieces,
                    format!("sort {}", keys.join(", ")),
                    false,
                    p.peek().start,
                );
            }
            "head" => {
                let n = p.count_or_ten("head takes a positive whole number")?;
                let from = if p.eat_word("from") {
                    let t = p.next();
                    match &t.tok {
                        Tok::Num(m) => m.parse::<usize>().map_or_else(
                            |_| err(t.start, t.end, "head … from takes a whole number"),
                            Ok,
                        )?,
                        _ => {
                            return err(
                                t.start,
                                t.end.max(t.start + 1),
                                "expected a number after from",
                            )
                        }
                    }
                } else {
                    0
                };
                let Some(upto) = n.checked_add(from) else {
                    return err(cs, p.peek().start, "head … from is too large");
                };
                pieces.push(crate::translate::limit_piece(upto, cs, p.peek().start));
                if from > 0 {
                    ready(&mut pieces, Command::Skip(from), p.peek().start);
                }
            }
            "dedup" => {
                let keep = if matches!(p.peek().tok, Tok::Num(_)) {
                    p.count_or_ten("dedup keeps a positive whole number of events")?
                } else {
                    1
                };
                let (names, raws): (Vec<_>, Vec<_>) = p.read_fields()?.into_iter().unzip();
                let (mut keepempty, mut consecutive) = (false, false);
                while p.at_word("keepempty") || p.at_word("consecutive") {
                    let which = p.next();
                    p.expect_sym("=")?;
                    let t = p.next();
                    let v = match &t.tok {
                        Tok::Word(w) if w.eq_ignore_ascii_case("true") => true,
                        Tok::Word(w) if w.eq_ignore_ascii_case("false") => false,
                        _ => return err(t.start, t.end.max(t.start + 1), "expected true or false"),
                    };
                    if matches!(&which.tok, Tok::Word(w) if w.eq_ignore_ascii_case("keepempty")) {
                        keepempty = v;
                    } else {
                        consecutive = v;
                    }
                }
                if keep != 1 || keepempty || consecutive {
                    // Over the rows in their order at this point.
                    ready(
                        &mut pieces,
                        Command::Rows(RowCmd::Dedup {
                            keys: raws,
                            keep,
                            keepempty,
                            consecutive,
                            null_key: false,
                        }),
                        p.peek().start,
                    );
                } else {
                    // Events without one of the fields are dropped (keepempty=false).
                    let present: Vec<String> =
                        names.iter().map(|n| format!("ispresent({n})")).collect();
                    add(
                        &mut pieces,
                        format!("filter {}", present.join(" and ")),
                        false,
                        p.peek().start,
                    );
                    add(
                        &mut pieces,
                        format!("dedup {}", names.join(", ")),
                        false,
                        p.peek().start,
                    );
                }
            }
            "join" | "inner" | "left" | "right" | "full" | "cross" | "semi" | "anti" => {
                let inner = match cmd.as_str() {
                    "join" => true,
                    "inner" | "left" => {
                        let inner = cmd == "inner";
                        if !inner {
                            p.eat_word("outer");
                        }
                        if !p.eat_word("join") {
                            let t = p.peek();
                            return err(t.start, t.end.max(t.start + 1), "expected JOIN");
                        }
                        inner
                    }
                    _ => {
                        return err(
                            t.start,
                            t.end,
                            format!(
                                "{} joins are not supported yet (INNER and LEFT are)",
                                cmd.to_ascii_uppercase()
                            ),
                        )
                    }
                };
                if p.join.is_some() {
                    return err(t.start, t.end, "only one join is supported per query");
                }
                let (text, aliases, more) = ppl_join(&mut p, inner, cs)?;
                add(&mut pieces, text, false, p.peek().start);
                if let Some(cond) = more {
                    add(&mut pieces, format!("filter {cond}"), false, p.peek().start);
                }
                // The joined rows carry every field of both sides, named `<alias>.<field>`.
                shown = None;
                renamed.clear();
                p.gone.clear();
                p.join = Some(aliases);
                p.made.clear();
            }
            // Each row gets the aggregates of its group over every row at this point: a
            // subquery of the commands so far and the `stats` runs first, and its rows feed a
            // lookup by the `by` fields.
            // A second eventstats, or one after a join, a subsearch or an appendcol: computed
            // over the rows held at that point, as windows over each group.
            "eventstats"
                if eventstats.is_some()
                    || p.join.is_some()
                    || !p.subsearches.is_empty()
                    || !p.scalars.is_empty()
                    || !p.appended.is_empty() =>
            {
                let (scalars, subs) = (p.scalars.len(), p.subsearches.len());
                let (text, out) = stats(&mut p)?;
                if p.scalars.len() > scalars || p.subsearches.len() > subs {
                    return err(
                        t.start,
                        p.peek().start,
                        "a subsearch in eventstats is not supported yet",
                    );
                }
                windowed_eventstats += 1;
                let cmds = eventstats_windows(&text, windowed_eventstats, cs, p.peek().start)?;
                for c in cmds {
                    ready(&mut pieces, c, p.peek().start);
                }
                let outputs = out.cols[..out.aggregates].to_vec();
                if let Some(cols) = shown.as_mut() {
                    for o in &outputs {
                        if !cols.contains(o) {
                            cols.push(o.clone());
                        }
                    }
                }
                p.made.extend(outputs.iter().cloned());
            }
            "eventstats" => {
                let scalars = p.scalars.len();
                let (text, out) = stats(&mut p)?;
                if p.scalars.len() > scalars || !p.subsearches.is_empty() {
                    return err(
                        t.start,
                        p.peek().start,
                        "a subsearch in eventstats is not supported yet",
                    );
                }
                let mut keys = Vec::new();
                for (col, field) in &out.by {
                    let field = match (field, &out.span) {
                        (Some(f), _) => f.clone(),
                        // Each row computes its span as the subquery's `stats` did, under a
                        // hidden name.
                        (None, Some(expr)) => {
                            let hidden = format!("{}es_span", crate::translate::PLACEHOLDER);
                            add(
                                &mut pieces,
                                format!("fields {expr} as {}", name(&hidden, 0, 0)?),
                                true,
                                p.peek().start,
                            );
                            hidden
                        }
                        (None, None) => {
                            return err(
                                t.start,
                                p.peek().start,
                                "eventstats: a key without a field",
                            )
                        }
                    };
                    keys.push((col.clone(), crate::ast::Expr::Field(field)));
                }
                let mut inner = pieces.clone();
                inner.push(Piece {
                    text,
                    eval: false,
                    ready: None,
                    start: cs,
                    end: p.peek().start,
                });
                eventstats = Some(crate::translate::assemble(&inner, chars.len())?);
                let outputs = out.cols[..out.aggregates].to_vec();
                if let Some(cols) = shown.as_mut() {
                    for o in &outputs {
                        if !cols.contains(o) {
                            cols.push(o.clone());
                        }
                    }
                }
                p.made.extend(outputs.iter().cloned());
                ready(
                    &mut pieces,
                    Command::Lookup(Box::new(crate::ast::LookupCmd {
                        table: "eventstats".into(),
                        keys,
                        outputs,
                        data: None,
                        from_sub: Some(0),
                        into: Vec::new(),
                    })),
                    p.peek().start,
                );
            }
            // (The approximate forms answer exactly: an exact answer is within any bound.)
            "top" | "rare" | "top_approx" | "rare_approx" => {
                let (stats, sort, cols, n, by) = top_rare(&mut p, cmd.starts_with("top"), cs)?;
                p.made = cols.clone();
                renamed.clear();
                p.gone.clear();
                add(&mut pieces, stats, false, p.peek().start);
                add(&mut pieces, sort, false, p.peek().start);
                if by.is_empty() {
                    pieces.push(crate::translate::limit_piece(n, cs, p.peek().start));
                } else {
                    // n rows for each combination of the `by` fields' values.
                    ready(
                        &mut pieces,
                        Command::Rows(RowCmd::Dedup {
                            keys: by,
                            keep: n,
                            keepempty: true,
                            consecutive: false,
                            null_key: true,
                        }),
                        p.peek().start,
                    );
                }
                shown = Some(cols);
            }
            "flatten" => {
                let (_, raw) = p.read_field()?;
                let mut aliases = Vec::new();
                if p.eat_word("as") {
                    if p.eat_sym("(") {
                        loop {
                            aliases.push(p.field()?.1);
                            if !p.eat_sym(",") {
                                break;
                            }
                        }
                        p.expect_sym(")")?;
                    } else {
                        aliases.push(p.field()?.1);
                    }
                }
                if let Some(cols) = shown.as_mut() {
                    // The object's keys are known only from the data: shown fields need names.
                    if aliases.is_empty() {
                        return err(
                            cs,
                            p.peek().start,
                            "flatten after fields or stats needs as (names) for the fields it makes",
                        );
                    }
                    let at = cols.iter().position(|c| *c == raw).unwrap_or(cols.len());
                    cols.retain(|c| *c != raw);
                    for (i, a) in aliases.iter().enumerate() {
                        if !cols.contains(a) {
                            cols.insert((at + i).min(cols.len()), a.clone());
                        }
                    }
                }
                p.made.extend(aliases.iter().cloned());
                ready(
                    &mut pieces,
                    Command::Rows(RowCmd::Flatten {
                        field: raw,
                        aliases,
                    }),
                    p.peek().start,
                );
            }
            "fieldsummary" => {
                let (stats, fields, cols) = field_summary(&mut p, cs)?;
                p.made = cols.clone();
                renamed.clear();
                p.gone.clear();
                add(&mut pieces, stats, false, p.peek().start);
                add(&mut pieces, fields, false, p.peek().start);
                shown = Some(cols);
                if p.at_sym("|") {
                    let t = p.peek();
                    return err(
                        t.start,
                        t.end,
                        "fieldsummary is the last command of a query",
                    );
                }
            }
            "fillnull" => {
                let mut fills: Vec<(String, String, String)> = Vec::new();
                let fields = |p: &mut Parser<'_>, value: &str, fills: &mut Vec<_>| -> R<()> {
                    for (n, r) in p.read_fields()? {
                        fills.push((n, r, value.to_string()));
                    }
                    Ok(())
                };
                if p.eat_word("with") {
                    let v = p.additive()?;
                    if !p.eat_word("in") {
                        let t = p.peek();
                        return err(
                            t.start,
                            t.end.max(t.start + 1),
                            "expected 'in' and the fields to fill",
                        );
                    }
                    fields(&mut p, &v, &mut fills)?;
                } else if p.eat_word("using") {
                    loop {
                        let (n, r) = p.read_field()?;
                        p.expect_sym("=")?;
                        let v = p.additive()?;
                        fills.push((n, r, v));
                        if !p.eat_sym(",") {
                            break;
                        }
                    }
                } else if p.at_word("value")
                    && matches!(p.toks.get(p.pos + 1).map(|t| &t.tok), Some(Tok::Sym("=")))
                {
                    p.pos += 2;
                    let v = p.additive()?;
                    fields(&mut p, &v, &mut fills)?;
                } else {
                    let t = p.peek();
                    return err(
                        t.start,
                        t.end.max(t.start + 1),
                        "expected fillnull with <value> in <fields>, fillnull using <field> = <value>, … or fillnull value=<value> <fields>",
                    );
                }
                let mut projs: Vec<String> = Vec::new();
                for (n, _, v) in &fills {
                    let text = format!("coalesce({n}, {v}) as {n}");
                    crate::translate::spend(text.len(), cs, p.peek().start)?;
                    projs.push(text);
                }
                // As PPL has it, the filled fields move to the end of those shown.
                if let Some(cols) = shown.as_mut() {
                    for (_, r, _) in &fills {
                        cols.retain(|c| c != r);
                        cols.push(r.clone());
                    }
                }
                add(
                    &mut pieces,
                    format!("fields {}", projs.join(", ")),
                    true,
                    p.peek().start,
                );
            }
            "parse" | "grok" => {
                let (n, _) = p.read_field()?;
                let t = p.next();
                if !matches!(t.tok, Tok::Str(_)) {
                    return err(
                        t.start,
                        t.end.max(t.start + 1),
                        format!("{cmd} takes a pattern in quotes"),
                    );
                }
                // The pattern as written: only the quotes are unescaped (`\d` stays `\d`).
                let mut pattern = raw_string(&chars[t.start..t.end]);
                if cmd == "grok" {
                    // (Offsets inside the pattern count from after its opening quote; quotes
                    // written doubled or escaped make them approximate.)
                    pattern = crate::grok::expand(&pattern).or_else(|(m, s, e)| {
                        err(
                            (t.start + 1 + s).min(t.end),
                            (t.start + 1 + e).min(t.end),
                            m,
                        )
                    })?;
                }
                let groups: Vec<String> = match regex::Regex::new(&pattern) {
                    Ok(re) => re.capture_names().flatten().map(str::to_string).collect(),
                    Err(e) => {
                        return err(
                            t.start,
                            t.end,
                            format!("{cmd}'s pattern is not a valid regular expression: {e}"),
                        )
                    }
                };
                if groups.is_empty() {
                    return err(
                        t.start,
                        t.end,
                        format!("{cmd}'s pattern names no group: (?<name>…)"),
                    );
                }
                p.made.extend(groups.iter().cloned());
                if let Some(cols) = shown.as_mut() {
                    for g in &groups {
                        if !cols.contains(g) {
                            cols.push(g.clone());
                        }
                    }
                }
                add(
                    &mut pieces,
                    format!("parse {n} /{}/", regex_literal(&pattern)),
                    false,
                    p.peek().start,
                );
            }
            "trendline" => {
                let sorted = p.at_word("sort");
                if p.eat_word("sort") {
                    let desc = if p.eat_sym("-") {
                        true
                    } else {
                        p.eat_sym("+");
                        false
                    };
                    let (n, _) = p.read_field()?;
                    add(
                        &mut pieces,
                        format!("sort {n} {}", if desc { "desc" } else { "asc" }),
                        false,
                        p.peek().start,
                    );
                }
                loop {
                    let t = p.next();
                    let weighted = match &t.tok {
                        Tok::Word(w) if w.eq_ignore_ascii_case("sma") => false,
                        Tok::Word(w) if w.eq_ignore_ascii_case("wma") => {
                            if !sorted {
                                return err(
                                    t.start,
                                    t.end,
                                    "trendline's wma needs a sort: trendline sort <field> wma(n, field)",
                                );
                            }
                            true
                        }
                        _ => {
                            return err(
                                t.start,
                                t.end.max(t.start + 1),
                                "expected sma(n, field) or wma(n, field)",
                            )
                        }
                    };
                    p.expect_sym("(")?;
                    let nt = p.next();
                    let n = match &nt.tok {
                        Tok::Num(x) => x.parse::<usize>().ok().filter(|n| (1..=10_000).contains(n)),
                        _ => None,
                    };
                    let Some(n) = n else {
                        return err(
                            nt.start,
                            nt.end.max(nt.start + 1),
                            "sma and wma take a whole number of rows from 1 to 10000",
                        );
                    };
                    p.expect_sym(",")?;
                    let (_, field) = p.read_field()?;
                    p.expect_sym(")")?;
                    let out = if p.eat_word("as") {
                        p.field()?.1
                    } else {
                        format!("{field}_trendline")
                    };
                    p.make(out.clone());
                    if let Some(cols) = shown.as_mut() {
                        if !cols.contains(&out) {
                            cols.push(out.clone());
                        }
                    }
                    ready(
                        &mut pieces,
                        Command::Rows(RowCmd::Trendline {
                            n,
                            field,
                            out,
                            weighted,
                        }),
                        p.peek().start,
                    );
                    if !(p.at_word("sma") || p.at_word("wma")) {
                        break;
                    }
                }
            }
            "expand" => {
                let (n, raw) = p.read_field()?;
                add(&mut pieces, format!("expand {n}"), false, p.peek().start);
                if p.eat_word("as") {
                    let at = p.peek().clone();
                    let (to, alias) = p.field()?;
                    let _ = at;
                    let whole = shown.is_none();
                    if whole {
                        p.gone.push(raw.clone());
                    }
                    p.make(alias.clone());
                    if let Some(cols) = shown.as_mut() {
                        match cols.iter().position(|c| *c == raw) {
                            Some(i) => cols[i] = alias,
                            None => cols.push(alias),
                        }
                    }
                    add(
                        &mut pieces,
                        format!("fields {n} as {to}"),
                        true,
                        p.peek().start,
                    );
                }
            }
            // `appendcol [override=bool] [ commands ]`: the sub-search's rows (over the same
            // records) laid over the query's, row by row.
            "appendcol" => {
                let mut overwrite = false;
                if p.eat_word("override") {
                    p.expect_sym("=")?;
                    let v = p.next();
                    overwrite = match &v.tok {
                        Tok::Word(w) if w.eq_ignore_ascii_case("true") => true,
                        Tok::Word(w) if w.eq_ignore_ascii_case("false") => false,
                        _ => return err(v.start, v.end.max(v.start + 1), "expected true or false"),
                    };
                }
                let open = p.next();
                if !matches!(open.tok, Tok::Sym("[")) {
                    return err(
                        open.start,
                        open.end.max(open.start + 1),
                        "appendcol takes its sub-search in brackets: appendcol [ stats count() by x ]",
                    );
                }
                let close = p.closing_bracket(&open)?;
                let (from, to) = (open.end, p.toks[close].start);
                let inner: String = chars[from..to].iter().collect();
                let (query, sub_shown) = translate_shown(&inner).map_err(|e| QueryError {
                    start: e.start + from,
                    end: e.end + from,
                    message: e.message,
                })?;
                let Some(columns) = sub_shown else {
                    return err(
                        from,
                        to,
                        "the appendcol sub-search must choose its fields (fields or stats)",
                    );
                };
                if !query.subs.is_empty() || query.join.is_some() {
                    return err(
                        from,
                        to,
                        "an appendcol sub-search holds no subsearch, eventstats, appendcol or join",
                    );
                }
                p.pos = close + 1;
                let k = p.appended.len();
                p.appended.push(query);
                if let Some(cols) = shown.as_mut() {
                    for c in &columns {
                        if !cols.contains(c) {
                            cols.push(c.clone());
                        }
                    }
                }
                for c in &columns {
                    p.make(c.clone());
                }
                ready(
                    &mut pieces,
                    Command::Rows(RowCmd::AppendCols {
                        sub: APPEND_MARK + k,
                        overwrite,
                        columns,
                        rows: None,
                    }),
                    p.peek().start,
                );
            }
            "search" | "source" => {
                return err(
                    t.start,
                    t.end,
                    format!("{cmd} is not supported yet: give the log groups in the request"),
                )
            }
            other => {
                return err(
                    t.start,
                    t.end,
                    format!("the PPL command {other} is not supported yet"),
                )
            }
        }
        if !p.at_end() {
            let t = p.peek();
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected '|' or the end of the query",
            );
        }
        if p.eat_sym("|") && matches!(p.peek().tok, Tok::Eof) {
            let t = p.peek();
            return err(t.start, t.end, "expected a PPL command after '|'");
        }
    }
    // Whole records lose the fields removed or renamed away, once everything else has run
    // (a row-preserving step: the row limit still bounds the records held).
    if shown.is_none() && !p.gone.is_empty() {
        pieces.push(Piece {
            text: "limit 1".into(),
            eval: false,
            ready: Some(Command::Rows(RowCmd::Drop(std::mem::take(&mut p.gone)))),
            start: chars.len(),
            end: chars.len(),
        });
    }
    if let Some(cols) = &shown {
        let names = cols
            .iter()
            .map(|c| name(c, 0, chars.len()))
            .collect::<R<Vec<_>>>()?;
        pieces.push(Piece {
            text: format!("display {}", names.join(", ")),
            eval: false,
            ready: None,
            start: chars.len(),
            end: chars.len(),
        });
    }
    let mut query = crate::translate::assemble(&pieces, chars.len())?;
    // A join's subsearch replaces the right side's plain read of its log group.
    if let (Some(side), Some(j)) = (p.join_side.take(), query.join.as_mut()) {
        j.query = Some(Box::new(side));
    }
    // Each subsearch's placeholder subquery takes its translated query.
    if query.subs.len() != p.subsearches.len() {
        return err(0, chars.len(), "the query could not be translated");
    }
    for (sub, inner) in query
        .subs
        .iter_mut()
        .zip(std::mem::take(&mut p.subsearches))
    {
        sub.query = inner;
    }
    // Scalar subsearches run first; their value replaces `ppl_scalar(j)`.
    for (j, (inner, field, group)) in std::mem::take(&mut p.scalars).into_iter().enumerate() {
        query.subs.push(crate::SubQuery {
            source: Some(crate::Source {
                names: vec![group],
                ..crate::Source::default()
            }),
            query: inner,
            field,
            append: None,
            eventstats: false,
            union: false,
            tuple: false,
            into: None,
            scalar: Some(j),
        });
    }
    // `appendcol` sub-searches run first over the query's own log groups.
    for (k, inner) in std::mem::take(&mut p.appended).into_iter().enumerate() {
        query.retarget_appendcols(APPEND_MARK + k, query.subs.len());
        query.subs.push(crate::SubQuery {
            source: None,
            query: inner,
            field: String::new(),
            append: Some(APPEND_MAX_ROWS),
            eventstats: false,
            union: false,
            tuple: false,
            into: None,
            scalar: None,
        });
    }
    if let Some(inner) = eventstats {
        query.set_eventstats_sub(query.subs.len());
        query.subs.push(crate::SubQuery {
            source: None,
            query: inner,
            field: String::new(),
            append: None,
            eventstats: true,
            union: false,
            tuple: false,
            into: None,
            scalar: None,
        });
    }
    Ok((query, shown))
}

/// An `eventstats` over the rows held at its point, as windows: `text` is its Logs Insights
/// `stats` (its aggregates, items and `by` keys), `k` numbers it among the windowed ones (for
/// its hidden fields). Each aggregate is a window over the rows of equal keys; each item is
/// then set from them, on the rows having every key (a row missing one gets no aggregates, as
/// the first `eventstats` gives none).
fn eventstats_windows(text: &str, k: usize, start: usize, end: usize) -> R<Vec<Command>> {
    use crate::ast::{Expr, Proj, RowCmd, WindowAgg as W, WindowFn};
    let place = |e: QueryError| QueryError {
        start,
        end,
        message: e.message,
    };
    let (cmds, ..) = crate::parser::parse_query(text, true).map_err(place)?;
    let Some(Command::Stats(st)) = cmds.into_iter().next() else {
        return err(start, end, "eventstats: expected aggregates");
    };
    let hidden = |what: &str, j: usize| format!("{}es{k}{what}{j}", crate::translate::PLACEHOLDER);
    let mut out = Vec::new();
    let mut evals = Vec::new();
    let field_of = |e: &Expr, what: &str, j: usize, evals: &mut Vec<Proj>| match e {
        Expr::Field(f) => f.clone(),
        other => {
            let n = hidden(what, j);
            evals.push(Proj {
                expr: other.clone(),
                name: n.clone(),
            });
            n
        }
    };
    let keys: Vec<String> = st
        .by
        .iter()
        .enumerate()
        .map(|(j, b)| field_of(&b.expr, "k", j, &mut evals))
        .collect();
    let mut windows = Vec::new();
    let mut one_value = Vec::new();
    for (j, a) in st.aggs.iter().enumerate() {
        use crate::ast::AggKind as K;
        let kind = match a.kind {
            K::Count | K::CountStar => W::Count,
            K::Sum => W::Sum,
            K::Avg => W::Avg,
            K::Min => W::Min,
            K::Max => W::Max,
            K::Stddev => W::StddevSamp,
            other => {
                let what = match other {
                    K::CountDistinct => "dc/distinct_count".to_string(),
                    K::Pct | K::Percentile => "percentile".to_string(),
                    other => format!("{other:?}").to_ascii_lowercase(),
                };
                return err(
                    start,
                    end,
                    format!("{what} in a second eventstats, or one after a join, a subsearch or an appendcol, is not supported yet (count, sum, avg, min, max and the deviations and variances are)"),
                );
            }
        };
        let field = match (&a.arg, a.kind) {
            (_, K::CountStar) | (None, _) | (Some(Expr::Star), _) => None,
            (Some(e), _) => Some(field_of(e, "a", j, &mut evals)),
        };
        // (`stats`' deviation of one value is 0: the window's NULL is made 0 by its count.)
        if kind == W::StddevSamp {
            windows.push(RowCmd::Window {
                func: WindowFn::Agg {
                    kind: W::Count,
                    field: field.clone(),
                },
                partition: keys.clone(),
                order: Vec::new(),
                frame: None,
                out: hidden("n", j),
            });
            one_value.push(j);
        }
        windows.push(RowCmd::Window {
            func: WindowFn::Agg { kind, field },
            partition: keys.clone(),
            order: Vec::new(),
            frame: None,
            out: hidden("g", j),
        });
    }
    if !evals.is_empty() {
        out.push(Command::Eval(evals));
    }
    out.extend(windows.into_iter().map(Command::Rows));
    // The items over the windows' values, on rows having every key.
    let present = keys
        .iter()
        .map(|f| Expr::Call {
            name: "ispresent".into(),
            args: vec![Expr::Field(f.clone())],
            text: String::new(),
        })
        .reduce(|a, b| Expr::Bin(crate::ast::BinOp::And, Box::new(a), Box::new(b)));
    let items = st
        .items
        .iter()
        .map(|it| {
            let mut e = it.expr.clone();
            crate::exec::walk_mut(&mut e, &mut |x| match x {
                Expr::AggRef(j) if one_value.contains(j) => {
                    *x = Expr::Call {
                        name: "if".into(),
                        args: vec![
                            Expr::Bin(
                                crate::ast::BinOp::Eq,
                                Box::new(Expr::Field(hidden("n", *j))),
                                Box::new(Expr::Num(1.0)),
                            ),
                            Expr::Num(0.0),
                            Expr::Field(hidden("g", *j)),
                        ],
                        text: String::new(),
                    };
                    true
                }
                Expr::AggRef(j) => {
                    *x = Expr::Field(hidden("g", *j));
                    true
                }
                _ => false,
            });
            let expr = match &present {
                Some(c) => Expr::Call {
                    name: "if".into(),
                    args: vec![
                        c.clone(),
                        e,
                        Expr::Call {
                            name: "ppl_nullif".into(),
                            args: vec![Expr::Num(0.0), Expr::Num(0.0)],
                            text: String::new(),
                        },
                    ],
                    text: String::new(),
                },
                None => e,
            };
            Proj {
                expr,
                name: it.name.clone(),
            }
        })
        .collect();
    out.push(Command::Eval(items));
    Ok(out)
}

/// What a `stats` shows: its columns, how many of them are aggregates (the first), and per
/// `by` field its (column, field read) — the span has no field.
struct StatsOut {
    cols: Vec<String>,
    aggregates: usize,
    by: Vec<(String, Option<String>)>,
    /// The span's expression, as a row can compute it too (`bin(5m)`).
    span: Option<String>,
}

/// `stats …` after its keyword: the Logs Insights command and the columns it shows.
fn stats(p: &mut Parser<'_>) -> R<(String, StatsOut)> {
    let mut items = Vec::new();
    let mut cols = Vec::new();
    loop {
        let from = p.pos;
        let t = p.next();
        let Tok::Word(f) = &t.tok else {
            return err(
                t.start,
                t.end.max(t.start + 1),
                "expected an aggregate function",
            );
        };
        let lower = f.to_ascii_lowercase();
        if matches!(lower.as_str(), "var_samp" | "var_pop" | "stddev_pop") {
            let args = p.list()?;
            let [x] = args.as_slice() else {
                return err(t.start, t.end, format!("{f} takes 1 argument(s)"));
            };
            let call = crate::translate::variance(&lower, x).unwrap_or_default();
            let text = p.source(from);
            let col = if p.eat_word("as") { p.field()?.1 } else { text };
            items.push(format!("{call} as {}", name(&col, t.start, t.end)?));
            cols.push(col);
            if !p.eat_sym(",") {
                break;
            }
            continue;
        }
        let Some(&(_, ours, arity)) = AGGREGATES.iter().find(|(a, ..)| *a == lower) else {
            return err(
                t.start,
                t.end,
                format!("the PPL aggregate {f} is not supported yet"),
            );
        };
        let args = p.list()?;
        let call = match (lower.as_str(), args.len()) {
            ("count", 0) => "count(*)".to_string(),
            // `take(field[, size])`: 10 values by default.
            ("take", 1) => format!("ppl_take({}, 10)", args[0]),
            (_, n) if n == arity => format!("{ours}({})", args.join(", ")),
            _ => return err(t.start, t.end, format!("{f} takes {arity} argument(s)")),
        };
        let text = p.source(from);
        let col = if p.eat_word("as") { p.field()?.1 } else { text };
        items.push(format!("{call} as {}", name(&col, t.start, t.end)?));
        cols.push(col);
        if !p.eat_sym(",") {
            break;
        }
    }
    let mut by = Vec::new();
    let mut by_cols = Vec::new();
    let mut by_read = Vec::new();
    let mut span_col = None;
    let mut span_expr: Option<String> = None;
    if p.eat_word("by") {
        loop {
            let from = p.pos;
            if p.at_word("span")
                && matches!(p.toks.get(p.pos + 1).map(|t| &t.tok), Some(Tok::Sym("(")))
            {
                let t = p.next();
                p.expect_sym("(")?;
                let (field, raw) = p.read_field()?;
                p.expect_sym(",")?;
                let it = p.next();
                let (n, unit) = match &it.tok {
                    Tok::Num(n) => (n.clone(), String::new()),
                    Tok::Word(w) => {
                        let d = w
                            .find(|c: char| !c.is_ascii_digit() && c != '.')
                            .unwrap_or(w.len());
                        (w[..d].to_string(), w[d..].to_string())
                    }
                    _ => return err(it.start, it.end.max(it.start + 1), "expected a span length"),
                };
                p.expect_sym(")")?;
                let length = n.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0);
                let Some(length) = length else {
                    return err(it.start, it.end, "a span's length is a positive number");
                };
                if raw == "@timestamp" && unit.is_empty() {
                    return err(
                        it.start,
                        it.end,
                        "a span over @timestamp takes a unit (ms, s, m, h, d, w, M, q, y)",
                    );
                }
                if !unit.is_empty() && length.fract() != 0.0 {
                    return err(it.start, it.end, "a time span's length is a whole number");
                }
                let n = crate::value::fmt_num(length);
                let expr = if unit.is_empty() {
                    format!("floor({field} / {n}) * {n}")
                } else {
                    let Some(&(_, u)) = SPAN_UNITS.iter().find(|(s, _)| *s == unit) else {
                        return err(it.start, it.end, format!("unknown span unit {unit}"));
                    };
                    if raw == "@timestamp" {
                        format!("bin({n}{u})")
                    } else {
                        // Another field holding a time (text read as the date functions read
                        // it): the start of its period.
                        format!("dateFloor(ppl_timestamp({field}), {n}{u})")
                    }
                };
                let text = p.source(from);
                let col = if p.eat_word("as") { p.field()?.1 } else { text };
                if span_col.is_some() {
                    return err(t.start, it.end, "stats takes one span");
                }
                span_col = Some(col.clone());
                span_expr = Some(expr.clone());
                by_read.push((col.clone(), None));
                by.push(format!("{expr} as {}", name(&col, t.start, it.end)?));
            } else if matches!(&p.peek().tok, Tok::Word(_))
                && matches!(p.toks.get(p.pos + 1).map(|t| &t.tok), Some(Tok::Sym("(")))
            {
                // A scalar function of the fields: its value is the key, named as written.
                let e = p.expr()?;
                let text = p.source(from);
                let col = if p.eat_word("as") { p.field()?.1 } else { text };
                by.push(format!("{e} as {}", name(&col, 0, 0)?));
                by_read.push((col.clone(), None));
                by_cols.push(col);
            } else {
                let (n, raw) = p.read_field()?;
                let col = if p.eat_word("as") {
                    p.field()?.1
                } else {
                    raw.clone()
                };
                by.push(if col == raw {
                    n
                } else {
                    format!("{n} as {}", name(&col, 0, 0)?)
                });
                by_read.push((col.clone(), Some(raw)));
                by_cols.push(col);
            }
            if !p.eat_sym(",") {
                break;
            }
        }
    }
    let aggregates = cols.len();
    cols.extend(span_col);
    cols.extend(by_cols);
    let mut text = format!("stats {}", items.join(", "));
    if !by.is_empty() {
        text.push_str(" by ");
        text.push_str(&by.join(", "));
    }
    Ok((
        text,
        StatsOut {
            cols,
            aggregates,
            by: by_read,
            span: span_expr,
        },
    ))
}

/// `top`/`rare` after its keyword: `[N] fields [by fields]` as a Logs Insights `stats` and
/// `sort`, the columns shown and N (10 by default). As OpenSearch's engine for PPL answers
/// them: a `count_<field>` per field first, then the fields, then the `by` fields; the most
/// (top) or least (rare) frequent combinations first over all groups, ties by the fields'
/// values ascending.
/// `top`/`rare`: the `stats` text, the `sort` text, the columns, the row count and the `by`
/// fields (the count applies to each combination of their values).
#[allow(clippy::type_complexity)]
fn top_rare(
    p: &mut Parser<'_>,
    top: bool,
    cs: usize,
) -> R<(String, String, Vec<String>, usize, Vec<String>)> {
    let n = p.count_or_ten("expected a positive whole number of rows")?;
    let fields = p.read_fields()?;
    let by = if p.eat_word("by") {
        p.read_fields()?
    } else {
        Vec::new()
    };
    let mut items = Vec::new();
    let mut cols = Vec::new();
    let mut order = Vec::new();
    let dir = if top { "desc" } else { "asc" };
    for (f, raw) in &fields {
        let col = format!("count_{raw}");
        if fields.iter().chain(&by).any(|(_, r)| *r == col) {
            return err(
                cs,
                p.peek().start,
                format!(
                    "{col} is both a field and the count column of {raw}: rename the field first"
                ),
            );
        }
        let c = name(&col, 0, 0)?;
        items.push(format!("count({f}) as {c}"));
        order.push(format!("{c} {dir}"));
        cols.push(col);
    }
    let keys: Vec<&String> = fields.iter().chain(&by).map(|(n, _)| n).collect();
    cols.extend(fields.iter().chain(&by).map(|(_, r)| r.clone()));
    // The groups in order, then every count column, then the values (ties).
    let groups: Vec<String> = by.iter().map(|(n, _)| format!("{n} asc")).collect();
    order.extend(fields.iter().map(|(n, _)| format!("{n} asc")));
    let order: Vec<String> = groups.into_iter().chain(order).collect();
    let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    Ok((
        format!("stats {} by {}", items.join(", "), keys.join(", ")),
        format!("sort {}", order.join(", ")),
        cols,
        n,
        by.into_iter().map(|(_, r)| r).collect(),
    ))
}

/// `fieldsummary includefields=<field> [nulls=true|false]`: one row of the field's statistics,
/// as OpenSearch's engine names them — `Field`, `COUNT` (records with a value), `DISTINCT`,
/// `MIN`, `MAX`, `AVG`, `MEAN`, `STDDEV` (sample), `Nulls` (records without one) and `TYPEOF`;
/// with `nulls=true` the averages and deviation count a missing value as 0. Returns the
/// `stats` text, the text of the `fields` completing the row, and the columns.
fn field_summary(p: &mut Parser<'_>, cs: usize) -> R<(String, String, Vec<String>)> {
    let mut field = None;
    let mut nulls = false;
    loop {
        if p.at_word("includefields") {
            let t = p.next();
            if field.is_some() {
                return err(
                    t.start,
                    t.end,
                    "CloudWatch Logs summarizes one field per fieldsummary query",
                );
            }
            p.expect_sym("=")?;
            let f = p.read_field()?;
            if p.at_sym(",") {
                let t = p.peek();
                return err(
                    t.start,
                    t.end,
                    "CloudWatch Logs summarizes one field per fieldsummary query",
                );
            }
            field = Some(f);
        } else if p.eat_word("nulls") {
            p.expect_sym("=")?;
            let t = p.next();
            nulls = match &t.tok {
                Tok::Word(w) if w.eq_ignore_ascii_case("true") => true,
                Tok::Word(w) if w.eq_ignore_ascii_case("false") => false,
                _ => return err(t.start, t.end.max(t.start + 1), "expected true or false"),
            };
        } else {
            break;
        }
    }
    let Some((f, raw)) = field else {
        return err(
            cs,
            p.peek().start.max(cs + 1),
            "fieldsummary needs includefields=<field>",
        );
    };
    let arg = if nulls {
        format!("coalesce({f}, 0)")
    } else {
        f.clone()
    };
    let hidden = |n: &str| name(&format!("{}fs_{n}", crate::translate::PLACEHOLDER), 0, 0);
    let (all, num, int, int32) = (
        hidden("all")?,
        hidden("num")?,
        hidden("int")?,
        hidden("int32")?,
    );
    let c = |n: &str| name(n, 0, 0);
    let (count, distinct, min, max) = (c("COUNT")?, c("DISTINCT")?, c("MIN")?, c("MAX")?);
    let (avg, mean, stddev) = (c("AVG")?, c("MEAN")?, c("STDDEV")?);
    let whole = format!("isnumeric({f}) and {f} = floor({f})");
    let stats = format!(
        "stats count({f}) as {count}, count_distinct({f}) as {distinct}, sortsFirst({f}) as {min}, \
         sortsLast({f}) as {max}, avg({arg}) as {avg}, avg({arg}) as {mean}, stddev({arg}) as {stddev}, \
         count(*) as {all}, sum(if(isnumeric({f}), 1, 0)) as {num}, sum(if({whole}, 1, 0)) as {int}, \
         sum(if({whole} and {f} >= -2147483648 and {f} <= 2147483647, 1, 0)) as {int32}"
    );
    let fields = format!(
        "fields {} as {}, {all} - {count} as {}, if({count} = 0, \"void\", if({num} < {count}, \"string\", \
         if({int} < {count}, \"double\", if({int32} < {count}, \"bigint\", \"int\")))) as {}",
        crate::translate::string(&raw),
        c("Field")?,
        c("Nulls")?,
        c("TYPEOF")?
    );
    let cols = [
        "Field", "COUNT", "DISTINCT", "MIN", "MAX", "AVG", "MEAN", "STDDEV", "Nulls", "TYPEOF",
    ]
    .map(String::from)
    .to_vec();
    Ok((stats, fields, cols))
}

/// A quoted token's text as OpenSearch PPL reads a pattern: the quotes taken off and doubled
/// or backslash-escaped quotes undone; every other backslash stays (`\d` is `\d`).
fn raw_string(token: &[char]) -> String {
    let q = token[0];
    let inner = &token[1..token.len() - 1];
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        match (inner[i], inner.get(i + 1)) {
            ('\\', Some(&c)) if c == q => {
                out.push(q);
                i += 2;
            }
            // Any other escape stays as written, both characters (so `\\` before a quote
            // does not take the quote).
            ('\\', Some(&c)) => {
                out.push('\\');
                out.push(c);
                i += 2;
            }
            (c, Some(&d)) if c == q && d == q => {
                out.push(q);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A pattern written as a Logs Insights `/regex/` literal: bare slashes escaped.
fn regex_literal(pattern: &str) -> String {
    let mut out = String::new();
    let mut cs = pattern.chars();
    while let Some(c) = cs.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(d) = cs.next() {
                    out.push(d);
                }
            }
            '/' => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    out
}

/// A join after its keyword(s): `[left = l, right = r] ON l.k = r.k <log group>` as a Logs
/// Insights `join` (its text) and the two aliases. Both aliases and one equality between a
/// field of each side are needed; the right side is one log group (a subsearch is not yet).
/// The Logs Insights `join`, the two aliases, and the further conditions of an inner join (a
/// `filter` over the joined rows).
#[allow(clippy::type_complexity)]
/// A join's right side, read ahead from `ON`: its log group and `AS` alias, the last words
/// before the next `|` at this level.
fn join_right_side(p: &Parser<'_>) -> (Option<String>, Option<String>) {
    let mut depth = 0usize;
    let mut end = p.pos;
    while let Some(t) = p.toks.get(end) {
        match &t.tok {
            Tok::Eof => break,
            Tok::Sym("|") if depth == 0 => break,
            Tok::Sym("(" | "[") => depth += 1,
            Tok::Sym(")" | "]") => depth = depth.saturating_sub(1),
            _ => {}
        }
        end += 1;
    }
    let word = |i: usize| match p.toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w) | Tok::Quoted(w)) => Some(w.clone()),
        _ => None,
    };
    if end >= p.pos + 3 && word(end - 2).is_some_and(|w| w.eq_ignore_ascii_case("as")) {
        return (word(end - 3), word(end - 1));
    }
    (end.checked_sub(1).and_then(word), None)
}

fn ppl_join(
    p: &mut Parser<'_>,
    inner: bool,
    cs: usize,
) -> R<(String, (String, String), Option<String>)> {
    let (mut left, mut right) = (None, None);
    while (p.at_word("left") || p.at_word("right"))
        && matches!(p.toks.get(p.pos + 1).map(|t| &t.tok), Some(Tok::Sym("=")))
    {
        let side = p.next();
        p.pos += 1;
        let a = p.next();
        let Tok::Word(alias) = &a.tok else {
            return err(a.start, a.end.max(a.start + 1), "expected an alias");
        };
        let plain = alias.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return err(
                a.start,
                a.end,
                "a join alias is a plain name (letters, digits, _)",
            );
        }
        let slot = if matches!(&side.tok, Tok::Word(w) if w.eq_ignore_ascii_case("left")) {
            &mut left
        } else {
            &mut right
        };
        if slot.replace(alias.clone()).is_some() {
            return err(side.start, a.end, "a join alias is given twice");
        }
        p.eat_sym(",");
    }
    // Without aliases (`JOIN ON t1.k = g.k g`, `… ON t1.k = t2.k g AS t2`): the right side is
    // named by its log group or its `AS` alias, the left by the condition's other qualifier.
    let unaliased = left.is_none() && right.is_none();
    let (l, r) = match (left, right) {
        (Some(l), Some(r)) => (l, r),
        (None, None) if p.at_word("on") => {
            let (group, alias) = join_right_side(p);
            let r = alias.or(group).filter(|n| {
                n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            let other = match (p.toks.get(p.pos + 1), p.toks.get(p.pos + 3)) {
                (Some(a), Some(b)) => [a, b]
                    .iter()
                    .filter_map(|t| match &t.tok {
                        Tok::Word(w) | Tok::Quoted(w) => {
                            w.split_once('.').map(|(q, _)| q.to_string())
                        }
                        _ => None,
                    })
                    .find(|q| Some(q) != r.as_ref()),
                _ => None,
            };
            match (other, r) {
                (Some(l), Some(r)) => (l, r),
                _ => {
                    let t = p.peek();
                    return err(
                        cs,
                        t.end.max(t.start + 1),
                        "a join without aliases qualifies each key by its side (ON t.k = g.k g, or g AS a with a.k): the right side by its log group's plain name or its AS alias; or name both with left = l, right = r",
                    );
                }
            }
        }
        _ => {
            let t = p.peek();
            return err(
                cs,
                t.end.max(t.start + 1),
                "a join needs both aliases: JOIN left = l, right = r ON l.k = r.k <log group>",
            );
        }
    };
    if l == r {
        return err(cs, p.peek().start, "a join's two aliases must differ");
    }
    if !p.eat_word("on") {
        let t = p.peek();
        return err(
            t.start,
            t.end.max(t.start + 1),
            "expected ON and the join condition",
        );
    }
    let cond = p.peek().start;
    let side_key = |t: &Token| -> Option<(String, String)> {
        let (Tok::Word(w) | Tok::Quoted(w)) = &t.tok else {
            return None;
        };
        let (a, k) = w.split_once('.')?;
        let plain = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '@')
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
        plain.then(|| (a.to_string(), k.to_string()))
    };
    let a = p.next();
    let eq = p.eat_sym("=") || p.eat_sym("==");
    let b = p.next();
    let keys = match (side_key(&a), eq, side_key(&b)) {
        (Some(x), true, Some(y)) if x.0 == l && y.0 == r => Some((x.1, y.1)),
        (Some(x), true, Some(y)) if x.0 == r && y.0 == l => Some((y.1, x.1)),
        _ => None,
    };
    let Some((lk, rk)) = keys else {
        return err(
            cond,
            b.end.max(cond + 1),
            format!(
                "a join's condition is one equality between a field of each side: {l}.k = {r}.k"
            ),
        );
    };
    // More conditions after `and` (an inner join's: they filter the joined rows, which is the
    // same); `or` is not supported.
    let mut more = None;
    if p.at_word("and") {
        let t = p.next();
        if !inner {
            return err(
                t.start,
                t.end,
                "a LEFT join's condition is one equality (more conditions only with INNER)",
            );
        }
        // (Read as after the join: fields qualified by a side's alias, one `and` chain.)
        let saved = (
            p.join.replace((l.clone(), r.clone())),
            std::mem::take(&mut p.made),
        );
        let cond = p.nested(Parser::and);
        p.join = saved.0;
        p.made = saved.1;
        more = Some(cond?);
    }
    if p.at_word("or") {
        let t = p.peek();
        return err(
            t.start,
            t.end,
            "a join's condition is an equality and further conditions joined by and (no or)",
        );
    }
    let g = p.next();
    let group = match &g.tok {
        Tok::Word(w) | Tok::Quoted(w) => w.clone(),
        // `[ source = g | … ]`: its rows are the right side (they must hold the key).
        // (`[ source = g ]` alone is the log group.)
        Tok::Sym("[")
            if {
                let lead = usize::from(p.at_word("search") || p.at_word("subquery"));
                let at = |k: usize| p.toks.get(p.pos + lead + k).map(|t| &t.tok);
                matches!(at(0), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("source"))
                    && matches!(at(1), Some(Tok::Sym("=")))
                    && matches!(at(2), Some(Tok::Word(_) | Tok::Quoted(_)))
                    && matches!(at(3), Some(Tok::Sym("]")))
            } =>
        {
            let lead = usize::from(p.at_word("search") || p.at_word("subquery"));
            let w = match &p.toks[p.pos + lead + 2].tok {
                Tok::Word(w) | Tok::Quoted(w) => w.clone(),
                _ => unreachable!("matched above"),
            };
            p.pos += lead + 4;
            w
        }
        Tok::Sym("[") => {
            let sub = p.subsearch_query(&g, 0)?;
            if !sub.query.subs.is_empty() {
                return err(
                    g.start,
                    sub.end,
                    "a join's subsearch cannot hold a subsearch, eventstats or appendcol",
                );
            }
            p.join_side = Some(sub.query);
            sub.group
        }
        _ => {
            return err(
                g.start,
                g.end.max(g.start + 1),
                "expected the right side's log group",
            )
        }
    };
    if !crate::translate::group_name_ok(&group) {
        return err(
            g.start,
            g.end,
            "expected the right side's log group (a log group name)",
        );
    }
    if unaliased && p.eat_word("as") {
        p.next();
    }
    let kind = if inner { "inner" } else { "left" };
    Ok((
        format!("join type={kind} left={l} right={r} where {l}.{lk} = {r}.{rk} (SOURCE '{group}')"),
        (l, r),
        more,
    ))
}
