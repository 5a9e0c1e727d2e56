//! Parsing the row-sequence commands (`addtotals`, `filldown`, `accum`, `autoregress`,
//! `sessionize`) and `countFrequent`, which is a `stats` and a `sort`.

use crate::ast::*;
use crate::functions;
use crate::lexer::Tok;
use crate::lexer::Token;
use crate::parser::{err, Parser, R};
use crate::value::Value;

/// Most rows back `autoregress` may look.
const MAX_LAG: usize = 1000;
/// `sessionize`'s inactivity gap when none is given (AWS's default).
const DEFAULT_GAP_MS: i64 = 30 * 60_000;

impl Parser {
    /// The text of the tokens from here written without a space between them, up to a pipe:
    /// `cpu*`, `p=1-4`. Its start and end offsets too.
    fn glued(&mut self) -> (usize, usize, String) {
        let start = self.peek().start;
        let mut end = start;
        while !self.at(&Tok::Pipe) && !self.at(&Tok::Eof) && self.peek().start == end {
            end = self.peek().end;
            self.pos += 1;
        }
        (start, end, self.src(start, end))
    }

    /// `name=` ahead: the option's name, consumed with its `=`.
    fn option(&mut self, names: &[&str]) -> Option<String> {
        let Tok::Ident(w) = &self.peek().tok else {
            return None;
        };
        let w = w.to_ascii_lowercase();
        let eq = self
            .toks
            .get(self.pos + 1)
            .is_some_and(|t| t.tok == Tok::Eq);
        if !eq || !names.contains(&w.as_str()) {
            return None;
        }
        self.pos += 2;
        Some(w)
    }

    fn boolean(&mut self, option: &str) -> R<bool> {
        let t = self.next();
        match &t.tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Ok(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Ok(false),
            _ => err(t.start, t.end, format!("{option}= takes true or false")),
        }
    }

    /// `addtotals [fieldname=Name] [row=bool] [col=bool] [field1, field2, ...]`.
    pub(crate) fn addtotals_cmd(&mut self) -> R<Command> {
        let (mut name, mut row, mut col) = ("Total".to_string(), true, false);
        while let Some(o) = self.option(&["fieldname", "row", "col"]) {
            match o.as_str() {
                "fieldname" => name = self.field_name()?,
                "row" => row = self.boolean("row")?,
                _ => col = self.boolean("col")?,
            }
        }
        let fields = if self.at(&Tok::Pipe) || self.at(&Tok::Eof) {
            Vec::new()
        } else {
            self.name_list()?
        };
        Ok(Command::Rows(RowCmd::AddTotals {
            name,
            row,
            col,
            fields,
        }))
    }

    /// `filldown [field-or-pattern ...]` (space-separated; `*` matches any run of characters).
    pub(crate) fn filldown_cmd(&mut self) -> R<Command> {
        let mut patterns = Vec::new();
        while !self.at(&Tok::Pipe) && !self.at(&Tok::Eof) {
            if let Tok::Quoted(name) = &self.peek().tok {
                patterns.push(name.clone());
                self.pos += 1;
                continue;
            }
            let (s, e, text) = self.glued();
            let ok = |c: char| c.is_alphanumeric() || "_.@-*".contains(c);
            if text.is_empty() || !text.chars().all(ok) {
                return err(
                    s,
                    e.max(s + 1),
                    "filldown takes field names or patterns with *, separated by spaces",
                );
            }
            patterns.push(text);
        }
        Ok(Command::Rows(RowCmd::FillDown(patterns)))
    }

    /// `accum field [AS out]`: without `AS`, the running sum replaces the field's value.
    pub(crate) fn accum_cmd(&mut self) -> R<Command> {
        let field = self.field_name()?;
        let out = if self.eat_word("as") {
            self.field_name()?
        } else {
            field.clone()
        };
        Ok(Command::Rows(RowCmd::Accum { field, out }))
    }

