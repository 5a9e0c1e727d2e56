//! Syntax tree of a parsed query.

use crate::lexer::Unit;
use regex::Regex;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// A compiled regex literal with its source.
#[derive(Debug, Clone)]
pub struct Re {
    pub re: Arc<Regex>,
    /// For `parse`: the regex run from its literal start, when every match has one.
    pub fast: Option<Arc<crate::captures::Prefixed>>,
    /// Capture-group index → field name for `parse` (names may contain `@`).
    pub names: Vec<(usize, String)>,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Field(String),
    Str(String),
    Num(f64),
    Regex(Re),
    Dur(i64, Unit),
    List(Vec<Expr>),
    Star,
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `x like pat` / `x =~ pat` (pattern is a string → substring, or a regex).
    Like {
        expr: Box<Expr>,
        pat: Box<Expr>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x in (subquery)`: the subquery's values of the field `x` names, attached before the
    /// query runs (`Query::attach_subquery`); `sub` is its index in `Query::subqueries`.
    InSub {
        expr: Box<Expr>,
        sub: usize,
        negated: bool,
        set: Option<Arc<HashSet<String>>>,
    },
    Index(Box<Expr>, Box<Expr>),
    /// Function call; `text` is the call's source text (for reuse of a same-named column).
    Call {
        name: String,
        args: Vec<Expr>,
        text: String,
    },
    /// Reference to an aggregate result (only inside planned stats items).
    AggRef(usize),
}

#[derive(Debug, Clone)]
pub struct Proj {
    pub expr: Expr,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    Count,
    CountStar,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Pct,
    /// Spark's `percentile`/`median` (SQL only): the values around rank p/100 · (n − 1),
    /// linearly interpolated.
    Percentile,
    Stddev,
    Earliest,
    Latest,
    SortsFirst,
    SortsLast,
    /// `rate(field, interval)`: the change of a numeric field per `interval` (in `p`, ms).
    Rate,
    /// `histogram(field, buckets)`: the values counted in `p` equal-width ranges.
    Histogram,
    /// PPL's `take(field, n)`: a list of the values of the `p` earliest records having the
    /// field (PPL leaves the choice open).
    Take,
}

#[derive(Debug, Clone)]
pub struct AggSpec {
    pub kind: AggKind,
    pub arg: Option<Expr>,
    /// Percentile for `pct`, interval (ms) for `rate`, bucket count for `histogram`.
    pub p: f64,
}

#[derive(Debug, Clone)]
pub struct StatsCmd {
    pub aggs: Vec<AggSpec>,
    /// Output items: expressions over `AggRef`s.
    pub items: Vec<Proj>,
    pub by: Vec<Proj>,
    /// `by bin(..) offset <dur>`: milliseconds.
    pub offset_ms: i64,
    /// Without `by`, one row even when no record matched (its aggregates over nothing, such
    /// as a count of 0), as SQL and PPL answer; Logs Insights answers no row.
    pub one_row: bool,
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
}

#[derive(Debug, Clone)]
pub enum ParseMode {
    /// Glob compiled to a regex (its own names unused); captures 1..=n map to the aliases.
    Glob(Re, Vec<String>),
    Regex(Re),
    /// `/re/ multi`: one row per match of the regex (the row itself when nothing matches).
    Multi(Re),
    /// `logfmt as m`: the line's `key=value` pairs as a map under one alias.
    Logfmt(String),
    /// `csv as a, b, c`: the comma-separated values, one per alias, in order.
    Csv(Vec<String>),
}

impl ParseMode {
    /// The field names the mode assigns.
    pub fn names(&self) -> Vec<&str> {
        match self {
            ParseMode::Glob(_, names) | ParseMode::Csv(names) => {
                names.iter().map(String::as_str).collect()
            }
            ParseMode::Regex(re) | ParseMode::Multi(re) => {
                re.names.iter().map(|(_, n)| n.as_str()).collect()
            }
            ParseMode::Logfmt(alias) => vec![alias.as_str()],
        }
    }
}

/// The comparison period of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffPeriod {
    /// The equal-length period just before the query's.
    Previous,
    Day,
    Week,
    Month,
    /// `logcompare timeshift <n><unit>`: the equal-length period that many units earlier
    /// (months, quarters and years by the calendar).
    Shift(i64, crate::lexer::Unit),
}

/// `lookup <table> <column> [as <field>], … OUTPUT <column>, …`: adds the table's `OUTPUT`
/// columns to rows whose fields equal a table row's key columns (exactly, as text; the first
/// such table row wins). Rows without a match are left as they are.
#[derive(Debug, Clone)]
pub struct LookupCmd {
    pub table: String,
    /// (table column, the row's field) pairs.
    pub keys: Vec<(String, Expr)>,
    pub outputs: Vec<String>,
    /// The table's rows by key; filled in before the query runs (`Query::attach_lookups`).
    pub data: Option<std::sync::Arc<LookupData>>,
    /// Fed by subquery i's rows instead of a stored table (PPL's `eventstats`: the groups'
    /// aggregates by their keys; `Query::attach_subquery`).
    pub from_sub: Option<usize>,
    /// The names the outputs take on the rows (empty: their own).
    pub into: Vec<String>,
}

impl LookupCmd {
    /// The names the rows get ([`LookupCmd::into`], else the outputs').
    pub fn written(&self) -> &[String] {
        if self.into.is_empty() {
            &self.outputs
        } else {
            &self.into
        }
    }
}

/// A lookup table indexed for one `lookup` command: key values → the output columns' values.
#[derive(Debug, Default, PartialEq)]
pub struct LookupData {
    pub rows: std::collections::HashMap<Vec<String>, Vec<String>>,
}

/// `cidrlookup <table> <ip field> [AS <cidr column>] OUTPUT|OUTPUTNEW <column> [AS <field>], …`:
/// the row's address looked up among the table's CIDR ranges (the most specific range that
/// holds it), its row's columns copied into the row (`OUTPUTNEW`: only into fields without a
/// value).
#[derive(Debug, Clone)]
pub struct CidrLookupCmd {
    pub table: String,
    pub ip: String,
    /// The table column of the ranges (`None`: `cidr` if the table has it, else its first).
    pub cidr_column: Option<String>,
    pub new_only: bool,
    /// (table column, the row's field) pairs.
    pub outputs: Vec<(String, String)>,
    /// Filled in before the query runs (`Query::attach_lookups`).
    pub data: Option<std::sync::Arc<crate::cidr::CidrTable>>,
}

/// `join [type=inner|left] left=<l> right=<r> where <l>.<k> = <r>.<k> (SOURCE '<group>')`:
/// each row becomes one row per right-side row with an equal key, every field named
/// `<l>.<field>` / `<r>.<field>`; an inner join drops rows without a match, a left join keeps
/// them with their own fields only.
#[derive(Debug, Clone)]
pub struct JoinCmd {
    pub inner: bool,
    pub left: String,
    /// The left row's key field (without the alias); the right side's is in `Query`'s join.
    pub left_key: String,
    /// The right side's rows by key; filled in before the query runs (`Query::attach_join`).
    pub data: Option<Arc<JoinData>>,
}

/// The right side of a join: its rows' fields (already named `<r>.<field>`) by key.
#[derive(Debug, Default, PartialEq)]
pub struct JoinData {
    pub rows: std::collections::HashMap<String, Vec<Vec<(String, crate::value::Value)>>>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Fields(Vec<Proj>),
    Display(Vec<Proj>),
    /// Fields set on each row without changing which fields the results show (PPL's `eval`;
    /// no Logs Insights syntax makes it).
    Eval(Vec<Proj>),
    Filter(Expr),
    Stats(Box<StatsCmd>),
    Sort(Vec<SortKey>),
    /// Drops the first n rows (PPL's `head … from`, SQL's `OFFSET`; no Logs Insights syntax
    /// makes it). It follows a `limit` of the rows it skips plus those it keeps.
    Skip(usize),
    /// `limit n`, or `limit any n`: any n rows, so the scan may stop once it has them.
    Limit {
        n: usize,
        any: bool,
    },
    Parse {
        field: Expr,
        mode: ParseMode,
    },
    Dedup(Vec<Expr>),
    Unnest {
        field: Expr,
        into: String,
    },
    /// `expand field`: one row per element of the field's JSON array, the element under the
    /// field's own name.
    Expand(String),
    /// `json field=<field> "<path>" as <alias>`: the value at a dotted path of a JSON field
    /// (`value`: the expression that reads it), assigned to `alias` when there is one.
    Json {
        value: Expr,
        alias: String,
    },
    /// `pattern <expr>`: cluster the values into patterns (see `crate::pattern`).
    Pattern(Expr),
    /// `diff [previousDay|previousWeek|previousMonth]`, only directly after the collecting
    /// `pattern`.
    Diff(DiffPeriod),
    /// `anomaly`, only directly after the collecting `pattern`: marks anomalous patterns.
    Anomaly,
    Lookup(Box<LookupCmd>),
    CidrLookup(Box<CidrLookupCmd>),
    Join(Box<JoinCmd>),
    /// Commands over the rows as they stand, in their order ([`crate::rowcmds`]).
    Rows(RowCmd),
    /// `relevantfields [fields] where cond` ([`crate::relevant`]): every field of the rows
    /// (but those the condition names) when `fields` is empty.
    RelevantFields {
        fields: Vec<String>,
        cond: Expr,
        /// The fields the condition names.
        skip: Vec<String>,
    },
}

/// A window function of [`RowCmd::Window`].
#[derive(Debug, Clone, PartialEq)]
pub enum WindowFn {
    /// 1, 2, 3, … in the part's order.
    RowNumber,
    /// 1 + the rows before whose order values differ: ties share a rank, the next one skips.
    Rank,
    /// Ties share a rank, the next one does not skip.
    DenseRank,
    /// An aggregate over the part (`field` `None`: `COUNT(*)`); with an order, over the rows
    /// up to this one and those ordered equal to it (SQL's default frame).
    Agg {
        kind: WindowAgg,
        field: Option<String>,
    },
    /// The `field` value `offset` rows before (`lead`: after) in the part's order; `default`
    /// past the part's edge.
    Offset {
        field: String,
        offset: usize,
        default: crate::value::Value,
        lead: bool,
        /// `IGNORE NULLS`: the offset counts the rows with a value only.
        skip_nulls: bool,
    },
    /// The bucket (1 to n) of n about equal ones, the earlier ones one row larger.
    Ntile(usize),
    /// (rank − 1) / (rows − 1), 0 for a part of one row.
    PercentRank,
    /// The share of the part's rows ordered before or equal to this one.
    CumeDist,
    /// The `field` value of the frame's `nth` row (1: the first), or (`last`) its last row.
    Value {
        field: String,
        last: bool,
        nth: usize,
        /// `IGNORE NULLS`: counted among the rows with a value.
        skip_nulls: bool,
    },
}

/// The rows a window aggregate (or `first_value`/`last_value`) covers around each row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
}

/// What a [`Frame`]'s offsets count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    /// Rows, by place.
    Rows,
    /// The order value (one number, or a time in milliseconds); `CURRENT ROW` is the row and
    /// the rows ordered equal to it (its peers).
    Range,
    /// Groups of peers.
    Groups,
}

/// One end of a [`Frame`]: offsets are whole numbers for `ROWS` and `GROUPS`, any
/// non-negative number for `RANGE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameBound {
    /// The part's first row (as a start) or last (as an end).
    Unbounded,
    Preceding(f64),
    Current,
    Following(f64),
}

impl FrameBound {
    /// Where the bound lies in the part, kind by kind (an unbounded start is the part's first
    /// row, an unbounded end its last): a frame whose start lies after its end is refused.
    pub fn place(self, end: bool) -> u8 {
        match self {
            FrameBound::Unbounded if end => 4,
            FrameBound::Unbounded => 0,
            FrameBound::Preceding(_) => 1,
            FrameBound::Current => 2,
            FrameBound::Following(_) => 3,
        }
    }
}

/// The aggregates a window may compute ([`WindowFn::Agg`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowAgg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// Sample and population deviation and variance (a sample of one is null, as Spark's).
    StddevSamp,
    StddevPop,
    VarSamp,
    VarPop,
}

/// Result rows as field–value pairs (a subquery's, handed back by the caller).
pub type ResultRows = Vec<Vec<(String, String)>>;

/// The row-sequence commands: each runs over the rows the query holds at that point, in their
/// order (after `sort` or `stats` theirs, else newest first).
#[derive(Debug, Clone)]
pub enum RowCmd {
    /// `addtotals [fieldname=…] [row=…] [col=…] [fields]`: each row's sum of the fields (every
    /// numeric field when none is named) under `name`; with `col`, a last row of the columns'
    /// sums.
    AddTotals {
        name: String,
        row: bool,
        col: bool,
        fields: Vec<String>,
    },
    /// `filldown [patterns]`: each matching field's last value carried into the rows without
    /// one; no pattern: every field.
    FillDown(Vec<String>),
    /// PPL's `trendline sma(n, field) [as out]`: the mean of the field's numbers over the row
    /// and the n − 1 rows before it; no value on the first n − 1 rows. `weighted` (`wma`): the
    /// rows weigh 1 to n, oldest to this one, and every one of them needs a number. No Logs
    /// Insights syntax makes it.
    Trendline {
        n: usize,
        field: String,
        out: String,
        weighted: bool,
    },
    /// `accum field [AS out]`: the running sum of a numeric field.
    Accum { field: String, out: String },
    /// PPL's `dedup [n] fields [keepempty=…] [consecutive=…]` over the rows in their order:
    /// at most `keep` rows of each combination of the fields' values (with `consecutive`, of
    /// each run of equal combinations); a row missing one of them is dropped, or kept as it is
    /// with `keepempty`.
    Dedup {
        keys: Vec<String>,
        keep: usize,
        keepempty: bool,
        consecutive: bool,
        /// A missing value is a value of its own, counted as the others (`top … by`'s
        /// groups); else `keepempty` decides for such rows.
        null_key: bool,
    },
    /// PPL's `flatten field [as (names)]`: the keys of the field's object (a map, JSON object
    /// text, or the discovered `field.key` fields) become fields of their own, renamed in
    /// order by `aliases`, and the field goes; an array of objects gives a row per element.
    Flatten { field: String, aliases: Vec<String> },
    /// SQL's ranking and offset window functions (`ROW_NUMBER() OVER (PARTITION BY … ORDER BY
    /// …)`): the rows are split by their values of the `partition` fields, each part ordered
    /// by the `order` fields (`true`: descending; stable, rows without a value last), and each
    /// row gets its function's value as `out`; the rows keep their order. No Logs Insights
    /// syntax makes it.
    Window {
        func: WindowFn,
        partition: Vec<String>,
        /// (field, descending, rows without a value first).
        order: Vec<(String, bool, bool)>,
        /// `None`: SQL's default (the whole part without an order, else up to the row's last
        /// peer).
        frame: Option<Frame>,
        out: String,
    },
    /// `autoregress field [AS alias] [p=a[-b]]`: for each lag k, the field's value k rows up.
    Autoregress {
        field: String,
        lags: Vec<(usize, String)>,
    },
    /// `sessionize keys [maxspan period] [AS out]`: a session number per row, a session being
    /// the rows of one key combination with no gap longer than `gap_ms` between them.
    Sessionize {
        keys: Vec<String>,
        gap_ms: i64,
        out: String,
    },
    /// `fillmissing [with value for field, …]` directly after `stats … by bin(period)`: a row
    /// for every bin of the query's time range that has none, per combination of the other
    /// `by` keys, holding the keys and the given constants.
    /// `outlier [action=remove|transform] [param=n] [uselower=bool] [mark=bool] fields`:
    /// values beyond `Q3 + param·IQR` (and below `Q1 − param·IQR` with `uselower`) make their
    /// row an outlier: removed, or the values clamped to the bound; `mark` adds `_outlier`.
    Outlier {
        remove: bool,
        param: f64,
        lower: bool,
        mark: bool,
        fields: Vec<String>,
    },
    /// `appendcols [override=bool] [max=n] (subquery)`: row i of the subquery's rows (query
    /// `sub`, run by the caller) laid over row i; fields already there kept unless
    /// `override`; its rows past the query's become rows of their own.
    /// SQL's `UNION`/`INTERSECT`/`EXCEPT` (distinct): the first row of each combination of the
    /// columns' values (compared as `Value::key` does; a missing value equals another). No Logs
    /// Insights syntax makes it.
    Distinct(Vec<String>),
    /// PPL's `fields -`, `rename` and `expand … as` over whole records: the fields leave each
    /// row (rows shown whole are completed from their records before this runs).
    Drop(Vec<String>),
    /// SQL's set operations over subquery `sub`'s rows, each field of the subquery's (`from`)
    /// renamed as the query's in that place (`to`): `keep: None` (`UNION`) appends them,
    /// `Some(true)` (`INTERSECT`) keeps the rows equal to one of them, `Some(false)` (`EXCEPT`)
    /// drops those; with `all` (`INTERSECT ALL`, `EXCEPT ALL`) each of their rows pairs with
    /// one of the query's at most (`min(m, n)` and `max(m − n, 0)` copies of a row). No Logs
    /// Insights syntax makes it.
    UnionRows {
        sub: usize,
        keep: Option<bool>,
        all: bool,
        from: Vec<String>,
        to: Vec<String>,
        rows: Option<std::sync::Arc<ResultRows>>,
    },
    AppendCols {
        sub: usize,
        overwrite: bool,
        /// The fields the subquery shows.
        columns: Vec<String>,
        rows: Option<std::sync::Arc<ResultRows>>,
    },
    FillMissing {
        /// The bin column's name, its period and offset (from the `stats`).
        bin: String,
        period: (i64, crate::lexer::Unit),
        offset_ms: i64,
        /// Every `by` column, the bin's included, in order.
        keys: Vec<String>,
        fills: Vec<(String, crate::value::Value)>,
    },
}

impl RowCmd {
    /// The fields it reads (filldown's patterns are matched against the rows as they are).
    pub fn reads(&self) -> Vec<&str> {
        match self {
            RowCmd::AddTotals { fields, .. } => fields.iter().map(String::as_str).collect(),
            RowCmd::FillDown(_)
            | RowCmd::FillMissing { .. }
            | RowCmd::AppendCols { .. }
            | RowCmd::Drop(_)
            | RowCmd::UnionRows { .. } => Vec::new(),
            RowCmd::Distinct(cols) | RowCmd::Dedup { keys: cols, .. } => {
                cols.iter().map(String::as_str).collect()
            }
            RowCmd::Accum { field, .. }
            | RowCmd::Autoregress { field, .. }
            | RowCmd::Flatten { field, .. }
            | RowCmd::Trendline { field, .. } => vec![field],
            RowCmd::Window {
                func,
                partition,
                order,
                ..
            } => {
                let mut v: Vec<&str> = partition.iter().map(String::as_str).collect();
                v.extend(order.iter().map(|(f, ..)| f.as_str()));
                match func {
                    WindowFn::Offset { field, .. }
                    | WindowFn::Value { field, .. }
                    | WindowFn::Agg {
                        field: Some(field), ..
                    } => v.push(field),
                    _ => {}
                }
                v
            }
            RowCmd::Outlier { fields, .. } => fields.iter().map(String::as_str).collect(),
            RowCmd::Sessionize { keys, .. } => {
                let mut v: Vec<&str> = keys.iter().map(String::as_str).collect();
                v.push("@timestamp");
                v
            }
        }
    }

