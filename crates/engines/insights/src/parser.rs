//! Recursive-descent parser: tokens → commands, with stats planning.

use crate::ast::*;
use crate::functions::{self, FnClass, TUPLE_FN};
use crate::lexer::{lex, Tok, Token};
use crate::QueryError;
use regex::Regex;
use std::sync::Arc;

const UNSUPPORTED_COMMANDS: &[&str] = &["source"];

/// The most values PPL's `take(field, n)` may ask for.
const MAX_TAKE: f64 = 10_000.0;

/// The most buckets `histogram(field, buckets)` may ask for.
const MAX_HISTOGRAM_BUCKETS: f64 = 1000.0;

pub struct Parser {
    pub(crate) toks: Vec<Token>,
    pub(crate) pos: usize,
    pub(crate) chars: Vec<char>,
    /// Subqueries met so far (`filter f in (…)`), in order.
    pub(crate) subs: Vec<crate::SubQuery>,
    /// The join met so far (one per query).
    pub(crate) join: Option<crate::JoinSide>,
    /// Parsing the text of a subquery: no subquery or join inside it.
    pub(crate) nested: bool,
    /// Parsing a `filter` expression, the only place a subquery may be.
    pub(crate) in_filter: bool,
    /// A command the last one expands to besides itself (`countFrequent`: its `sort`).
    pub(crate) then: Option<Command>,
    /// How deeply the expression being read nests (parentheses, calls, unary operators).
    pub(crate) depth: usize,
}

/// The deepest an expression may nest: deeper ones are a MalformedQueryException rather than a
/// recursion that could exhaust the stack.
pub(crate) const MAX_EXPR_DEPTH: usize = 100;

/// What a query's text holds besides its SOURCE: commands, subqueries, the join.
pub(crate) type Parsed = (Vec<Command>, Vec<crate::SubQuery>, Option<crate::JoinSide>);

pub(crate) type R<T> = Result<T, QueryError>;

pub(crate) fn err<T>(start: usize, end: usize, msg: impl Into<String>) -> R<T> {
    Err(QueryError {
        start,
        end,
        message: msg.into(),
    })
}

/// Parses a query after its SOURCE; `nested` for the text of a subquery.
pub(crate) fn parse_query(text: &str, nested: bool) -> R<Parsed> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        chars: text.chars().collect(),
        subs: Vec::new(),
        join: None,
        nested,
        in_filter: false,
        then: None,
        depth: 0,
    };
    let mut cmds = Vec::new();
    let mut spans = Vec::new();
    let mut stats_count = 0;
    loop {
        if p.at(&Tok::Eof) {
            if cmds.is_empty() || p.toks.len() > 1 {
                // empty query or trailing pipe
                if cmds.is_empty() {
                    return err(0, p.chars.len(), "query is empty");
                }
            }
            break;
        }
        let cmd_tok = p.peek().clone();
        let cmd = p.command()?;
        if let Command::Stats(_) = cmd {
            stats_count += 1;
            if stats_count > 2 {
                return err(
                    cmd_tok.start,
                    cmd_tok.end,
                    "a query can contain at most two stats commands",
                );
            }
        }
        cmds.push(cmd);
        spans.push((cmd_tok.start, cmd_tok.end));
        if let Some(then) = p.then.take() {
            cmds.push(then);
            spans.push((cmd_tok.start, cmd_tok.end));
        }
        match &p.peek().tok {
            Tok::Pipe => {
                p.pos += 1;
                if p.at(&Tok::Eof) {
                    let t = p.peek();
                    return err(t.start, t.end, "expected a command after '|'");
                }
            }
            Tok::Eof => break,
            _ => {
                let t = p.peek().clone();
                return unexpected(&p, &t);
            }
        }
    }
    check_diff_placement(&cmds, &spans)?;
    crate::rowparse::place_fillmissing(&mut cmds, &spans)?;
    Ok((cmds, p.subs, p.join))
}

/// `diff` compares the patterns of two periods, and `anomaly` reads the patterns' records over
/// the time range: each must come directly after the `pattern` that collects the records (no
/// `stats`, `sort`, `dedup` or `limit` before that `pattern`; not after each other).
fn check_diff_placement(cmds: &[Command], spans: &[(usize, usize)]) -> R<()> {
    for (i, c) in cmds.iter().enumerate() {
        let message = match c {
            Command::Anomaly => "anomaly must directly follow a pattern command, and no stats, sort, dedup or limit may come before that pattern",
            Command::Diff(DiffPeriod::Shift(..)) => "logcompare compares the records themselves: no stats, sort, dedup, limit or pattern may come before it",
            Command::Diff(_) => "diff must directly follow a pattern command, and no stats, sort, dedup or limit may come before that pattern",
            _ => continue,
        };
        let ok = i > 0
            && matches!(cmds[i - 1], Command::Pattern(_))
            && cmds[..i - 1].iter().all(Command::is_streaming);
        if !ok {
            return err(spans[i].0, spans[i].1, message);
        }
    }
    Ok(())
}