    /// `autoregress field [AS alias] [p=N | p=N-M]`: `field_pK` for each lag K (the alias
    /// names a single lag).
    pub(crate) fn autoregress_cmd(&mut self) -> R<Command> {
        let field = self.field_name()?;
        let mut alias: Option<(usize, usize, String)> = None;
        let mut range = (1, 1);
        loop {
            if self.is_word("as") && alias.is_none() {
                let a = self.next();
                let name = self.field_name()?;
                alias = Some((a.start, self.prev_end(), name));
            } else if self.option(&["p"]).is_some() {
                let (s, e, text) = self.glued();
                let lag = |x: &str| {
                    x.parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LAG).contains(n))
                };
                range = match text.split_once('-') {
                    None => lag(&text).map(|n| (n, n)),
                    Some((a, b)) => lag(a).zip(lag(b)).filter(|(a, b)| a <= b),
                }
                .map_or_else(
                    || {
                        err(
                            s,
                            e.max(s + 1),
                            format!("p= takes a lag N or a range N-M of lags from 1 to {MAX_LAG}"),
                        )
                    },
                    Ok,
                )?;
            } else {
                break;
            }
        }
        let lags = match alias {
            Some((s, e, _)) if range.0 != range.1 => {
                return err(s, e, "autoregress AS names one lag: not with a range p=N-M")
            }
            Some((_, _, name)) => vec![(range.0, name)],
            None => (range.0..=range.1)
                .map(|k| (k, format!("{field}_p{k}")))
                .collect(),
        };
        Ok(Command::Rows(RowCmd::Autoregress { field, lags }))
    }

    /// `sessionize field[, field ...] [maxspan period] [AS out]`.
    pub(crate) fn sessionize_cmd(&mut self) -> R<Command> {
        let keys = self.name_list()?;
        let mut gap_ms = DEFAULT_GAP_MS;
        if self.eat_word("maxspan") {
            let t = self.next();
            gap_ms = match t.tok {
                Tok::Dur(n, u) if n > 0 => n * functions::unit_ms(u),
                _ => return err(t.start, t.end, "maxspan takes a time period such as 30m"),
            };
        }
        let out = if self.eat_word("as") {
            self.field_name()?
        } else {
            "session_id".to_string()
        };
        Ok(Command::Rows(RowCmd::Sessionize { keys, gap_ms, out }))
    }

    /// `fillmissing [with value for field [, value for field ...]]`; its bin comes from the
    /// `stats` before it ([`place_fillmissing`]).
    pub(crate) fn fillmissing_cmd(&mut self) -> R<Command> {
        let mut fills = Vec::new();
        if self.eat_word("with") {
            loop {
                let t = self.next();
                let value = match &t.tok {
                    Tok::Num(x) => Value::Num(*x),
                    Tok::Minus => match self.next().tok {
                        Tok::Num(x) => Value::Num(-x),
                        _ => {
                            return err(
                                t.start,
                                self.prev_end(),
                                "fillmissing takes a number or a string to fill with",
                            )
                        }
                    },
                    Tok::Str(x) => Value::Str(x.clone()),
                    _ => {
                        return err(
                            t.start,
                            t.end,
                            "fillmissing takes a number or a string to fill with",
                        )
                    }
                };
                if !self.eat_word("for") {
                    let p = self.peek().clone();
                    return err(
                        p.start,
                        p.end,
                        "expected 'for' and a field, as in: fillmissing with 0 for count",
                    );
                }
                fills.push((self.field_name()?, value));
                if !self.at(&Tok::Comma) {
                    break;
                }
                self.pos += 1;
            }
        }
        Ok(Command::Rows(RowCmd::FillMissing {
            bin: String::new(),
            period: (0, crate::lexer::Unit::Ms),
            offset_ms: 0,
            keys: Vec::new(),
            fills,
        }))
    }

    /// `outlier [action=remove|transform] [param=n] [uselower=bool] [mark=bool] field ...`.
    pub(crate) fn outlier_cmd(&mut self) -> R<Command> {
        let (mut remove, mut param, mut lower, mut mark) = (false, 2.5, false, false);
        while let Some(o) = self.option(&["action", "param", "uselower", "mark"]) {
            match o.as_str() {
                "action" => {
                    let t = self.next();
                    remove = match &t.tok {
                        Tok::Ident(w) if w.eq_ignore_ascii_case("remove") => true,
                        Tok::Ident(w) if w.eq_ignore_ascii_case("transform") => false,
                        _ => return err(t.start, t.end, "action= takes remove or transform"),
                    };
                }
                "param" => {
                    let t = self.next();
                    param = match t.tok {
                        Tok::Num(x) if x >= 0.0 => x,
                        _ => {
                            return err(t.start, t.end, "param= takes a number, the IQR multiplier")
                        }
                    };
                }
                "uselower" => lower = self.boolean("uselower")?,
                _ => mark = self.boolean("mark")?,
            }
        }
        let mut fields = Vec::new();
        while !self.at(&Tok::Pipe) && !self.at(&Tok::Eof) {
            fields.push(self.field_name()?);
        }
        if fields.is_empty() {
            let p = self.peek().clone();
            return err(p.start, p.end, "outlier takes one or more numeric fields");
        }
        Ok(Command::Rows(RowCmd::Outlier {
            remove,
            param,
            lower,
            mark,
            fields,
        }))
    }

    /// `appendcols [override=bool] [max=n] ( subquery )`: the subquery (AWS: a complete query,
    /// usually with its own SOURCE) runs over the same time range; it must select its fields.
    pub(crate) fn appendcols_cmd(&mut self, t: &Token) -> R<Command> {
        if self.nested {
            return err(
                t.start,
                t.end,
                "appendcols is not supported inside a subquery",
            );
        }
        let (mut overwrite, mut max) = (false, 10_000usize);
        while let Some(o) = self.option(&["override", "max"]) {
            if o == "override" {
                overwrite = self.boolean("override")?;
            } else {
                let v = self.next();
                max = match v.tok {
                    Tok::Num(x) if x.fract() == 0.0 && (1.0..=100_000.0).contains(&x) => x as usize,
                    _ => {
                        return err(
                            v.start,
                            v.end,
                            "max= takes a number of rows from 1 to 100000",
                        )
                    }
                };
            }
        }
        if !self.at(&Tok::LParen) {
            let p = self.peek().clone();
            return err(p.start, p.end, "expected the subquery in parentheses, as in: appendcols (SOURCE '<log group>' | stats ...)");
        }
        let (s, e) = self.paren_span()?;
        let text = self.src(s, e);
        let shift = |x: crate::QueryError| crate::QueryError {
            start: x.start + s,
            end: x.end + s,
            message: x.message,
        };
        let (source, query) = crate::parse_nested(&text).map_err(shift)?;
        let columns = query.as_ref().and_then(|q| q.output_fields());
        let (Some(query), Some(columns)) = (query, columns) else {
            return err(
                s,
                e,
                "the appendcols subquery must select its fields (fields, display or stats)",
            );
        };
        self.subs.push(crate::SubQuery {
            source,
            query,
            field: String::new(),
            append: Some(max),
            eventstats: false,
            union: false,
            tuple: false,
            into: None,
            scalar: None,
        });
        Ok(Command::Rows(RowCmd::AppendCols {
            sub: self.subs.len() - 1,
            overwrite,
            columns,
            rows: None,
        }))
    }

    /// `relevantfields [field, ...] where condition`.
    pub(crate) fn relevantfields_cmd(&mut self) -> R<Command> {
        let fields = if self.is_word("where") {
            Vec::new()
        } else {
            self.name_list()?
        };
        if !self.eat_word("where") {
            let p = self.peek().clone();
            return err(
                p.start,
                p.end,
                "relevantfields needs 'where' and a condition, as in: relevantfields where Time > 400",
            );
        }
        let start = self.peek().start;
        let cond = self.expr()?;
        crate::parser::check_no_agg(&cond, start, self.prev_end())?;
        let mut skip: Vec<String> = Vec::new();
        crate::exec::visit_expr(&cond, &mut |n| {
            if !skip.iter().any(|s| s == n) {
                skip.push(n.to_string());
            }
        });
        Ok(Command::RelevantFields { fields, cond, skip })
    }

    /// `cidrlookup table ipField [AS cidrColumn] OUTPUT|OUTPUTNEW column [AS field], …`.
    pub(crate) fn cidrlookup_cmd(&mut self) -> R<Command> {
        let table = self.field_name()?;
        let ip = self.field_name()?;
        let cidr_column = if self.eat_word("as") {
            Some(self.field_name()?)
        } else {
            None
        };
        let new_only = if self.eat_word("outputnew") {
            true
        } else if self.eat_word("output") {
            false
        } else {
            let p = self.peek().clone();
            return err(
                p.start,
                p.end,
                "expected OUTPUT or OUTPUTNEW and the table columns to add, as in: cidrlookup nets srcAddr OUTPUT region",
            );
        };
        let mut outputs = Vec::new();
        loop {
            let column = self.field_name()?;
            let field = if self.eat_word("as") {
                self.field_name()?
            } else {
                column.clone()
            };
            outputs.push((column, field));
            if !self.at(&Tok::Comma) {
                break;
            }
            self.pos += 1;
        }
        Ok(Command::CidrLookup(Box::new(CidrLookupCmd {
            table,
            ip,
            cidr_column,
            new_only,
            outputs,
            data: None,
        })))
    }

    /// `countFrequent field[, field ...]`: the count of each combination as `_approxcount`
    /// (exact here), most frequent first — `stats count(*) as _approxcount by fields` then a
    /// sort by the count (ties by the fields).
    pub(crate) fn count_frequent_cmd(&mut self) -> R<Command> {
        let names = self.name_list()?;
        let by: Vec<Proj> = names
            .iter()
            .map(|n| Proj {
                expr: Expr::Field(n.clone()),
                name: n.clone(),
            })
            .collect();
        let mut keys = vec![SortKey {
            expr: Expr::Field("_approxcount".into()),
            desc: true,
        }];
        keys.extend(names.iter().map(|n| SortKey {
            expr: Expr::Field(n.clone()),
            desc: false,
        }));
        self.then = Some(Command::Sort(keys));
        Ok(Command::Stats(Box::new(StatsCmd {
            aggs: vec![AggSpec {
                kind: AggKind::CountStar,
                arg: None,
                p: 0.0,
            }],
            items: vec![Proj {
                expr: Expr::AggRef(0),
                name: "_approxcount".into(),
            }],
            by,
            offset_ms: 0,
            one_row: false,
        })))
    }
}

