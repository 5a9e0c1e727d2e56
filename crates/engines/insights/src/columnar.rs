//! `stats` over discovered-field columns, a block of records at a time.
//!
//! A query of the shape `[filter …]* | stats aggs by keys` whose filters, group keys and
//! aggregate arguments read nothing but discovered fields (and the keys `bin()` of the record
//! time) depends on a record only through its inputs' values. A block handed over as columns
//! ([`Block`]: per field a dictionary code or an integer per record) is therefore worked
//! through with one table per part of the query, keyed by the combination of that part's
//! inputs: the filters' verdict, the group, each argument's value are evaluated the first time
//! a combination is met in the block (by the same evaluator, on a row holding just those
//! inputs, so the answer is the one a record row gets) and looked up for every other record.
//! A record then costs a few lookups and an aggregate update.

use crate::agg::{fingerprint, AggState};
use crate::ast::{AggKind, Command, Expr, StatsCmd};
use crate::eval::{Evaluator, Row};
use crate::exec::{self, Collector, Groups, Plan};
use crate::functions::{floor_period, Env};
use crate::lexer::Unit;
use crate::value::{parse_num, Value};
use crate::{QueryContext, Stats};

/// One discovered field's values over a block's records.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// The distinct values laid end to end in `text` (entry `e` ends at `ends[e]`), and per
    /// record its entry (`u32::MAX`: the record has no such field).
    Dict {
        text: &'a str,
        ends: &'a [u32],
        codes: &'a [u32],
    },
    /// Per record the integer (printed canonically, it is the field's value), if present.
    Int(&'a [Option<i64>]),
    /// No record has the field.
    Absent,
}

/// Records with their discovered fields as columns (see [`crate::Execution::push_block`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Block<'a> {
    /// Per record its time (epoch ms).
    pub timestamps: &'a [i64],
    /// Record i's message is `offsets[i + 1] - offsets[i]` bytes long.
    pub offsets: &'a [usize],
    /// The columns of [`crate::Execution::column_fields`], in that order.
    pub columns: &'a [Column<'a>],
    /// Ids of the dictionary columns' entries that stay the same from block to block, when
    /// the columns have them (columns built from messages do; stored columns do not).
    pub entry_ids: EntryIds<'a>,
}

/// Per dictionary column, an id for each of its entries: equal ids (of one column, in blocks
/// of one `epoch`) mean equal values, so what is known of a value carries over from one block
/// to the next.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryIds<'a> {
    /// Per column, per dictionary entry its id (empty: the column has none).
    pub ids: &'a [&'a [u32]],
    pub epoch: u64,
}

/// Most inputs (fields) one part of the query may read.
const MAX_INPUTS: usize = 4;
/// Largest table indexed directly by dictionary codes (beyond, combinations are hashed).
const DENSE_MAX: usize = 4096;
/// Most cells of the table of records per group and dictionary entry.
const MAX_COUNTS: usize = 1 << 20;
/// A table entry not worked out yet.
const UNKNOWN: u32 = u32::MAX;

/// The indexes (into the plan's wanted fields) of every field some expressions may read:
/// each name and every dotted prefix of it (a row looks `a.b` up through `a`). `None` when
/// they read a system field or more than [`MAX_INPUTS`] fields.
pub(crate) fn inputs_of(wanted: &[String], names: &[String]) -> Option<Vec<usize>> {
    let mut inputs = Vec::new();
    for n in names {
        if exec::SYSTEM_FIELDS.contains(&n.as_str()) {
            return None;
        }
        let mut prefix = n.as_str();
        loop {
            if let Some(i) = wanted.iter().position(|w| w == prefix) {
                if !inputs.contains(&i) {
                    inputs.push(i);
                }
            }
            match prefix.rfind('.') {
                Some(p) => prefix = &prefix[..p],
                None => break,
            }
        }
    }
    inputs.sort_unstable();
    (inputs.len() <= MAX_INPUTS).then_some(inputs)
}

fn names_of(e: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    exec::visit_expr(e, &mut |n| names.push(n.to_string()));
    names
}

/// What each part of a column-fed query reads.
#[derive(Debug)]
struct Shape {
    /// The leading filters' inputs (`None`: no filter).
    filters: Option<Vec<usize>>,
    /// The group keys' inputs besides the record time.
    keys: Vec<usize>,
    /// The `bin()` period among the keys.
    bin: Option<(i64, Unit)>,
    /// Per aggregate, its argument's inputs and, when the argument is a field alone, which.
    args: Vec<Option<(Vec<usize>, Option<usize>)>>,
}