    /// The fields it writes.
    pub fn writes(&self) -> Vec<&str> {
        match self {
            RowCmd::AddTotals { name, row, .. } => {
                if *row {
                    vec![name]
                } else {
                    Vec::new()
                }
            }
            RowCmd::FillDown(_)
            | RowCmd::UnionRows { .. }
            | RowCmd::Distinct(_)
            | RowCmd::Drop(_)
            | RowCmd::Dedup { .. } => Vec::new(),
            RowCmd::FillMissing { fills, .. } => fills.iter().map(|(n, _)| n.as_str()).collect(),
            RowCmd::Flatten { aliases, .. } => aliases.iter().map(String::as_str).collect(),
            RowCmd::AppendCols { columns, .. } => columns.iter().map(String::as_str).collect(),
            RowCmd::Outlier { mark, .. } => {
                if *mark {
                    vec![crate::rowcmds::OUTLIER_MARK]
                } else {
                    Vec::new()
                }
            }
            RowCmd::Accum { out, .. }
            | RowCmd::Window { out, .. }
            | RowCmd::Sessionize { out, .. }
            | RowCmd::Trendline { out, .. } => vec![out],
            RowCmd::Autoregress { lags, .. } => lags.iter().map(|(_, n)| n.as_str()).collect(),
        }
    }
}

impl Command {
    /// Commands that can run record-by-record before any aggregation/ordering.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            Command::Fields(_)
                | Command::Display(_)
                | Command::Eval(_)
                | Command::Filter(_)
                | Command::Parse { .. }
                | Command::Unnest { .. }
                | Command::Expand(_)
                | Command::Json { .. }
                | Command::Lookup(_)
                | Command::CidrLookup(_)
                | Command::Join(_)
        )
    }
}