/// Gives each `fillmissing` the bin of the `stats … by bin(period)` right before it (AWS: it
/// comes after such a `stats`); anywhere else it is an error.
pub(crate) fn place_fillmissing(cmds: &mut [Command], spans: &[(usize, usize)]) -> R<()> {
    for i in 0..cmds.len() {
        if !matches!(cmds[i], Command::Rows(RowCmd::FillMissing { .. })) {
            continue;
        }
        let found = match i.checked_sub(1).map(|j| &cmds[j]) {
            Some(Command::Stats(s)) => s.by.iter().find_map(|p| match &p.expr {
                Expr::Call { name, args, .. } if name == "bin" => match args.as_slice() {
                    [Expr::Dur(n, u)] => Some((p.name.clone(), (*n, *u), s.offset_ms)),
                    _ => None,
                },
                _ => None,
            }),
            _ => None,
        };
        let Some((name, per, off)) = found else {
            return err(
                spans[i].0,
                spans[i].1,
                "fillmissing must directly follow a stats ... by bin(period)",
            );
        };
        let others: Vec<String> = match &cmds[i - 1] {
            Command::Stats(s) => s.by.iter().map(|p| p.name.clone()).collect(),
            _ => Vec::new(),
        };
        if let Command::Rows(RowCmd::FillMissing {
            bin,
            period,
            offset_ms,
            keys,
            ..
        }) = &mut cmds[i]
        {
            *bin = name;
            *period = per;
            *offset_ms = off;
            *keys = others;
        }
    }
    Ok(())
}