impl Shape {
    /// `skip`: leading commands the caller carries out itself (a `parse` of the messages).
    fn of(plan: &Plan, skip: usize) -> Option<Shape> {
        let Collector::Stats(s) = &plan.collector else {
            return None;
        };
        let mut names = Vec::new();
        for c in plan.prefix.iter().skip(skip) {
            let Command::Filter(e) = c else {
                return None;
            };
            if exec::reads_record_time(e) {
                return None;
            }
            names.extend(names_of(e));
        }
        let filters = match plan.prefix.len() <= skip {
            true => None,
            false => Some(inputs_of(&plan.wanted, &names)?),
        };
        let (mut bin, mut names) = (None, Vec::new());
        for p in &s.by {
            if !exec::reads_record_time(&p.expr) {
                names.extend(names_of(&p.expr));
                continue;
            }
            match &p.expr {
                Expr::Call { name, args, .. } if name == "bin" && bin.is_none() => {
                    match args.as_slice() {
                        [Expr::Dur(n, u)] => bin = Some((*n, *u)),
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        let keys = inputs_of(&plan.wanted, &names)?;
        let mut args = Vec::new();
        for a in &s.aggs {
            if matches!(
                a.kind,
                AggKind::Earliest | AggKind::Latest | AggKind::Rate | AggKind::Take
            ) {
                return None;
            }
            args.push(match &a.arg {
                None => None,
                Some(e) if exec::reads_record_time(e) => return None,
                Some(e) => {
                    let inputs = inputs_of(&plan.wanted, &names_of(e))?;
                    let bare = match e {
                        Expr::Field(f) => plan.wanted.iter().position(|w| w == f),
                        _ => None,
                    };
                    Some((inputs, bare))
                }
            });
        }
        Some(Shape {
            filters,
            keys,
            bin,
            args,
        })
    }
}

/// A block's table from the combinations of some inputs' values to what they decide: indexed
/// by the dictionary codes when they are few, else hashed. With a time bucket, the table
/// holds one bucket at a time (a block's records rarely span more than one).
#[derive(Default)]
struct Memo {
    dense: Vec<u32>,
    /// Per input, its weight in the dense index, and the code standing for an absent value.
    strides: [usize; MAX_INPUTS],
    absent: [u32; MAX_INPUTS],
    use_dense: bool,
    bucket: i64,
    map: std::collections::HashMap<[u64; MAX_INPUTS + 2], u32, foldhash::fast::RandomState>,
}

impl Memo {
    /// Empties the table for a block with these columns.
    fn reset(&mut self, inputs: &[usize], cols: &[Column<'_>]) {
        self.map.clear();
        self.bucket = i64::MIN;
        self.use_dense = true;
        let mut size = 1usize;
        for (j, &i) in inputs.iter().enumerate() {
            let width = match cols[i] {
                Column::Dict { ends, .. } => ends.len() + 1,
                Column::Absent => 1,
                Column::Int(_) => {
                    self.use_dense = false;
                    break;
                }
            };
            self.absent[j] = width as u32 - 1;
            self.strides[j] = size;
            size = size.saturating_mul(width);
            if size > DENSE_MAX {
                self.use_dense = false;
                break;
            }
        }
        if self.use_dense {
            self.dense.clear();
            self.dense.resize(size, UNKNOWN);
        }
    }

    /// The entry for record `r`'s combination (and time `bucket`).
    #[inline(always)]
    fn slot(&mut self, inputs: &[usize], cols: &[Column<'_>], r: usize, bucket: i64) -> &mut u32 {
        if self.use_dense {
            if bucket != self.bucket {
                self.bucket = bucket;
                self.dense.fill(UNKNOWN);
            }
            let mut at = 0;
            for (j, &i) in inputs.iter().enumerate() {
                if let Column::Dict { codes, .. } = cols[i] {
                    let c = codes[r];
                    let c = if c == u32::MAX { self.absent[j] } else { c };
                    at += c as usize * self.strides[j];
                }
            }
            return &mut self.dense[at];
        }
        let mut key = [0u64; MAX_INPUTS + 2];
        key[MAX_INPUTS] = bucket as u64;
        for (j, &i) in inputs.iter().enumerate() {
            key[j] = match cols[i] {
                Column::Dict { codes, .. } => u64::from(codes[r]),
                Column::Int(v) => match v[r] {
                    Some(x) => {
                        key[MAX_INPUTS + 1] |= 1 << j;
                        x as u64
                    }
                    None => 0,
                },
                Column::Absent => 0,
            };
        }
        self.map.entry(key).or_insert(UNKNOWN)
    }
}

/// Counts, per cell `group * e + code`, the records of each group (`of`, `UNKNOWN`: none) and
/// dictionary entry (`codes`, entries below `e`); writes each cell met the first time into
/// `touched` (room for every record and one more) and returns how many it wrote. Branch-free
/// in the cell's first-time test: with many distinct values it is a coin toss.
fn count_cells(
    of: &[u32],
    codes: &[u32],
    e: usize,
    counts: &mut [u32],
    touched: &mut [u32],
) -> usize {
    let mut used = 0;
    for (&l, &c) in of.iter().zip(codes) {
        let c = c as usize;
        if l == UNKNOWN || c >= e {
            continue;
        }
        let at = l as usize * e + c;
        let (Some(n), Some(t)) = (counts.get_mut(at), touched.get_mut(used)) else {
            continue;
        };
        *t = at as u32;
        used += usize::from(*n == 0);
        *n += 1;
    }
    used
}

/// An argument value met in a block, with what the aggregates read of it.
struct Known {
    value: Value,
    num: Option<f64>,
    fp: u128,
}

/// Per-run state of a column-fed query.
pub(crate) struct Columnar {
    shape: Shape,
    /// The run starts with a `parse` of the messages, which the caller carries out when it
    /// builds the columns ([`MessageColumns::fill`] with a [`ParseFill`]): stored columns
    /// never do.
    pub(crate) parsed: bool,
    filter: Memo,
    keys: Memo,
    args: Vec<Memo>,
    /// Per aggregate, the argument values met in the current block.
    known: Vec<Vec<Known>>,
    /// Per record of the current block, its group among `block_groups` (`UNKNOWN`: none).
    group_of: Vec<u32>,
    /// The groups records of the current block fall in, and where each is in that list.
    block_groups: Vec<u32>,
    local: std::collections::HashMap<u32, u32, foldhash::fast::RandomState>,
    /// Records per group and dictionary entry (all zero between blocks), and the cells the
    /// current block touched.
    counts: Vec<u32>,
    touched: Vec<u32>,
    /// Per dictionary entry of a numeric argument, its number.
    nums: Vec<Option<f64>>,
    /// Per aggregate, per group, the entry ids ([`EntryIds`]) whose values `count_distinct`
    /// already holds, as bits, for the epoch `seen_epoch`; `seen_words` counts their words.
    seen: Vec<Vec<Vec<u64>>>,
    seen_epoch: u64,
    seen_words: usize,
    row: Row,
    text: String,
}

/// Most words (of 64 entry ids) the `count_distinct` bit sets of a run may take (64 MiB).
const MAX_SEEN_WORDS: usize = 8 << 20;

/// How many dictionary entries a column has (0 for another kind).
fn cols_len(c: &Column<'_>) -> usize {
    match c {
        Column::Dict { ends, .. } => ends.len(),
        _ => 0,
    }
}

/// Sets `row` to record `r`'s values of `inputs` (as [`exec::fill_row_from`] lays them out)
/// at time `ts`.
fn fill(
    row: &mut Row,
    text: &mut String,
    wanted: &[String],
    inputs: &[usize],
    cols: &[Column<'_>],
    r: usize,
    ts: i64,
) {
    use std::fmt::Write;
    row.recycle();
    row.ts = ts;
    for &i in inputs {
        match cols[i] {
            Column::Dict {
                text: t,
                ends,
                codes,
            } => {
                let c = codes[r] as usize;
                if c < ends.len() {
                    let start = if c == 0 { 0 } else { ends[c - 1] as usize };
                    row.push_str(&wanted[i], t.get(start..ends[c] as usize).unwrap_or(""));
                }
            }
            Column::Int(v) => {
                if let Some(x) = v[r] {
                    text.clear();
                    let _ = write!(text, "{x}");
                    row.push_str(&wanted[i], text);
                }
            }
            Column::Absent => {}
        }
    }
}

impl Columnar {
    /// The column-fed state for a run of `plan`, if its shape allows.
    pub(crate) fn of(plan: &Plan) -> Option<Columnar> {
        Self::with(plan, false)
    }

    /// [`Columnar::of`] for a run starting with a `parse` of the messages.
    pub(crate) fn parsed(plan: &Plan) -> Option<Columnar> {
        Self::with(plan, true)
    }

    fn with(plan: &Plan, parsed: bool) -> Option<Columnar> {
        let shape = Shape::of(plan, usize::from(parsed))?;
        let n = shape.args.len();
        Some(Columnar {
            shape,
            parsed,
            filter: Memo::default(),
            keys: Memo::default(),
            args: (0..n).map(|_| Memo::default()).collect(),
            known: (0..n).map(|_| Vec::new()).collect(),
            group_of: Vec::new(),
            block_groups: Vec::new(),
            local: Default::default(),
            counts: Vec::new(),
            touched: Vec::new(),
            nums: Vec::new(),
            seen: (0..n).map(|_| Vec::new()).collect(),
            seen_epoch: 0,
            seen_words: 0,
            row: Row::default(),
            text: String::new(),
        })
    }

    /// Feeds block `b` (its columns aligned with `plan.wanted`) into `groups`: first each
    /// record's group (or none: outside the time range, or filtered out), then each
    /// aggregate's values.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        plan: &Plan,
        s: &StatsCmd,
        env: &Env,
        ctx: &QueryContext,
        groups: &mut Groups,
        stats: &mut Stats,
        b: &Block<'_>,
    ) {
        let (cols, n) = (b.columns, b.timestamps.len());
        if cols.len() != plan.wanted.len() || b.offsets.len() != n + 1 {
            return;
        }
        if cols.iter().any(|c| match c {
            Column::Dict { codes, .. } => codes.len() != n,
            Column::Int(v) => v.len() != n,
            Column::Absent => false,
        }) {
            return;
        }
        let shape = &self.shape;
        let ev = Evaluator {
            env,
            aggs: &[],
            bin_offset: 0,
        };
        let (wanted, row, text) = (&plan.wanted, &mut self.row, &mut self.text);
        if let Some(f) = &shape.filters {
            self.filter.reset(f, cols);
        }
        self.keys.reset(&shape.keys, cols);
        // Per record, its group among the block's (`local`: the groups' own indexes).
        let of = &mut self.group_of;
        of.clear();
        of.resize(n, UNKNOWN);
        let (local, block_groups) = (&mut self.local, &mut self.block_groups);
        local.clear();
        block_groups.clear();
        let (mut scanned, mut bytes, mut matched) = (0u64, 0usize, 0u64);
        // The usual block: every record in range, no filter, no time bin, grouped by at
        // most one dictionary field: one table lookup per record.
        let all_in = b
            .timestamps
            .iter()
            .all(|&t| t >= ctx.start_ms && t <= ctx.end_ms);
        let key_codes = match shape.keys.as_slice() {
            [] => Some(None),
            [i] => match cols[*i] {
                Column::Dict { codes, .. } => Some(Some(codes)),
                Column::Absent => Some(None),
                Column::Int(_) => None,
            },
            _ => None,
        };
        let quick = if let (true, None, None, true, Some(key_codes)) = (
            all_in,
            &shape.filters,
            shape.bin,
            self.keys.use_dense,
            key_codes,
        ) {
            let absent = self.keys.absent[0];
            for (r, o) in of.iter_mut().enumerate() {
                let at = key_codes.map_or(0, |codes| match codes[r] {
                    u32::MAX => absent,
                    c => c,
                }) as usize;
                let mut l = self.keys.dense[at];
                if l == UNKNOWN {
                    fill(row, text, wanted, &shape.keys, cols, r, b.timestamps[r]);
                    let g = groups.index_of(s, row, env) as u32;
                    let next = block_groups.len() as u32;
                    l = *local.entry(g).or_insert(next);
                    if l == next {
                        block_groups.push(g);
                    }
                    self.keys.dense[at] = l;
                }
                *o = l;
            }
            scanned = n as u64;
            bytes = b.offsets[n].saturating_sub(b.offsets[0]);
            matched = n as u64;
            true
        } else {
            false
        };
        for (r, &ts) in b.timestamps.iter().enumerate() {
            if quick || ts < ctx.start_ms || ts > ctx.end_ms {
                continue;
            }
            scanned += 1;
            bytes += b.offsets[r + 1].saturating_sub(b.offsets[r]);
            if let Some(f) = &shape.filters {
                let verdict = self.filter.slot(f, cols, r, 0);
                if *verdict == UNKNOWN {
                    fill(row, text, wanted, f, cols, r, ts);
                    let pass = plan
                        .prefix
                        .iter()
                        .all(|c| exec::apply_one(c, row, &ev, text));
                    *verdict = u32::from(pass);
                }
                if *verdict == 0 {
                    continue;
                }
            }
            matched += 1;
            let bucket = match shape.bin {
                Some((n, u)) => floor_period(ts - s.offset_ms, n, u),
                None => 0,
            };
            let group = self.keys.slot(&shape.keys, cols, r, bucket);
            if *group == UNKNOWN {
                fill(row, text, wanted, &shape.keys, cols, r, ts);
                let g = groups.index_of(s, row, env) as u32;
                let next = block_groups.len() as u32;
                let l = *local.entry(g).or_insert(next);
                if l == next {
                    block_groups.push(g);
                }
                *group = l;
            }
            of[r] = *group;
        }
        stats.records_scanned += scanned as f64;
        stats.bytes_scanned += bytes as f64;
        stats.records_matched += matched as f64;
        if matched == 0 {
            return;
        }
        let picked = || {
            of.iter()
                .enumerate()
                .filter(|(_, &l)| l != UNKNOWN)
                .map(|(r, &l)| (r, block_groups[l as usize] as usize))
        };
        for (j, a) in s.aggs.iter().enumerate() {
            if a.kind == AggKind::CountStar {
                for (_, g) in picked() {
                    groups.states_mut(g)[j].add_num(0.0);
                }
                continue;
            }
            let Some((inputs, bare)) = &shape.args[j] else {
                continue;
            };
            // Distinct values of a field alone whose entries have ids: each group's values are
            // fingerprinted and added once in the whole run, not once per block.
            if let (AggKind::CountDistinct, Some(i)) = (a.kind, *bare) {
                if let (
                    Column::Dict {
                        text: t,
                        ends,
                        codes,
                    },
                    Some(ids),
                ) = (
                    cols[i],
                    b.entry_ids
                        .ids
                        .get(i)
                        .filter(|x| x.len() == cols_len(&cols[i])),
                ) {
                    if self.seen_epoch != b.entry_ids.epoch {
                        // The fingerprints handed over as new under the old ids go into the
                        // sets first: the new ids meet their values again.
                        for (k, seen) in self.seen.iter().enumerate() {
                            for g in 0..seen.len() {
                                if let AggState::Distinct(set) = &mut groups.states_mut(g)[k] {
                                    set.absorb();
                                }
                            }
                        }
                        self.seen.iter_mut().for_each(Vec::clear);
                        self.seen_epoch = b.entry_ids.epoch;
                        self.seen_words = 0;
                    }
                    let most = ids.iter().max().map_or(0, |&m| m as usize / 64 + 1);
                    let seen = &mut self.seen[j];
                    let grow: usize = block_groups
                        .iter()
                        .map(|&g| most.saturating_sub(seen.get(g as usize).map_or(0, Vec::len)))
                        .sum();
                    if self.seen_words + grow <= MAX_SEEN_WORDS {
                        self.seen_words += grow;
                        for &g in block_groups.iter() {
                            let g = g as usize;
                            if seen.len() <= g {
                                seen.resize_with(g + 1, Vec::new);
                            }
                            if seen[g].len() < most {
                                seen[g].resize(most, 0);
                            }
                        }
                        for (r, g) in picked() {
                            let c = codes[r] as usize;
                            let Some(&id) = ids.get(c) else { continue };
                            let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
                            let word = &mut seen[g][w];
                            if *word & bit != 0 {
                                continue;
                            }
                            *word |= bit;
                            let start = if c == 0 { 0 } else { ends[c - 1] as usize };
                            let entry = t.get(start..ends[c] as usize).unwrap_or("");
                            if let AggState::Distinct(set) = &mut groups.states_mut(g)[j] {
                                text.clear();
                                crate::value::str_key_into(entry, text);
                                // Ids are per text: only a text that is its own key (a
                                // number written canonically) is known new; `1.0` after `1`
                                // is the same value under another id.
                                let own = match text.strip_prefix('\u{1}') {
                                    Some(num) => num == entry,
                                    None => text == entry && !entry.starts_with('\u{1}'),
                                };
                                if own {
                                    set.add_new(fingerprint(text));
                                } else {
                                    set.insert(fingerprint(text));
                                }
                            }
                        }
                        continue;
                    }
                }
            }
            let numeric = matches!(
                a.kind,
                AggKind::Count
                    | AggKind::Sum
                    | AggKind::Avg
                    | AggKind::Pct
                    | AggKind::Percentile
                    | AggKind::Histogram
                    | AggKind::Stddev
            );
            match bare.map(|i| cols[i]) {
                // A field alone, read as a number (`count` only asks whether it is there).
                Some(Column::Int(v)) if numeric => {
                    for (r, g) in picked() {
                        if let Some(x) = v[r] {
                            groups.states_mut(g)[j].add_num(x as f64);
                        }
                    }
                    continue;
                }
                // Percentiles and distinct counts of a field alone: each value's records
                // counted per group, and each value met added once with its count.
                Some(Column::Dict {
                    text: t,
                    ends,
                    codes,
                }) if matches!(
                    a.kind,
                    AggKind::Pct
                        | AggKind::Percentile
                        | AggKind::Histogram
                        | AggKind::CountDistinct
                ) && block_groups.len() * ends.len() <= MAX_COUNTS =>
                {
                    let e = ends.len();
                    // The table stays zeroed between blocks: only the cells touched are
                    // read and cleared.
                    let (counts, touched) = (&mut self.counts, &mut self.touched);
                    if counts.len() < block_groups.len() * e {
                        counts.resize(block_groups.len() * e, 0);
                    }
                    touched.clear();
                    touched.resize(n + 1, 0);
                    let used = count_cells(of, codes, e, counts, touched);
                    touched.truncate(used);
                    for &at in touched.iter() {
                        let at = at as usize;
                        let k = std::mem::take(&mut counts[at]);
                        let (l, c) = (at / e, at % e);
                        let start = if c == 0 { 0 } else { ends[c - 1] as usize };
                        let entry = t.get(start..ends[c] as usize).unwrap_or("");
                        let st = &mut groups.states_mut(block_groups[l] as usize)[j];
                        if a.kind != AggKind::CountDistinct {
                            if let Some(x) = parse_num(entry) {
                                st.add_many(x, u64::from(k));
                            }
                        } else if let AggState::Distinct(set) = st {
                            text.clear();
                            crate::value::str_key_into(entry, text);
                            set.insert(fingerprint(text));
                        }
                    }
                    continue;
                }
                Some(Column::Dict {
                    text: t,
                    ends,
                    codes,
                }) if numeric => {
                    let nums = &mut self.nums;
                    nums.clear();
                    let mut start = 0;
                    for &end in ends {
                        let e = t.get(start..end as usize).unwrap_or("");
                        start = end as usize;
                        // `count` counts every value: its entries all count as 0.
                        nums.push(match a.kind {
                            AggKind::Count => Some(0.0),
                            _ => parse_num(e),
                        });
                    }
                    for (r, g) in picked() {
                        if let Some(Some(x)) = nums.get(codes[r] as usize) {
                            groups.states_mut(g)[j].add_num(*x);
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let (memo, known) = (&mut self.args[j], &mut self.known[j]);
            memo.reset(inputs, cols);
            known.clear();
            for (r, g) in picked() {
                let at = memo.slot(inputs, cols, r, 0);
                if *at == UNKNOWN {
                    fill(row, text, wanted, inputs, cols, r, b.timestamps[r]);
                    let value = a.arg.as_ref().map_or(Value::Null, |e| ev.eval(e, row));
                    let fp = if a.kind == AggKind::CountDistinct && !value.is_null() {
                        value.key_into(text);
                        fingerprint(text)
                    } else {
                        0
                    };
                    known.push(Known {
                        num: value.as_num(),
                        value,
                        fp,
                    });
                    *at = known.len() as u32 - 1;
                }
                let k = &known[*at as usize];
                if !k.value.is_null() {
                    groups.states_mut(g)[j].update_known(a.kind, &k.value, k.num, k.fp, text);
                }
            }
        }
    }
}

/// One field's values over a block of messages, built as a dictionary column whose entries
/// have ids kept from block to block ([`EntryIds`]).
#[derive(Default)]
struct BuiltField {
    text: String,
    ends: Vec<u32>,
    codes: Vec<u32>,
    /// Per entry of the block, its id.
    ids: Vec<u32>,
    /// Every value met since the ids' epoch began, by id, end to end.
    id_text: String,
    id_ends: Vec<u32>,
    /// Per id, its entry in the current block (`u32::MAX`: none yet).
    entry_of: Vec<u32>,
    /// Value hash → the first id with it.
    index: std::collections::HashMap<u64, IdSlot, std::hash::BuildHasherDefault<AsIs>>,
    /// The ids of values whose hash another value took first: one id per text here too, so
    /// equal texts always share an id and different ids always mean different texts.
    spill: std::collections::HashMap<Box<str>, u32>,
}

/// An id in [`BuiltField::index`], with its value's length and first bytes: a short value is
/// told from another without reading the values' text.
#[derive(Clone, Copy)]
struct IdSlot {
    id: u32,
    len: u32,
    head: [u8; IdSlot::HEAD],
}

impl IdSlot {
    const HEAD: usize = 16;

    fn new(id: u32, v: &str) -> IdSlot {
        let mut head = [0; Self::HEAD];
        let n = v.len().min(Self::HEAD);
        head[..n].copy_from_slice(&v.as_bytes()[..n]);
        IdSlot {
            id,
            len: v.len() as u32,
            head,
        }
    }

    /// Whether `v` is this id's value.
    #[inline]
    fn holds(&self, v: &str, f: &BuiltField) -> bool {
        let n = v.len().min(Self::HEAD);
        v.len() == self.len as usize
            && crate::bytes::same(&v.as_bytes()[..n], &self.head[..n])
            && (v.len() <= Self::HEAD
                || crate::bytes::same(f.id_value(self.id).as_bytes(), v.as_bytes()))
    }
}

/// Hashes a key that is already a hash (an [`BuiltField::index`] key) as itself.
#[derive(Default, Clone, Copy)]
struct AsIs(u64);

impl std::hash::Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// Past this many ids, or bytes of their values, in a field, the ids start over (a new epoch).
const MAX_IDS: usize = 1 << 20;
const MAX_ID_BYTES: usize = 64 << 20;

impl BuiltField {
    fn id_value(&self, id: u32) -> &str {
        let i = id as usize;
        let start = if i == 0 {
            0
        } else {
            self.id_ends[i - 1] as usize
        };
        self.id_text
            .get(start..self.id_ends[i] as usize)
            .unwrap_or("")
    }

    /// Empties the block; with `forget`, the ids too.
    fn clear(&mut self, forget: bool) {
        for &id in &self.ids {
            if let Some(e) = self.entry_of.get_mut(id as usize) {
                *e = u32::MAX;
            }
        }
        self.text.clear();
        self.ends.clear();
        self.codes.clear();
        self.ids.clear();
        if forget {
            self.id_text.clear();
            self.id_ends.clear();
            self.entry_of.clear();
            self.index.clear();
            self.spill.clear();
        }
    }
}

/// A `parse` of the messages that [`MessageColumns::fill`] carries out: the wanted names it
/// assigns (looked for in the message only when it leaves them unset) and the other wanted
/// names.
pub(crate) struct ParseFill<'a> {
    pub(crate) mode: &'a crate::ast::ParseMode,
    pub(crate) names: &'a [String],
    pub(crate) rest: &'a [String],
}

/// Columns built from messages, for blocks the store keeps no columns for: each record's
/// wanted fields found by the validating scanner (as a record row would get them), each
/// field's values deduplicated into a dictionary.
#[derive(Default)]
pub(crate) struct MessageColumns {
    scanner: crate::fieldscan::FieldScanner,
    /// For the names a parse left unset (its own, so the keys it keeps stay).
    unset_scanner: crate::fieldscan::FieldScanner,
    unset: Vec<String>,
    fields: Vec<BuiltField>,
    /// The names `fields` were built for (their ids hold for these names only).
    names: Vec<String>,
    /// Bumped whenever the entry ids start over.
    epoch: u64,
    timestamps: Vec<i64>,
    offsets: Vec<usize>,
}

impl MessageColumns {
    /// Reads `records` (time, message, whether the store marked the message flat) for the
    /// fields `wanted`; with `parse`, each message is parsed first, as a record's row would be.
    pub(crate) fn fill<'m>(
        &mut self,
        wanted: &[String],
        records: impl Iterator<Item = (i64, &'m str, bool)>,
        parse: Option<&ParseFill<'_>>,
    ) {
        use std::hash::BuildHasher;
        let forget = self.names.as_slice() != wanted
            || self
                .fields
                .iter()
                .any(|f| f.id_ends.len() > MAX_IDS || f.id_text.len() > MAX_ID_BYTES);
        if forget {
            self.names = wanted.to_vec();
            self.epoch += 1;
        }
        self.fields.resize_with(wanted.len(), BuiltField::default);
        for f in &mut self.fields {
            f.clear(forget);
        }
        self.timestamps.clear();
        self.offsets.clear();
        self.offsets.push(0);
        let hasher = foldhash::fast::FixedState::default();
        // Record `n`'s value `v` of the wanted name `k` (a name given twice: the last value,
        // as a row sees it).
        // The parse's names, by address (it names its captures by its own strings), with
        // the wanted name each is.
        let aliases: Vec<(usize, usize, usize)> = parse
            .map(|p| {
                p.mode
                    .names()
                    .into_iter()
                    .filter_map(|m| {
                        let j = wanted.iter().position(|w| w == m)?;
                        Some((m.as_ptr() as usize, m.len(), j))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let put = |fields: &mut [BuiltField], n: usize, k: &str, v: &str| {
            // The scanner mostly names a field by the wanted name itself, the parse by its own.
            let Some(j) = wanted
                .iter()
                .position(|w| std::ptr::eq(w.as_str(), k))
                .or_else(|| {
                    let at = (k.as_ptr() as usize, k.len());
                    aliases.iter().find(|a| (a.0, a.1) == at).map(|a| a.2)
                })
                .or_else(|| wanted.iter().position(|w| w == k))
            else {
                return;
            };
            let f = &mut fields[j];
            let h = hasher.hash_one(v);
            let id = match f.index.get(&h) {
                Some(slot) if slot.holds(v, f) => slot.id,
                Some(_) if f.spill.contains_key(v) => f.spill[v],
                known => {
                    let vacant = known.is_none();
                    f.id_text.push_str(v);
                    f.id_ends.push(f.id_text.len() as u32);
                    f.entry_of.push(u32::MAX);
                    let id = f.id_ends.len() as u32 - 1;
                    if vacant {
                        f.index.insert(h, IdSlot::new(id, v));
                    } else {
                        f.spill.insert(v.into(), id);
                    }
                    id
                }
            };
            let code = match f.entry_of[id as usize] {
                u32::MAX => {
                    f.text.push_str(v);
                    f.ends.push(f.text.len() as u32);
                    f.ids.push(id);
                    let e = f.ends.len() as u32 - 1;
                    f.entry_of[id as usize] = e;
                    e
                }
                e => e,
            };
            f.codes[n] = code;
        };
        // Per name of the parse, its wanted field.
        let name_at: Vec<Option<usize>> = parse
            .map(|p| {
                p.names
                    .iter()
                    .map(|m| wanted.iter().position(|w| w == m))
                    .collect()
            })
            .unwrap_or_default();
        for (n, (ts, message, flat)) in records.enumerate() {
            self.timestamps.push(ts);
            let end = self.offsets[n] + message.len();
            self.offsets.push(end);
            for f in &mut self.fields {
                f.codes.push(u32::MAX);
            }
            let fields = &mut self.fields;
            let Some(p) = parse else {
                self.scanner
                    .extract_marked(message, flat, wanted, &mut |k, v| put(fields, n, k, v));
                continue;
            };
            // As a row: the other discovered fields, then the parse's captures over them, then
            // the discovered fields of the parse's names it left unset.
            if !p.rest.is_empty() {
                self.scanner
                    .extract_marked(message, flat, p.rest, &mut |k, v| put(fields, n, k, v));
            }
            crate::exec::parse_captures(p.mode, message, &mut |k, v| put(fields, n, k, v));
            let is_unset = |fields: &[BuiltField], i: usize| {
                name_at[i].is_some_and(|j| fields[j].codes[n] == u32::MAX)
            };
            let left = (0..p.names.len()).filter(|&i| is_unset(fields, i)).count();
            let names = if left == p.names.len() {
                p.names
            } else if left > 0 {
                self.unset.clear();
                let fields: &[BuiltField] = fields;
                self.unset.extend(
                    (0..p.names.len())
                        .filter(|&i| is_unset(fields, i))
                        .map(|i| p.names[i].clone()),
                );
                &self.unset
            } else {
                continue;
            };
            self.unset_scanner
                .extract_marked(message, flat, names, &mut |k, v| put(fields, n, k, v));
        }
    }

    /// The block [`MessageColumns::fill`] read (`columns` and `ids`: room for its parts).
    pub(crate) fn block<'a>(
        &'a self,
        columns: &'a mut Vec<Column<'a>>,
        ids: &'a mut Vec<&'a [u32]>,
    ) -> Block<'a> {
        columns.clear();
        columns.extend(self.fields.iter().map(|f| Column::Dict {
            text: &f.text,
            ends: &f.ends,
            codes: &f.codes,
        }));
        ids.clear();
        ids.extend(self.fields.iter().map(|f| f.ids.as_slice()));
        Block {
            timestamps: &self.timestamps,
            offsets: &self.offsets,
            columns,
            entry_ids: EntryIds {
                ids,
                epoch: self.epoch,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (epoch, per record its value and its entry's id) of field `f` of a block.
    fn read(m: &MessageColumns, f: usize) -> (u64, Vec<(String, u32)>) {
        let (mut columns, mut ids) = (Vec::new(), Vec::new());
        let b = m.block(&mut columns, &mut ids);
        let Column::Dict { text, ends, codes } = b.columns[f] else {
            panic!("not a dictionary");
        };
        let rows = codes
            .iter()
            .map(|&c| {
                let c = c as usize;
                let start = if c == 0 { 0 } else { ends[c - 1] as usize };
                (
                    text[start..ends[c] as usize].to_string(),
                    b.entry_ids.ids[f][c],
                )
            })
            .collect();
        (b.entry_ids.epoch, rows)
    }

    #[test]
    fn built_entries_keep_their_ids_from_block_to_block() {
        let wanted = vec!["u".to_string(), "r".to_string()];
        let block = |us: &[&str]| {
            us.iter()
                .map(|u| format!(r#"{{"u":"{u}","r":"/x"}}"#))
                .collect::<Vec<_>>()
        };
        let mut m = MessageColumns::default();
        let one = block(&["a", "b", "a", "c"]);
        m.fill(&wanted, one.iter().map(|s| (0, s.as_str(), false)), None);
        let (e1, first) = read(&m, 0);
        assert_eq!(first[0].1, first[2].1, "one value, one id");
        assert_ne!(first[0].1, first[1].1);
        let two = block(&["c", "d", "a"]);
        m.fill(&wanted, two.iter().map(|s| (0, s.as_str(), false)), None);
        let (e2, second) = read(&m, 0);
        assert_eq!(e1, e2);
        let id_of = |rows: &[(String, u32)], v: &str| rows.iter().find(|r| r.0 == v).unwrap().1;
        for v in ["a", "c"] {
            assert_eq!(id_of(&first, v), id_of(&second, v), "{v}");
        }
        assert!(!first.iter().any(|r| r.1 == id_of(&second, "d")));
        assert_eq!(
            second.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["c", "d", "a"]
        );
        // Other names: the ids start over, in a new epoch.
        let other = vec!["r".to_string()];
        m.fill(&other, two.iter().map(|s| (0, s.as_str(), false)), None);
        assert_ne!(read(&m, 0).0, e2);
    }
}