impl Parser {
    pub(crate) fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }
    pub(crate) fn at(&self, t: &Tok) -> bool {
        &self.peek().tok == t
    }
    pub(crate) fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    pub(crate) fn src(&self, s: usize, e: usize) -> String {
        self.chars[s..e].iter().collect()
    }
    pub(crate) fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[self.pos - 1].end
        }
    }
    pub(crate) fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(w))
    }
    pub(crate) fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn expect(&mut self, t: Tok, what: &str) -> R<Token> {
        if self.at(&t) {
            Ok(self.next())
        } else {
            let p = self.peek().clone();
            err(p.start, p.end, format!("expected {what}"))
        }
    }

    fn command(&mut self) -> R<Command> {
        let t = self.next();
        let name = match &t.tok {
            Tok::Ident(s) => s.to_ascii_lowercase(),
            _ => return err(t.start, t.end, "expected a command name"),
        };
        match name.as_str() {
            "fields" => Ok(Command::Fields(self.proj_list(false)?)),
            "display" => Ok(Command::Display(self.proj_list(false)?)),
            "filter" | "where" => {
                if self.at(&Tok::Pipe) || self.at(&Tok::Eof) {
                    return err(t.start, t.end, "filter requires an expression");
                }
                let start = self.peek().start;
                self.in_filter = true;
                let e = self.expr();
                self.in_filter = false;
                let e = e?;
                check_no_agg(&e, start, self.prev_end())?;
                Ok(Command::Filter(e))
            }
            "stats" => self.stats(&t),
            "join" => self.join_cmd(&t),
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let e = self.expr()?;
                    let desc = if self.eat_word("desc") {
                        true
                    } else {
                        self.eat_word("asc");
                        false
                    };
                    keys.push(SortKey { expr: e, desc });
                    if !self.at(&Tok::Comma) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Command::Sort(keys))
            }
            "limit" => {
                let any = self.eat_word("any");
                let n = self.next();
                match n.tok {
                    Tok::Num(v) if v >= 1.0 && v.fract() == 0.0 && v <= 10_000.0 => {
                        Ok(Command::Limit { n: v as usize, any })
                    }
                    _ => err(
                        n.start,
                        n.end,
                        "limit requires an integer between 1 and 10000",
                    ),
                }
            }
            "parse" => self.parse_cmd(),
            "lookup" => self.lookup_cmd(),
            "dedup" => {
                let mut fs = Vec::new();
                loop {
                    let e = self.expr()?;
                    fs.push(e);
                    if !self.at(&Tok::Comma) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Command::Dedup(fs))
            }
            "expand" => Ok(Command::Expand(self.field_name()?)),
            "addtotals" => self.addtotals_cmd(),
            "filldown" => self.filldown_cmd(),
            "accum" => self.accum_cmd(),
            "autoregress" => self.autoregress_cmd(),
            "sessionize" => self.sessionize_cmd(),
            "fillmissing" => self.fillmissing_cmd(),
            "cidrlookup" => self.cidrlookup_cmd(),
            "outlier" => self.outlier_cmd(),
            "appendcols" => self.appendcols_cmd(&t),
            "relevantfields" => self.relevantfields_cmd(),
            "countfrequent" | "count_frequent" => self.count_frequent_cmd(),
            "json" => self.json_cmd(),
            "unnest" => {
                let field = self.expr()?;
                if !self.eat_word("into") {
                    let p = self.peek().clone();
                    return err(p.start, p.end, "expected 'into' in unnest");
                }
                let into = self.field_name()?;
                Ok(Command::Unnest { field, into })
            }
            "pattern" => {
                if self.at(&Tok::Pipe) || self.at(&Tok::Eof) {
                    return err(
                        t.start,
                        t.end,
                        "pattern requires a field or a string expression such as @message",
                    );
                }
                let start = self.peek().start;
                let e = self.expr()?;
                check_no_agg(&e, start, self.prev_end())?;
                Ok(Command::Pattern(e))
            }
            "diff" => {
                let period = match &self.peek().tok {
                    Tok::Pipe | Tok::Eof => DiffPeriod::Previous,
                    Tok::Ident(w) if w.eq_ignore_ascii_case("previousDay") => DiffPeriod::Day,
                    Tok::Ident(w) if w.eq_ignore_ascii_case("previousWeek") => DiffPeriod::Week,
                    Tok::Ident(w) if w.eq_ignore_ascii_case("previousMonth") => DiffPeriod::Month,
                    _ => {
                        let p = self.peek().clone();
                        return err(
                            p.start,
                            p.end,
                            "diff takes no argument or one of previousDay, previousWeek, previousMonth",
                        );
                    }
                };
                if period != DiffPeriod::Previous {
                    self.pos += 1;
                }
                Ok(Command::Diff(period))
            }
            // `logcompare timeshift 7d`: the patterns of the messages, compared with the
            // same period shifted back (a comparison query returns patterns, as `diff` does).
            "logcompare" => {
                if !self.eat_word("timeshift") {
                    let p = self.peek().clone();
                    return err(
                        p.start,
                        p.end,
                        "logcompare takes timeshift and a time period, e.g. logcompare timeshift 7d",
                    );
                }
                let d = self.next();
                match d.tok {
                    Tok::Dur(n, u) if n > 0 => {
                        self.then = Some(Command::Diff(DiffPeriod::Shift(n, u)));
                        Ok(Command::Pattern(Expr::Field("@message".into())))
                    }
                    _ => err(
                        d.start,
                        d.end,
                        "timeshift takes a positive time period such as 1h, 7d or 1mon",
                    ),
                }
            }
            "anomaly" => Ok(Command::Anomaly),
            "filterindex" => self.filter_index(&t),
            "unmask" => err(
                t.start,
                t.end,
                format!(
                    "the '{}' command is not supported; use the unmask(field) function, e.g. fields unmask(@message)",
                    self.src(t.start, t.end)
                ),
            ),
            n if UNSUPPORTED_COMMANDS.contains(&n) => err(
                t.start,
                t.end,
                format!(
                    "the '{}' command is not supported",
                    self.src(t.start, t.end)
                ),
            ),
            _ => err(
                t.start,
                t.end,
                format!("unknown command '{}'", self.src(t.start, t.end)),
            ),
        }
    }

    /// `filterIndex field = literal` or `filterIndex field in [literal, ...]`: the only forms
    /// AWS documents. Without field indexes it filters exactly like `filter` with the same
    /// condition.
    fn filter_index(&mut self, t: &Token) -> R<Command> {
        if self.at(&Tok::Pipe) || self.at(&Tok::Eof) {
            return err(t.start, t.end, "filterIndex requires a condition");
        }
        let start = self.peek().start;
        let e = self.expr()?;
        let end = self.prev_end();
        let literal = |x: &Expr| match x {
            Expr::Str(_) | Expr::Num(_) => true,
            Expr::Neg(n) => matches!(**n, Expr::Num(_)),
            _ => false,
        };
        let ok = match &e {
            Expr::Bin(BinOp::Eq, f, v) => matches!(**f, Expr::Field(_)) && literal(v),
            Expr::In {
                expr,
                list,
                negated: false,
            } => matches!(**expr, Expr::Field(_)) && !list.is_empty() && list.iter().all(literal),
            _ => false,
        };
        if !ok {
            return err(
                start,
                end,
                "filterIndex supports only 'field = value' and 'field in [value, ...]' with literal values",
            );
        }
        Ok(Command::Filter(e))
    }

    /// `lookup <table> <column> [as <field>], … OUTPUT <column>, …`
    fn lookup_cmd(&mut self) -> R<Command> {
        let table = self.field_name()?;
        let mut keys = Vec::new();
        loop {
            if self.is_word("output") {
                let p = self.peek().clone();
                return err(
                    p.start,
                    p.end,
                    "lookup needs a table column to match before OUTPUT",
                );
            }
            let column = self.field_name()?;
            let field = if self.eat_word("as") {
                self.field_name()?
            } else {
                column.clone()
            };
            keys.push((column, Expr::Field(field)));
            if !self.at(&Tok::Comma) {
                break;
            }
            self.pos += 1;
        }
        if !self.eat_word("output") {
            let p = self.peek().clone();
            return err(
                p.start,
                p.end,
                "expected OUTPUT and the table columns to add, as in: lookup users id OUTPUT name, email",
            );
        }
        let mut outputs = vec![self.field_name()?];
        while self.at(&Tok::Comma) {
            self.pos += 1;
            outputs.push(self.field_name()?);
        }
        Ok(Command::Lookup(Box::new(LookupCmd {
            table,
            keys,
            outputs,
            data: None,
            from_sub: None,
            into: Vec::new(),
        })))
    }

    /// At a `(`: the char span of the text inside it and its tokens skipped (past the `)`).
    pub(crate) fn paren_span(&mut self) -> R<(usize, usize)> {
        let open = self.next();
        let mut depth = 0usize;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::LParen => depth += 1,
                Tok::RParen if depth == 0 => {
                    self.pos += 1;
                    return Ok((open.end, t.start));
                }
                Tok::RParen => depth -= 1,
                Tok::Eof => return err(open.start, open.end, "this '(' is never closed"),
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// `<field> in (<subquery>)` (the `(` is next): the subquery is parsed and kept; the
    /// expression refers to it by index.
    pub(crate) fn subquery(&mut self, l: Expr, in_start: usize, negated: bool) -> R<Expr> {
        let open = self.peek().clone();
        if self.nested {
            return err(open.start, open.end, "nested subqueries are not supported");
        }
        if !self.in_filter {
            return err(
                in_start,
                open.end,
                "a subquery is supported only in filter: filter <field> in (SOURCE '<log group>' | ... | fields <field>)",
            );
        }
        // PPL's and SQL's `(a, b, …) in (subquery)` arrive as `ppl_tuple(a, b, …) in (…)`.
        let arity = match &l {
            Expr::Call { name, args, .. }
                if name == TUPLE_FN && crate::translate::in_translation() =>
            {
                Some(args.len())
            }
            _ => None,
        };
        let field = match (&l, arity) {
            (Expr::Field(field), _) => field.clone(),
            (_, Some(_)) => String::new(),
            _ => {
                return err(
                    in_start,
                    open.end,
                    "a subquery's values are compared with a field: filter <field> in (...)",
                )
            }
        };
        let (s, e) = self.paren_span()?;
        let text = self.src(s, e);
        let shift = |x: QueryError| QueryError {
            start: x.start + s,
            end: x.end + s,
            message: x.message,
        };
        let (source, query) = crate::parse_nested(&text).map_err(shift)?;
        let Some(query) = query else {
            return err(
                s,
                e,
                format!("the subquery must select the field '{field}', as in (SOURCE '<log group>' | filter ... | fields {field})"),
            );
        };
        if let Some(n) = arity {
            if query.output_fields().is_none_or(|cols| cols.len() != n) {
                return err(s, e, format!("the subquery must select {n} fields"));
            }
        } else if !query
            .output_fields()
            .is_some_and(|cols| cols.contains(&field))
        {
            return err(
                s,
                e,
                format!("the subquery must select the field '{field}' the outer query compares (fields, display or stats)"),
            );
        }
        self.subs.push(crate::SubQuery {
            source,
            query,
            field,
            append: None,
            eventstats: false,
            union: false,
            tuple: arity.is_some(),
            into: None,
            scalar: None,
        });
        Ok(Expr::InSub {
            expr: Box::new(l),
            sub: self.subs.len() - 1,
            negated,
            set: None,
        })
    }

    /// `join [type=inner|left] left=<l> right=<r> where <l>.<k> = <r>.<k> (SOURCE '<group>')`
    fn join_cmd(&mut self, t: &Token) -> R<Command> {
        if self.nested {
            return err(t.start, t.end, "join is not supported inside a subquery");
        }
        if self.join.is_some() {
            return err(
                t.start,
                t.end,
                "only one join command is supported per query",
            );
        }
        let (mut inner, mut left, mut right): (Option<bool>, Option<String>, Option<String>) =
            (None, None, None);
        while !self.is_word("where") {
            let k = self.next();
            let key = match &k.tok {
                Tok::Ident(w) => w.to_ascii_lowercase(),
                _ => {
                    return err(
                        k.start,
                        k.end,
                        "expected type=, left=, right= or where in join",
                    )
                }
            };
            if !matches!(key.as_str(), "type" | "left" | "right") {
                return err(
                    k.start,
                    k.end,
                    format!(
                        "unknown join option '{}': join takes type=, left=, right= and where",
                        self.src(k.start, k.end)
                    ),
                );
            }
            self.expect(Tok::Eq, "'=' after the join option")?;
            let v = self.next();
            let Tok::Ident(value) = &v.tok else {
                return err(v.start, v.end, "expected a name after '='");
            };
            let dup = match key.as_str() {
                "type" => {
                    let kind = match value.to_ascii_lowercase().as_str() {
                        "inner" => true,
                        "left" => false,
                        _ => return err(v.start, v.end, "join type must be inner or left"),
                    };
                    inner.replace(kind).is_some()
                }
                "left" => left.replace(value.clone()).is_some(),
                _ => right.replace(value.clone()).is_some(),
            };
            if dup {
                return err(
                    k.start,
                    v.end,
                    format!("join option '{key}' is given twice"),
                );
            }
        }
        let where_tok = self.next();
        let (Some(left), Some(right)) = (left, right) else {
            return err(
                t.start,
                where_tok.end,
                "join needs left=<alias> and right=<alias>",
            );
        };
        if left == right {
            return err(
                t.start,
                where_tok.start,
                "join's left and right aliases must differ",
            );
        }
        let side = |p: &Parser, tok: &Token| -> R<(bool, String)> {
            let name = match &tok.tok {
                Tok::Ident(n) | Tok::Quoted(n) => n.clone(),
                _ => {
                    return err(
                        tok.start,
                        tok.end,
                        "expected <alias>.<field> in the join condition",
                    )
                }
            };
            let _ = p;
            match name.split_once('.') {
                Some((a, f)) if a == left && !f.is_empty() => Ok((true, f.to_string())),
                Some((a, f)) if a == right && !f.is_empty() => Ok((false, f.to_string())),
                _ => err(
                    tok.start,
                    tok.end,
                    format!("the join condition compares {left}.<field> with {right}.<field>"),
                ),
            }
        };
        let a_tok = self.next();
        let a = side(self, &a_tok)?;
        let op = self.next();
        if op.tok != Tok::Eq {
            return err(
                op.start,
                op.end,
                "join supports only equality (=) conditions",
            );
        }
        let b_tok = self.next();
        let b = side(self, &b_tok)?;
        let (left_key, right_key) = match (a, b) {
            ((true, l), (false, r)) | ((false, r), (true, l)) => (l, r),
            _ => {
                return err(
                    a_tok.start,
                    b_tok.end,
                    format!("the join condition compares {left}.<field> with {right}.<field>"),
                )
            }
        };
        if !self.at(&Tok::LParen) {
            let p = self.peek().clone();
            if self.is_word("and") || self.is_word("or") {
                return err(p.start, p.end, "join takes one equality condition");
            }
            return err(
                p.start,
                p.end,
                "expected (SOURCE '<log group>') after the join condition",
            );
        }
        let (s, e) = self.paren_span()?;
        let text = self.src(s, e);
        let (source, query) = crate::parse_nested(&text).map_err(|x| QueryError {
            start: x.start + s,
            end: x.end + s,
            message: x.message,
        })?;
        let Some(source) = source else {
            return err(s, e, "the right side of join is (SOURCE '<log group>')");
        };
        if query.is_some() {
            return err(
                s,
                e,
                "subqueries on the right side of join are not supported: use (SOURCE '<log group>')",
            );
        }
        self.join = Some(crate::JoinSide {
            source,
            right,
            key: right_key,
            query: None,
        });
        Ok(Command::Join(Box::new(JoinCmd {
            inner: inner.unwrap_or(true),
            left,
            left_key,
            data: None,
        })))
    }

    /// `json field=<field> "<dotted path>" as <alias>`: the value at the path, read from the
    /// field's map (`jsonParse`), from the JSON text it holds, or from the field discovered
    /// under `<field>.<path>` (JSON messages are flattened that way).
    fn json_cmd(&mut self) -> R<Command> {
        const SHAPE: &str = "json takes field=<field> \"<key.path>\" as <name>";
        if !self.eat_word("field") || !self.at(&Tok::Eq) {
            let p = self.peek().clone();
            return err(p.start, p.end, SHAPE);
        }
        self.pos += 1;
        let field = self.field_name()?;
        let t = self.next();
        let Tok::Str(path) = t.tok else {
            return err(t.start, t.end, SHAPE);
        };
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return err(
                t.start,
                t.end,
                "the json key path must be keys separated by dots, as in \"user.name\"",
            );
        }
        if !self.eat_word("as") {
            let p = self.peek().clone();
            return err(p.start, p.end, SHAPE);
        }
        let alias = self.field_name()?;
        let mut parsed = Expr::Call {
            name: "jsonparse".into(),
            args: vec![Expr::Field(field.clone())],
            text: format!("jsonParse({field})"),
        };
        for seg in path.split('.') {
            parsed = Expr::Index(Box::new(parsed), Box::new(Expr::Str(seg.to_string())));
        }
        let value = Expr::Call {
            name: "coalesce".into(),
            args: vec![Expr::Field(format!("{field}.{path}")), parsed],
            text: format!("json field={field} \"{path}\""),
        };
        Ok(Command::Json { value, alias })
    }

    pub(crate) fn field_name(&mut self) -> R<String> {
        let t = self.next();
        match t.tok {
            Tok::Ident(s) | Tok::Quoted(s) => Ok(s),
            _ => err(t.start, t.end, "expected a field name"),
        }
    }

    fn proj_list(&mut self, allow_agg: bool) -> R<Vec<Proj>> {
        let mut out = Vec::new();
        loop {
            let start = self.peek().start;
            let e = self.expr()?;
            let end = self.prev_end();
            if !allow_agg {
                check_no_agg(&e, start, end)?;
            }
            let name = if self.eat_word("as") {
                self.field_name()?
            } else {
                self.proj_name(&e, start, end)
            };
            out.push(Proj { expr: e, name });
            if !self.at(&Tok::Comma) {
                break;
            }
            self.pos += 1;
        }
        Ok(out)
    }

    fn proj_name(&self, e: &Expr, start: usize, end: usize) -> String {
        match e {
            Expr::Field(f) => f.clone(),
            _ => self.src(start, end),
        }
    }

    fn stats(&mut self, t: &Token) -> R<Command> {
        let mut items = Vec::new();
        let mut aggs = Vec::new();
        loop {
            let start = self.peek().start;
            let e = self.expr()?;
            let end = self.prev_end();
            let mut found = false;
            let planned = plan_aggs(e.clone(), &mut aggs, &mut found, false, (start, end))?;
            // Without an aggregate of its own, an item may compute over the aggregates named
            // before it in this `stats` (`max(a) as x, min(a) as y, x - y as d`).
            let planned = match found {
                true => planned,
                false => match with_aliases(e, &items) {
                    Some(e) => plan_aggs(e, &mut aggs, &mut found, false, (start, end))?,
                    None => {
                        return err(
                            start,
                            end,
                            "stats requires an aggregate function such as count() or avg()",
                        )
                    }
                },
            };
            let name = if self.eat_word("as") {
                self.field_name()?
            } else {
                self.src(start, end)
            };
            items.push(Proj {
                expr: planned,
                name,
            });
            if !self.at(&Tok::Comma) {
                break;
            }
            self.pos += 1;
        }
        let mut by = Vec::new();
        let mut offset_ms = 0;
        if self.eat_word("by") {
            by = self.proj_list(false)?;
            if self.is_word("offset") {
                let o = self.next();
                let d = self.next();
                match d.tok {
                    Tok::Dur(n, u) => offset_ms = functions::unit_ms(u) * n,
                    _ => return err(o.start, d.end, "offset requires a time period such as 5m"),
                }
            }
        }
        let _ = t;
        Ok(Command::Stats(Box::new(StatsCmd {
            aggs,
            items,
            by,
            offset_ms,
            one_row: false,
        })))
    }

    fn parse_cmd(&mut self) -> R<Command> {
        // `parse logfmt as m` / `parse csv as a, b`: the field may be left out before a mode
        // word as before a pattern.
        let mode_word_next = (self.is_word("logfmt") || self.is_word("csv"))
            && matches!(self.toks.get(self.pos + 1).map(|t| &t.tok), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("as"));
        let field = match &self.peek().tok {
            Tok::Str(_) | Tok::Regex(_) => Expr::Field("@message".into()),
            _ if mode_word_next => Expr::Field("@message".into()),
            _ => self.primary()?,
        };
        let pt = self.next();
        match pt.tok {
            Tok::Str(glob) => {
                let stars = glob.matches('*').count();
                if !self.eat_word("as") {
                    let p = self.peek().clone();
                    return err(
                        p.start,
                        p.end,
                        "parse with a glob pattern requires 'as' and a list of field names",
                    );
                }
                let names = self.name_list()?;
                if names.len() != stars {
                    return err(
                        pt.start,
                        self.prev_end(),
                        format!(
                            "the pattern has {stars} '*' but {} field names were given",
                            names.len()
                        ),
                    );
                }
                Ok(Command::Parse {
                    field,
                    mode: ParseMode::Glob(glob_regex(&glob), names),
                })
            }
            Tok::Regex(r) => {
                let mut re = compile_regex(&r, pt.start, pt.end)?;
                // `/(…)/ as a, b multi`: the documented multi-match example names unnamed
                // groups with `as`; only together with `multi`.
                if self.is_word("as") {
                    let as_tok = self.next();
                    let names = self.name_list()?;
                    if !self.is_word("multi") {
                        return err(as_tok.start, as_tok.end, "parse with a regular expression takes field names from its named groups, not 'as' (except with 'multi')");
                    }
                    let groups = re.re.captures_len() - 1;
                    if !re.names.is_empty() || groups != names.len() {
                        return err(
                            pt.start,
                            self.prev_end(),
                            format!(
                                "with 'as', the regular expression needs one unnamed capture group per field name: it has {groups} groups for {} names",
                                names.len()
                            ),
                        );
                    }
                    re.names = names.into_iter().enumerate().map(|(i, n)| (i + 1, n)).collect();
                }
                if re.names.is_empty() {
                    return err(pt.start, pt.end, "parse with a regular expression requires named capture groups (?<name>...)");
                }
                if self.eat_word("multi") {
                    // One match after another: the regex crate's iterator.
                    return Ok(Command::Parse {
                        field,
                        mode: ParseMode::Multi(re),
                    });
                }
                re.fast = crate::captures::Prefixed::of(re.re.as_str()).map(Arc::new);
                Ok(Command::Parse {
                    field,
                    mode: ParseMode::Regex(re),
                })
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("logfmt") => {
                if !self.eat_word("as") {
                    let p = self.peek().clone();
                    return err(p.start, p.end, "parse logfmt requires 'as' and one field name for the map of pairs, as in: parse @message logfmt as lf");
                }
                let names = self.name_list()?;
                if names.len() != 1 {
                    return err(
                        pt.start,
                        self.prev_end(),
                        "parse logfmt takes exactly one field name (the map of pairs, read with lf.key)",
                    );
                }
                Ok(Command::Parse {
                    field,
                    mode: ParseMode::Logfmt(names.into_iter().next().unwrap_or_default()),
                })
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("csv") => {
                if !self.eat_word("as") {
                    let p = self.peek().clone();
                    return err(p.start, p.end, "parse csv requires 'as' and one field name per column, as in: parse @message csv as a, b, c");
                }
                Ok(Command::Parse {
                    field,
                    mode: ParseMode::Csv(self.name_list()?),
                })
            }
            Tok::Ident(ref w) if w.eq_ignore_ascii_case("xml") || w.eq_ignore_ascii_case("json") => err(
                pt.start,
                pt.end,
                format!("parse mode '{w}' is not supported: parse takes a glob pattern, a /regular expression/ (optionally with multi), logfmt or csv"),
            ),
            _ => err(
                pt.start,
                pt.end,
                "parse requires a quoted glob pattern, a /regular expression/, logfmt or csv",
            ),
        }
    }

    pub(crate) fn name_list(&mut self) -> R<Vec<String>> {
        let mut names = vec![self.field_name()?];
        while self.at(&Tok::Comma) {
            self.pos += 1;
            names.push(self.field_name()?);
        }
        Ok(names)
    }
}

pub(crate) fn unexpected<T>(p: &Parser, t: &Token) -> R<T> {
    match t.tok {
        Tok::Bad(c) => err(t.start, t.end, format!("unexpected character '{c}'")),
        _ => err(
            t.start,
            t.end,
            format!("unexpected token '{}'", p.src(t.start, t.end)),
        ),
    }
}

pub(crate) fn check_call(name: &str, args: &[Expr], s: usize, e: usize) -> R<()> {
    match functions::classify(name) {
        FnClass::Agg(_) => {
            let n = args.len();
            let lname = name.to_ascii_lowercase();
            let ok = match lname.as_str() {
                "count" => n <= 1,
                "pct" | "percentile" | "ppl_percentile" | "rate" | "histogram" => n == 2,
                "ppl_take" => n == 2,
                _ => n == 1,
            };
            if !ok {
                return err(s, e, format!("wrong number of arguments to {name}()"));
            }
            Ok(())
        }
        FnClass::Scalar(min, max) => {
            if args.len() < min || args.len() > max {
                return err(s, e, format!("wrong number of arguments to {name}()"));
            }
            if args.iter().any(|a| matches!(a, Expr::Star)) {
                return err(s, e, format!("'*' is not a valid argument to {name}()"));
            }
            // Literal formats and time zones of the date functions are checked here; ones known
            // only at run time make the result null instead.
            let lit = |i: usize| match args.get(i) {
                Some(Expr::Str(x)) => Some(x.as_str()),
                _ => None,
            };
            let format_error = match name.to_ascii_lowercase().as_str() {
                "formatdate" | "strftime" => {
                    lit(1).and_then(|f| crate::datetime::check_strftime(f).err())
                }
                "parsedate" => lit(1).and_then(|f| crate::javadate::compile_java(f).err()),
                _ => return Ok(()),
            };
            if let Some(m) = format_error {
                return err(s, e, format!("{name}(): {m} in the format"));
            }
            if let Some(z) = lit(2).filter(|z| crate::datetime::time_zone(z).is_none()) {
                return err(s, e, format!("{name}(): unknown time zone '{z}'"));
            }
            Ok(())
        }
        FnClass::Unsupported => err(s, e, format!("the function '{name}' is not supported")),
        FnClass::Unknown => err(s, e, format!("unknown function '{name}'")),
    }
}

pub(crate) fn check_no_agg(e: &Expr, start: usize, end: usize) -> R<()> {
    let mut bad = None;
    walk(e, &mut |x| {
        if let Expr::Call { name, .. } = x {
            if matches!(functions::classify(name), FnClass::Agg(_)) && bad.is_none() {
                bad = Some(name.clone());
            }
        }
    });
    match bad {
        Some(n) => err(
            start,
            end,
            format!("aggregate function '{n}' can only be used in stats"),
        ),
        None => Ok(()),
    }
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Neg(a) | Expr::Not(a) => walk(a, f),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => {
            walk(a, f);
            walk(b, f)
        }
        Expr::Like { expr, pat, .. } => {
            walk(expr, f);
            walk(pat, f)
        }
        Expr::In { expr, list, .. } => {
            walk(expr, f);
            list.iter().for_each(|x| walk(x, f))
        }
        Expr::InSub { expr, .. } => walk(expr, f),
        Expr::List(l) => l.iter().for_each(|x| walk(x, f)),
        Expr::Call { args, .. } => args.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// Replace aggregate calls by `AggRef`s, collecting their specs.
/// `e` with each field that names an earlier `stats` item replaced by that item's expression
/// (over its aggregates), outside aggregate calls; `None` when it names none.
fn with_aliases(e: Expr, items: &[Proj]) -> Option<Expr> {
    fn go(e: Expr, items: &[Proj], hit: &mut bool) -> Expr {
        let mut rec = |x: Box<Expr>| Box::new(go(*x, items, hit));
        match e {
            Expr::Field(f) => match items.iter().rev().find(|p| p.name == f) {
                Some(p) => {
                    *hit = true;
                    p.expr.clone()
                }
                None => Expr::Field(f),
            },
            Expr::Call { name, args, text }
                if !matches!(functions::classify(&name), FnClass::Agg(_)) =>
            {
                Expr::Call {
                    name,
                    args: args.into_iter().map(|a| go(a, items, hit)).collect(),
                    text,
                }
            }
            Expr::Neg(a) => Expr::Neg(rec(a)),
            Expr::Not(a) => Expr::Not(rec(a)),
            Expr::Bin(op, a, b) => Expr::Bin(op, rec(a), rec(b)),
            other => other,
        }
    }
    let mut hit = false;
    let e = go(e, items, &mut hit);
    hit.then_some(e)
}

fn plan_aggs(
    e: Expr,
    aggs: &mut Vec<AggSpec>,
    found: &mut bool,
    inside: bool,
    span: (usize, usize),
) -> R<Expr> {
    let rec = |x: Box<Expr>, aggs: &mut Vec<AggSpec>, found: &mut bool| -> R<Box<Expr>> {
        Ok(Box::new(plan_aggs(*x, aggs, found, inside, span)?))
    };
    Ok(match e {
        Expr::Call { name, args, text } => {
            if let FnClass::Agg(kind) = functions::classify(&name) {
                if inside {
                    return err(
                        span.0,
                        span.1,
                        format!(
                            "aggregate function '{name}' cannot be nested in another aggregate"
                        ),
                    );
                }
                *found = true;
                let mut args = args;
                let mut p = 0.0;
                if kind == AggKind::Pct || kind == AggKind::Percentile {
                    match args.pop() {
                        Some(Expr::Num(v)) if (0.0..=100.0).contains(&v) => p = v,
                        _ => return err(
                            span.0,
                            span.1,
                            "pct() requires a percentile between 0 and 100 as its second argument",
                        ),
                    }
                }
                if kind == AggKind::Take {
                    match args.pop() {
                        Some(Expr::Num(v)) if v >= 1.0 && v.fract() == 0.0 && v <= MAX_TAKE => {
                            p = v
                        }
                        _ => {
                            return err(
                                span.0,
                                span.1,
                                format!("take's size is a whole number from 1 to {MAX_TAKE}"),
                            )
                        }
                    }
                }
                if kind == AggKind::Rate {
                    // A calendar month, quarter or year has no fixed length.
                    match args.pop() {
                        Some(Expr::Dur(n, u))
                            if n > 0
                                && !matches!(
                                    u,
                                    crate::lexer::Unit::Month
                                        | crate::lexer::Unit::Quarter
                                        | crate::lexer::Unit::Year
                                ) =>
                        {
                            p = (n * functions::unit_ms(u)) as f64
                        }
                        _ => return err(
                            span.0,
                            span.1,
                            "rate() requires a time period of milliseconds to weeks as its second argument, as in rate(bytes, 1m)",
                        ),
                    }
                }
                if kind == AggKind::Histogram {
                    match args.pop() {
                        Some(Expr::Num(v))
                            if v.fract() == 0.0 && (1.0..=MAX_HISTOGRAM_BUCKETS).contains(&v) =>
                        {
                            p = v
                        }
                        _ => return err(
                            span.0,
                            span.1,
                            format!("histogram() requires a whole number of buckets from 1 to {MAX_HISTOGRAM_BUCKETS} as its second argument"),
                        ),
                    }
                }
                let mut kind = kind;
                let arg = args.pop();
                let arg = match (kind, arg) {
                    (AggKind::Count, None) | (AggKind::Count, Some(Expr::Star)) => {
                        kind = AggKind::CountStar;
                        None
                    }
                    (_, Some(Expr::Star)) => {
                        return err(
                            span.0,
                            span.1,
                            format!("'*' is only valid in count(*), not {name}()"),
                        )
                    }
                    (_, Some(a)) => {
                        let mut inner = false;
                        let a = plan_aggs(a, aggs, &mut inner, true, span)?;
                        Some(a)
                    }
                    (_, None) => {
                        return err(span.0, span.1, format!("{name}() requires an argument"))
                    }
                };
                let _ = text;
                aggs.push(AggSpec { kind, arg, p });
                Expr::AggRef(aggs.len() - 1)
            } else {
                let args = args
                    .into_iter()
                    .map(|a| plan_aggs(a, aggs, found, inside, span))
                    .collect::<R<Vec<_>>>()?;
                Expr::Call { name, args, text }
            }
        }
        Expr::Neg(a) => Expr::Neg(rec(a, aggs, found)?),
        Expr::Not(a) => Expr::Not(rec(a, aggs, found)?),
        Expr::Bin(op, a, b) => Expr::Bin(op, rec(a, aggs, found)?, rec(b, aggs, found)?),
        Expr::Index(a, b) => Expr::Index(rec(a, aggs, found)?, rec(b, aggs, found)?),
        Expr::Like { expr, pat, negated } => Expr::Like {
            expr: rec(expr, aggs, found)?,
            pat,
            negated,
        },
        Expr::In {
            expr,
            list,
            negated,
        } => Expr::In {
            expr: rec(expr, aggs, found)?,
            list,
            negated,
        },
        other => other,
    })
}

/// Compile a regex literal; named groups may use `(?<name>` with names Rust's engine rejects (`@x`).
pub fn compile_regex(src: &str, s: usize, e: usize) -> R<Re> {
    let mut out = String::with_capacity(src.len());
    let mut names = Vec::new();
    let cs: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut group = 0usize;
    let mut in_class = false;
    while i < cs.len() {
        let c = cs[i];
        if c == '\\' && i + 1 < cs.len() {
            out.push(c);
            out.push(cs[i + 1]);
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
        }
        if c == '(' {
            let rest: String = cs[i + 1..cs.len().min(i + 4)].iter().collect();
            if rest.starts_with("?<=")
                || rest.starts_with("?<!")
                || rest.starts_with("?=")
                || rest.starts_with("?!")
            {
                return err(
                    s,
                    e,
                    "look-around assertions are not supported in regular expressions",
                );
            }
            let named = if rest.starts_with("?<") {
                Some(i + 3)
            } else if rest.starts_with("?P<") {
                Some(i + 4)
            } else {
                None
            };
            if !rest.starts_with('?') || named.is_some() {
                group += 1;
            }
            if let Some(ns) = named {
                let Some(len) = cs[ns..].iter().position(|&c| c == '>') else {
                    return err(s, e, "unterminated capture group name");
                };
                let name: String = cs[ns..ns + len].iter().collect();
                names.push((group, name));
                out.push('(');
                i = ns + len + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    match Regex::new(&out) {
        Ok(re) => Ok(Re {
            re: Arc::new(re),
            fast: None,
            names,
        }),
        Err(x) => err(
            s,
            e,
            format!(
                "invalid regular expression: {}",
                x.to_string().lines().last().unwrap_or("")
            ),
        ),
    }
}

fn glob_regex(glob: &str) -> Re {
    let parts: Vec<&str> = glob.split('*').collect();
    let mut re = String::from("(?s)");
    for (i, p) in parts.iter().enumerate() {
        re.push_str(&regex::escape(p));
        if i + 1 < parts.len() {
            re.push_str(if i + 2 == parts.len() && parts[i + 1].is_empty() {
                "(.*)"
            } else {
                "(.*?)"
            });
        }
    }
    Re {
        fast: crate::captures::Prefixed::of(&re).map(Arc::new),
        re: Arc::new(Regex::new(&re).expect("escaped glob is a valid regex")),
        names: Vec::new(),
    }
}
