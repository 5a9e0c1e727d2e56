//! What the other query languages ([`crate::ppl`], [`crate::sql`]) share: their queries are
//! translated into Logs Insights text, piece by piece, and parsed by its parser.

use crate::ast::Command;
use crate::QueryError;

type R<T> = Result<T, QueryError>;

/// A field name as Logs Insights reads it. A name holding a back quote (a column PPL names
/// after the text of an aggregate such as ``max(`ms`)``) cannot be written there: it goes in
/// as a placeholder, renamed once parsed ([`rename`]).
pub(crate) fn name(n: &str, _start: usize, _end: usize) -> R<String> {
    if n.contains('`') {
        return PLACEHOLDERS.with(|p| {
            let mut p = p.borrow_mut();
            let at = match p.iter().position(|x| x == n) {
                Some(i) => i,
                None => {
                    p.push(n.to_string());
                    p.len() - 1
                }
            };
            Ok(format!("`{PLACEHOLDER}{at}`"))
        });
    }
    Ok(format!("`{n}`"))
}

/// Marks a placeholder name (no query's field starts with this control character).
pub(crate) const PLACEHOLDER: char = '\u{1}';

thread_local! {
    /// Whether this thread is translating a PPL or SQL query ([`translating`]): only then may
    /// the text name the engine's functions for those languages ([`INTERNAL_FUNCTIONS`]).
    static IN_TRANSLATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The names standing in for placeholder `i` during one [`parse_ppl`].
    pub(crate) static PLACEHOLDERS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How deep subqueries (PPL's subsearches) may nest: `x in [ source = a | where y in
/// [ source = b | … ] | … ]` is 2. Each level is a scan of its own.
pub(crate) const MAX_SUBQUERY_DEPTH: usize = 3;

thread_local! {
    /// The subqueries being translated around the current one.
    static SUBQUERY_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The Logs Insights text comparing `values` (their text) together with the rows of a
/// subquery over `group` (its query put in once parsed; its fields matched in order):
/// `ppl_tuple(a, b) in (SOURCE 'g' | fields t0, t1)`.
pub(crate) fn tuple_in(values: &[String], group: &str) -> String {
    let names: Vec<String> = (0..values.len()).map(|i| format!("`t{i}`")).collect();
    format!(
        "{}({}) in (SOURCE '{group}' | fields {})",
        crate::functions::TUPLE_FN,
        values.join(", "),
        names.join(", ")
    )
}

/// The refusal of a subquery nested deeper than [`MAX_SUBQUERY_DEPTH`].
pub(crate) fn too_deep(what: &str) -> String {
    format!("{what} nest at most {MAX_SUBQUERY_DEPTH} levels deep")
}

/// Translates a subquery (`f`) one level deeper than the one being translated; `None` past
/// [`MAX_SUBQUERY_DEPTH`].
pub(crate) fn subquery_level<T>(f: impl FnOnce() -> R<T>) -> Option<R<T>> {
    let depth = SUBQUERY_DEPTH.with(|d| d.get());
    if depth >= MAX_SUBQUERY_DEPTH {
        return None;
    }
    SUBQUERY_DEPTH.with(|d| d.set(depth + 1));
    let r = f();
    SUBQUERY_DEPTH.with(|d| d.set(depth));
    Some(r)
}

/// The real name of a placeholder.
pub(crate) fn real(n: &str) -> Option<String> {
    let i: usize = n.strip_prefix(PLACEHOLDER)?.parse().ok()?;
    PLACEHOLDERS.with(|p| p.borrow().get(i).cloned())
}

/// Gives placeholders their real names in the parsed commands: the names they set and every
/// field their expressions read.
pub(crate) fn rename(cmds: &mut [crate::ast::Command]) {
    use crate::ast::{Command, Proj};
    let fix = |p: &mut Proj| {
        if let Some(r) = real(&p.name) {
            p.name = r;
        }
        rename_expr(&mut p.expr);
    };
    for c in cmds {
        match c {
            Command::Stats(s) => {
                s.items.iter_mut().chain(s.by.iter_mut()).for_each(fix);
                s.aggs
                    .iter_mut()
                    .filter_map(|a| a.arg.as_mut())
                    .for_each(rename_expr);
            }
            Command::Fields(ps) | Command::Display(ps) | Command::Eval(ps) => {
                ps.iter_mut().for_each(fix)
            }
            Command::Filter(e) => rename_expr(e),
            Command::Sort(keys) => keys.iter_mut().for_each(|k| rename_expr(&mut k.expr)),
            Command::Dedup(es) => es.iter_mut().for_each(rename_expr),
            _ => {}
        }
    }
}

fn rename_expr(e: &mut crate::ast::Expr) {
    crate::exec::walk_mut(e, &mut |x| {
        if let crate::ast::Expr::Field(f) = x {
            if let Some(r) = real(f) {
                *f = r;
            }
        }
        false
    });
}

/// Functions PPL and SQL both call by these names → (Logs Insights function, fewest and most
/// arguments); each language adds its own.
pub(crate) const COMMON_FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("abs", "abs", 1, 1),
    ("ceil", "ceil", 1, 1),
    ("ceiling", "ceil", 1, 1),
    ("floor", "floor", 1, 1),
    ("sqrt", "sqrt", 1, 1),
    ("ln", "log", 1, 1),
    ("round", "round", 1, 2),
    ("lower", "tolower", 1, 1),
    ("upper", "toupper", 1, 1),
    ("trim", "trim", 1, 1),
    ("ltrim", "ltrim", 1, 1),
    ("rtrim", "rtrim", 1, 1),
    ("length", "strlen", 1, 1),
    ("replace", "replace", 3, 3),
    ("coalesce", "coalesce", 1, 64),
    ("ifnull", "coalesce", 2, 2),
    ("if", "if", 3, 3),
    ("md5", "md5", 1, 1),
];

/// Whether the text being parsed is a PPL or SQL translation (see [`INTERNAL_FUNCTIONS`]).
pub(crate) fn in_translation() -> bool {
    IN_TRANSLATION.with(|t| t.get())
}

/// Functions PPL and SQL name alike that Logs Insights has no counterpart for: the engine has
/// them under `ppl_…` names that only a translation may call (a Logs Insights query naming
/// one is told the function is unknown), with (fewest, most) arguments.
pub(crate) const INTERNAL_FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    // (No query can name it: `(a, b) in (subquery)` is translated to it.)
    ("\u{1}tuple", crate::functions::TUPLE_FN, 1, 64),
    ("acos", "ppl_acos", 1, 1),
    ("asin", "ppl_asin", 1, 1),
    ("atan", "ppl_atan", 1, 2),
    ("atan2", "ppl_atan2", 2, 2),
    ("cos", "ppl_cos", 1, 1),
    ("cot", "ppl_cot", 1, 1),
    ("sin", "ppl_sin", 1, 1),
    ("tan", "ppl_tan", 1, 1),
    ("degrees", "ppl_degrees", 1, 1),
    ("radians", "ppl_radians", 1, 1),
    ("log", "ppl_log", 1, 2),
    ("log2", "ppl_log2", 1, 1),
    ("log10", "ppl_log10", 1, 1),
    ("cbrt", "ppl_cbrt", 1, 1),
    ("crc32", "ppl_crc32", 1, 1),
    ("conv", "ppl_conv", 3, 3),
    ("reverse", "ppl_reverse", 1, 1),
    ("right", "ppl_right", 2, 2),
    ("nullif", "ppl_nullif", 2, 2),
    ("sha1", "ppl_sha1", 1, 1),
    ("year", "ppl_year", 1, 1),
    ("month", "ppl_month", 1, 1),
    ("month_of_year", "ppl_month", 1, 1),
    ("day", "ppl_day", 1, 1),
    ("dayofmonth", "ppl_day", 1, 1),
    ("day_of_month", "ppl_day", 1, 1),
    ("dayofweek", "ppl_dayofweek", 1, 1),
    ("day_of_week", "ppl_dayofweek", 1, 1),
    ("dayofyear", "ppl_dayofyear", 1, 1),
    ("day_of_year", "ppl_dayofyear", 1, 1),
    ("dayname", "ppl_dayname", 1, 1),
    ("monthname", "ppl_monthname", 1, 1),
    ("hour", "ppl_hour", 1, 1),
    ("hour_of_day", "ppl_hour", 1, 1),
    ("minute", "ppl_minute", 1, 1),
    ("minute_of_hour", "ppl_minute", 1, 1),
    ("second", "ppl_second", 1, 1),
    ("second_of_minute", "ppl_second", 1, 1),
    ("quarter", "ppl_quarter", 1, 1),
    ("weekday", "ppl_weekday", 1, 1),
    ("week", "ppl_week", 1, 1),
    ("week_of_year", "ppl_week", 1, 1),
    ("weekofyear", "ppl_week", 1, 1),
    ("last_day", "ppl_last_day", 1, 1),
    ("from_unixtime", "ppl_from_unixtime", 1, 1),
    ("unix_timestamp", "ppl_unix_timestamp", 0, 1),
    ("now", "ppl_now", 0, 0),
    ("sysdate", "ppl_now", 0, 0),
    ("localtimestamp", "ppl_now", 0, 0),
    ("localtime", "ppl_now", 0, 0),
    ("utc_timestamp", "ppl_now", 0, 0),
    ("current_timestamp", "ppl_now", 0, 0),
    ("current_timezone", "ppl_timezone", 0, 0),
    ("timestamp", "ppl_timestamp", 1, 2),
    ("time", "ppl_time", 1, 1),
    ("time_to_sec", "ppl_time_to_sec", 1, 1),
    ("sec_to_time", "ppl_sec_to_time", 1, 1),
    ("microsecond", "ppl_microsecond", 1, 1),
    ("timediff", "ppl_timediff", 2, 2),
    ("addtime", "ppl_addtime", 2, 2),
    ("subtime", "ppl_subtime", 2, 2),
    ("makedate", "ppl_makedate", 2, 2),
    ("to_days", "ppl_to_days", 1, 1),
    ("from_days", "ppl_from_days", 1, 1),
    ("convert_tz", "ppl_convert_tz", 3, 3),
    ("utc_date", "ppl_current_date", 0, 0),
    ("utc_time", "ppl_utc_time", 0, 0),
    ("curtime", "ppl_utc_time", 0, 0),
    ("current_time", "ppl_utc_time", 0, 0),
    ("date", "ppl_date", 1, 1),
    ("make_date", "ppl_make_date", 3, 3),
    ("date_add", "ppl_date_add", 2, 2),
    ("adddate", "ppl_date_add", 2, 2),
    ("date_sub", "ppl_date_sub", 2, 2),
    ("subdate", "ppl_date_sub", 2, 2),
    ("current_date", "ppl_current_date", 0, 0),
    ("curdate", "ppl_current_date", 0, 0),
    ("concat_ws", "ppl_concat_ws", 2, 64),
    ("timestampdiff", "ppl_timestampdiff", 3, 3),
    ("timestampadd", "ppl_timestampadd", 3, 3),
    ("datediff", "ppl_datediff", 2, 2),
    ("locate", "ppl_locate", 2, 3),
    ("lpad", "ppl_lpad", 2, 3),
    ("rpad", "ppl_rpad", 2, 3),
    ("initcap", "ppl_initcap", 1, 1),
    ("repeat", "ppl_repeat", 2, 2),
    ("ascii", "ppl_ascii", 1, 1),
    ("regexp_extract", "ppl_regexp_extract", 2, 3),
    ("regexp_like", "ppl_rlike", 2, 2),
    ("rlike", "ppl_rlike", 2, 2),
    ("regexp", "ppl_rlike", 2, 2),
    ("startswith", "ppl_startswith", 2, 2),
    ("endswith", "ppl_endswith", 2, 2),
    ("contains", "ppl_contains", 2, 2),
    // SQL's CAST to the small integers and to BOOLEAN; no query can name them.
    ("\u{1}tinyint", "ppl_tinyint", 1, 1),
    ("\u{1}smallint", "ppl_smallint", 1, 1),
    ("\u{1}boolean", "ppl_boolean", 1, 1),
    ("\u{1}xor", "ppl_xor", 2, 2),
    ("\u{1}null_safe_eq", "ppl_null_safe_eq", 2, 2),
    ("\u{1}trim_chars", "ppl_trim_chars", 3, 3),
    ("split_part", "ppl_split_part", 3, 3),
    ("hex", "ppl_hex", 1, 1),
    ("unhex", "ppl_unhex", 1, 1),
    ("pmod", "ppl_pmod", 2, 2),
    ("bround", "ppl_bround", 1, 2),
    ("width_bucket", "ppl_width_bucket", 4, 4),
    ("nanvl", "ppl_nanvl", 2, 2),
    ("\u{1}sha224", "ppl_sha224", 1, 1),
    ("\u{1}sha384", "ppl_sha384", 1, 1),
    ("\u{1}sha512", "ppl_sha512", 1, 1),
    ("substring_index", "ppl_substring_index", 3, 3),
    ("translate", "ppl_translate", 3, 3),
    ("regexp_count", "ppl_regexp_count", 2, 2),
    ("regexp_substr", "ppl_regexp_substr", 2, 2),
    ("chr", "ppl_chr", 1, 1),
    ("char", "ppl_chr", 1, 1),
    ("from_utc_timestamp", "ppl_from_utc", 2, 2),
    ("to_utc_timestamp", "ppl_to_utc", 2, 2),
    ("make_timestamp", "ppl_make_timestamp", 6, 6),
    ("isnan", "ppl_isnan", 1, 1),
    // SQL's scalar subqueries, by number (replaced by their value before the query runs);
    // no query can name it.
    ("\u{1}scalar", "ppl_scalar", 1, 1),
    // A column read as an array: `ppl_array_of(column, @message, 'path')`.
    ("\u{1}array_of", "ppl_array_of", 1, 3),
    // `sort str(f)`'s key, and `rand([seed])` of a row (`ppl_rand(@ptr, seed, k)`, see [`rand_call`]).
    ("\u{1}str_key", "ppl_str_key", 1, 1),
    ("\u{1}rand", "ppl_rand", 3, 3),
    // A shown column, or the JSON array or object at its path in the message.
    ("\u{1}or_json", "ppl_or_json", 3, 3),
    // posexplode's elements as `{pos, col}` maps.
    ("\u{1}with_positions", "ppl_with_positions", 1, 1),
    ("\u{1}elements", "ppl_elements", 1, 1),
    // SQL's higher-order functions: the array, the lambda's body, its parameters' hidden names
    // (see `Evaluator::higher_order`).
    ("\u{1}transform", "ppl_transform", 3, 4),
    ("\u{1}filter", "ppl_filter", 3, 4),
    ("\u{1}exists", "ppl_exists", 3, 3),
    ("\u{1}forall", "ppl_forall", 3, 3),
    ("\u{1}aggregate", "ppl_aggregate", 5, 7),
    ("\u{1}zip_with", "ppl_zip_with", 5, 5),
    ("\u{1}array_sort_by", "ppl_array_sort_by", 4, 4),
    ("\u{1}arrays_zip", "ppl_arrays_zip_named", 3, 33),
    ("\u{1}map_filter", "ppl_map_filter", 4, 4),
    ("\u{1}transform_values", "ppl_transform_values", 4, 4),
    ("\u{1}transform_keys", "ppl_transform_keys", 4, 4),
];

/// PPL's JSON functions, engine functions as [`INTERNAL_FUNCTIONS`] are.
pub(crate) const PPL_JSON_FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    // (Not JSON, but PPL's alone: MySQL's format letters; Spark SQL's `date_format` takes
    // Java patterns, not supported yet.)
    ("date_format", "ppl_date_format", 2, 2),
    ("json", "ppl_json", 1, 1),
    ("json_valid", "ppl_json_valid", 1, 1),
    ("json_object", "ppl_json_object", 2, 64),
    ("json_array", "ppl_json_array", 0, 64),
    ("json_array_length", "ppl_json_array_length", 1, 1),
    ("array_length", "ppl_json_array_length", 1, 1),
    ("json_extract", "ppl_json_extract", 2, 2),
    ("json_keys", "ppl_json_keys", 1, 1),
    ("to_json_string", "ppl_to_json_string", 1, 1),
];

/// Spark SQL's array functions, engine functions over lists. An array argument that is a
/// column is read through `ppl_array_of` (see [`array_args`]): a list, JSON array text, or the
/// array at the column's path in the JSON message (discovery keeps only its elements).
pub(crate) const SQL_ARRAY_FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("array", "ppl_array", 0, 64),
    // (Translated to `ppl_arrays_zip_named` with the arrays' names.)
    ("arrays_zip", "ppl_arrays_zip", 1, 16),
    ("split", "ppl_split", 2, 3),
    ("size", "ppl_size", 1, 1),
    ("cardinality", "ppl_size", 1, 1),
    ("array_size", "ppl_array_size", 1, 1),
    ("array_contains", "ppl_array_contains", 2, 2),
    ("element_at", "ppl_element_at", 2, 2),
    ("array_join", "ppl_array_join", 2, 3),
    ("array_distinct", "ppl_array_distinct", 1, 1),
    ("array_sort", "ppl_array_sort", 1, 1),
    ("sort_array", "ppl_sort_array", 1, 2),
    ("array_max", "ppl_array_max", 1, 1),
    ("array_min", "ppl_array_min", 1, 1),
    ("array_position", "ppl_array_position", 2, 2),
    ("array_remove", "ppl_array_remove", 2, 2),
    ("array_compact", "ppl_array_compact", 1, 1),
    ("slice", "ppl_slice", 3, 3),
    ("arrays_overlap", "ppl_arrays_overlap", 2, 2),
    ("array_union", "ppl_array_union", 2, 2),
    ("array_intersect", "ppl_array_intersect", 2, 2),
    ("array_except", "ppl_array_except", 2, 2),
    ("array_repeat", "ppl_array_repeat", 2, 2),
    ("sequence", "ppl_sequence", 2, 3),
    ("get", "ppl_array_get", 2, 2),
    ("map", "ppl_map", 0, 64),
    ("named_struct", "ppl_map", 0, 64),
    ("map_from_arrays", "ppl_map_from_arrays", 2, 2),
    ("str_to_map", "ppl_str_to_map", 1, 3),
    ("map_keys", "ppl_map_keys", 1, 1),
    ("map_values", "ppl_map_values", 1, 1),
    ("map_contains_key", "ppl_map_contains_key", 2, 2),
    ("map_entries", "ppl_map_entries", 1, 1),
    ("map_concat", "ppl_map_concat", 1, 64),
    ("flatten", "ppl_flatten", 1, 1),
];

/// The arguments of an engine array function that are arrays.
pub(crate) fn array_args(ours: &str) -> &'static [usize] {
    match ours {
        "ppl_size"
        | "ppl_array_size"
        | "ppl_array_contains"
        | "ppl_element_at"
        | "ppl_array_join"
        | "ppl_array_distinct"
        | "ppl_array_sort"
        | "ppl_sort_array"
        | "ppl_array_max"
        | "ppl_array_min"
        | "ppl_array_position"
        | "ppl_array_remove"
        | "ppl_array_compact"
        | "ppl_slice"
        | "ppl_array_get"
        | "ppl_map_keys"
        | "ppl_map_values"
        | "ppl_map_contains_key"
        | "ppl_map_entries"
        | "ppl_flatten" => &[0],
        "ppl_arrays_overlap"
        | "ppl_array_union"
        | "ppl_array_intersect"
        | "ppl_array_except"
        | "ppl_map_from_arrays" => &[0, 1],
        "ppl_map_concat" => &[0, 1, 2, 3, 4, 5, 6, 7],
        "ppl_arrays_zip" => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        _ => &[],
    }
}

/// Spark SQL's JSON functions, the same engine functions under Spark's names.
pub(crate) const SQL_JSON_FUNCTIONS: &[(&str, &str, usize, usize)] = &[
    ("get_json_object", "ppl_json_extract", 2, 2),
    ("json_array_length", "ppl_json_array_length", 1, 1),
    ("json_object_keys", "ppl_json_keys", 1, 1),
    ("to_json", "ppl_to_json_string", 1, 1),
];

/// The variance aggregates Logs Insights lacks, from its sample `stddev` and `count` of the
/// argument `x` (text): `var_samp`, `var_pop`, `stddev_pop` (a single value: 0, as `stddev`
/// gives it here; Spark's sample ones give null). `None` for another name.
pub(crate) fn variance(name: &str, x: &str) -> Option<String> {
    let pop = format!("stddev({x}) ^ 2 * (count({x}) - 1) / count({x})");
    Some(match name {
        "var_samp" | "variance" => format!("(stddev({x}) ^ 2)"),
        "var_pop" => format!("if(count({x}) = 1, 0, {pop})"),
        "stddev_pop" => format!("if(count({x}) = 1, 0, sqrt({pop}))"),
        _ => return None,
    })
}

/// Functions PPL and SQL share that Logs Insights writes otherwise: `Some` with the text of the
/// call (`Err`: the message of a wrong argument count), `None` when `name` is none of them.
/// `args` are the arguments' Logs Insights text.
pub(crate) fn shared_function(name: &str, args: &[String]) -> Option<Result<String, String>> {
    let want = |lo: usize, hi: usize| {
        (args.len() < lo || args.len() > hi).then(|| {
            if lo == hi {
                format!("{name} takes {lo} argument(s)")
            } else {
                format!("{name} takes {lo} to {hi} arguments")
            }
        })
    };
    let (lo, hi) = match name {
        "pow" | "power" | "mod" | "left" | "sha2" => (2, 2),
        "exp" | "sign" | "signum" => (1, 1),
        "pi" | "e" => (0, 0),
        "regexp_replace" => (3, 3),
        _ => return None,
    };
    if let Some(m) = want(lo, hi) {
        return Some(Err(m));
    }
    Some(Ok(match name {
        "pow" | "power" => format!("({} ^ {})", args[0], args[1]),
        "exp" => format!("({} ^ {})", std::f64::consts::E, args[0]),
        "mod" => format!("({} % {})", args[0], args[1]),
        // (Text that is no number has no sign, as in Spark.)
        "sign" | "signum" => {
            let x = format!("toNumber({})", args[0]);
            format!("case({x} > 0, 1, {x} < 0, -1, {x} = 0, 0)")
        }
        "pi" => std::f64::consts::PI.to_string(),
        "e" => std::f64::consts::E.to_string(),
        "left" => format!("substr({}, 0, {})", args[0], args[1]),
        "regexp_replace" => match regexp_replace(args) {
            Ok(t) => t,
            Err(m) => return Some(Err(m)),
        },
        // sha2
        _ if args[1] == "256" || args[1] == "0" => format!("sha256({})", args[0]),
        _ if ["224", "384", "512"].contains(&args[1].as_str()) => {
            format!("ppl_sha{}({})", args[1], args[0])
        }
        _ => {
            return Some(Err(format!(
                "{name} takes 224, 256, 384 or 512 bits (0 is 256)"
            )))
        }
    }))
}

/// The text of a Logs Insights string literal (as [`string`] writes one), `None` for any other
/// expression.
pub(crate) fn literal_text(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut raw = String::new();
    let mut cs = inner.chars();
    while let Some(c) = cs.next() {
        raw.push(if c == '\\' { cs.next()? } else { c });
    }
    Some(raw)
}

/// Spark's `regexp_replace(s, pattern, replacement)` with literal pattern and replacement: the
/// pattern must compile (Rust's regular expressions: no look-around), and the replacement is
/// read as Java reads it — `\\x` is the character x, `${name}` a named group, `$` and digits
/// the longest group number the pattern has (a first digit naming no group, an unknown name or
/// a lone `$` are errors, as Java throws) — then written for Rust's `regex`.
fn regexp_replace(args: &[String]) -> Result<String, String> {
    let (Some(pattern), Some(raw)) = (literal_text(&args[1]), literal_text(&args[2])) else {
        return Err(
            "regexp_replace takes a pattern and a replacement that are string literals".into(),
        );
    };
    let re = regex::Regex::new(&pattern)
        .map_err(|e| format!("regexp_replace's pattern does not compile here: {e}"))?;
    let groups = re.captures_len() - 1;
    let names: Vec<&str> = re.capture_names().flatten().collect();
    let mut out = String::new();
    let mut cs = raw.chars().peekable();
    while let Some(c) = cs.next() {
        match c {
            '\\' => match cs.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => return Err("regexp_replace's replacement ends with a backslash".into()),
            },
            '$' => match cs.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = d.to_digit(10).unwrap_or(0) as usize;
                    if n > groups {
                        return Err(format!("regexp_replace's replacement names group {n}, which the pattern does not have"));
                    }
                    while let Some(next) = cs.peek().and_then(|c| c.to_digit(10)) {
                        let more = n * 10 + next as usize;
                        if more > groups {
                            break;
                        }
                        n = more;
                        cs.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('{') => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in cs.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err("regexp_replace's replacement has a ${ without its }".into());
                    }
                    if !names.contains(&name.as_str()) {
                        return Err(format!("regexp_replace's replacement names the group {name}, which the pattern does not have"));
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                _ => return Err("regexp_replace's replacement has a $ that names no group (write \\$ for a dollar)".into()),
            },
            c => out.push(c),
        }
    }
    Ok(format!(
        "regexReplace({}, {}, {})",
        args[0],
        args[1],
        string(&out)
    ))
}

/// A function taking a regular expression (`rlike`, `regexp_extract`, …) whose pattern is a
/// literal that does not compile as this engine's regular expressions (look-around, back-
/// references): refused, not answered null on every row.
pub(crate) fn check_regex_literal(ours: &str, args: &[String]) -> Result<(), String> {
    if !matches!(
        ours,
        "ppl_rlike"
            | "ppl_regexp_extract"
            | "ppl_regexp_count"
            | "ppl_regexp_substr"
            | "ppl_split"
            | "ppl_str_to_map"
    ) {
        return Ok(());
    }
    match args.get(1).and_then(|a| literal_text(a)) {
        Some(p) => regex::Regex::new(&p)
            .map(|_| ())
            .map_err(|e| format!("the pattern does not compile here (Rust's regular expressions: no look-around or back-references): {e}")),
        None => Ok(()),
    }
}

/// `substring(s, start[, len])` with a 1-based start (PPL, SQL) as Logs Insights' 0-based
/// `substr`; `args` are the arguments' text (two or three).
pub(crate) fn substr(args: &[String]) -> String {
    let from = format!("({} - 1)", args[1]);
    match args.get(2) {
        Some(n) => format!("substr({}, {from}, {n})", args[0]),
        None => format!("substr({}, {from})", args[0]),
    }
}

/// `not e` as SQL's NULL logic has it: false, not true, when one of the fields `e` reads
/// (`fields`, in Logs Insights text) is missing — there `e` is null, and so is `not e`.
pub(crate) fn negate(e: &str, fields: &[String]) -> String {
    let mut out = format!("(not {e}");
    let mut done: Vec<&String> = Vec::new();
    for f in fields {
        if !done.contains(&f) {
            out.push_str(&format!(" and ispresent({f})"));
            done.push(f);
        }
    }
    out.push(')');
    out
}

/// Stack of the thread a translation runs on. `sqlparser`'s trees of long AND/OR chains are as
/// deep as the chain is long (it parses them in a loop), and cloning one, dropping it or asking
/// a node's span recurses that deep; a query of 10,000 characters stays far inside this.
const TRANSLATION_STACK: usize = 64 << 20;

/// Runs a translation with the placeholders of one query (none before, none left after), on a
/// thread of its own with a stack [`TRANSLATION_STACK`] deep.
pub(crate) fn translating<T: Send>(f: impl FnOnce() -> R<T> + Send) -> R<T> {
    let run = || {
        IN_TRANSLATION.with(|t| t.set(true));
        PLACEHOLDERS.with(|p| p.borrow_mut().clear());
        SPENT.with(|s| s.set(0));
        RANDS.with(|s| s.set(0));
        let r = f();
        PLACEHOLDERS.with(|p| p.borrow_mut().clear());
        r
    };
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("translate".into())
            .stack_size(TRANSLATION_STACK)
            .spawn_scoped(s, run)
        {
            Ok(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => Err(QueryError {
                start: 0,
                end: 0,
                message: format!("the query cannot be translated now: {e}"),
            }),
        }
    })
}

/// A name written in a query of another language: it may not hold the placeholder mark.
pub(crate) fn user_name(n: &str, start: usize, end: usize) -> Result<(), QueryError> {
    if n.contains(PLACEHOLDER) {
        return Err(QueryError {
            start,
            end,
            message: "a name cannot hold the character U+0001".into(),
        });
    }
    Ok(())
}

/// A string literal as Logs Insights reads it.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A SQL `LIKE` pattern (`%`, `_`, `\` escapes) as an anchored Logs Insights regex literal.
/// A `\` may only escape `%`, `_` or itself (Spark refuses any other use).
pub(crate) fn like_regex(p: &str) -> Result<String, String> {
    like_regex_escaped(p, '\\')
}

/// [`like_regex`] with `esc` as the escape character (SQL's `LIKE … ESCAPE 'c'`).
pub(crate) fn like_regex_escaped(p: &str, esc: char) -> Result<String, String> {
    let mut re = String::from("^");
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            c if c == esc => match it.next() {
                Some(n) if n == '%' || n == '_' || n == esc => {
                    re.push_str(&regex::escape(&n.to_string()))
                }
                Some(n) => {
                    return Err(format!(
                        "the LIKE pattern escapes '{n}': only %, _ and {esc} may be"
                    ))
                }
                None => return Err("the LIKE pattern ends with its escape character".into()),
            },
            '%' => re.push_str("(?s:.*)"),
            '_' => re.push_str("(?s:.)"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    // A slash would end the literal: written `\/`.
    Ok(format!("/{}/", re.replace('/', "\\/")))
}

/// One PPL command in Logs Insights text, and whether it is an `eval`.
/// Longest Logs Insights text a PPL or SQL query may translate into.
pub(crate) const MAX_TRANSLATED: usize = 200_000;

/// Most text one translation may write in all (every expression counted as it is written,
/// copies too): what keeps a query that repeats a large expression from taking gigabytes.
const TRANSLATION_BUDGET: usize = 4_000_000;

thread_local! {
    /// Text written by the translation running on this thread.
    static SPENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The `rand()` calls the translation running on this thread has written.
    static RANDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `rand([seed])` of a row as an engine call: `ppl_rand(@ptr, seed or NULL, k)`, k numbering
/// the query's calls so that two calls draw apart.
pub(crate) fn rand_call(seed: Option<&str>) -> R<String> {
    let k = RANDS.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    Ok(format!(
        "ppl_rand({}, {}, {k})",
        name("@ptr", 0, 0)?,
        seed.unwrap_or("ppl_nullif(0, 0)")
    ))
}

/// Counts `n` more characters written (a copy of translated text); past the budget, an error.
pub(crate) fn spend(n: usize, start: usize, end: usize) -> R<()> {
    let total = SPENT.with(|s| {
        let t = s.get().saturating_add(n);
        s.set(t);
        t
    });
    if total > TRANSLATION_BUDGET {
        return Err(QueryError {
            start,
            end,
            message: "the query is too complex: its translation writes too much text".into(),
        });
    }
    Ok(())
}

/// Refuses an expression's translation once it passes [`MAX_TRANSLATED`] (checked as each
/// expression is written, before nesting can multiply it further) or the translation's budget.
pub(crate) fn bounded(text: String, start: usize, end: usize) -> R<String> {
    if text.len() > MAX_TRANSLATED {
        return Err(QueryError {
            start,
            end,
            message: format!(
                "the query is too complex: its translation is longer than {MAX_TRANSLATED} characters"
            ),
        });
    }
    spend(text.len(), start, end)?;
    Ok(text)
}

/// A `limit n` of another language (no Logs Insights cap of 10,000 on it: the query's row limit
/// still applies to its results).
pub(crate) fn limit_piece(n: usize, start: usize, end: usize) -> Piece {
    Piece {
        text: "limit 1".into(),
        eval: false,
        ready: Some(Command::Limit { n, any: false }),
        start,
        end,
    }
}

/// A log group name as AWS's model allows it (`[\.\-_/#A-Za-z0-9]+`, 1 to 512 characters):
/// safe inside the `SOURCE '…'` text a translation writes.
pub(crate) fn group_name_ok(g: &str) -> bool {
    (1..=512).contains(&g.len())
        && g.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/' | b'#'))
}

#[derive(Clone)]
pub(crate) struct Piece {
    pub(crate) text: String,
    pub(crate) eval: bool,
    /// A command the other language needs that Logs Insights has no syntax for: the piece's
    /// text is a stand-in (`limit 1`) that places it, replaced by this once parsed.
    pub(crate) ready: Option<Command>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Piece {
    /// A piece placing `cmd` (its text the stand-in), its errors placed on `0..end`.
    pub(crate) fn ready(cmd: Command, end: usize) -> Piece {
        Piece {
            text: "limit 1".into(),
            eval: false,
            ready: Some(cmd),
            start: 0,
            end,
        }
    }
}

/// Parses the pieces' Logs Insights text (joined by `|`) into commands: an error is placed on
/// the piece (the other language's command) it comes from, placeholders get their real names,
/// `eval` pieces become [`Command::Eval`] and `ready` pieces their command; a `join` piece
/// (SQL's JOIN) gives the query its right side. `n`: the length of the original query.
pub(crate) fn assemble(pieces: &[Piece], n: usize) -> R<crate::Query> {
    let joined: Vec<&str> = pieces.iter().map(|p| p.text.as_str()).collect();
    let cwli = joined.join(" | ");
    // Some translations repeat an operand (a CAST to a string, BETWEEN): nested deeply, the text
    // would grow without bound.
    if cwli.len() > MAX_TRANSLATED {
        return Err(QueryError {
            start: 0,
            end: n,
            message: format!(
                "the query is too complex: its translation is longer than {MAX_TRANSLATED} characters"
            ),
        });
    }
    let (mut cmds, subs, join) = crate::parser::parse_query(&cwli, false).map_err(|e| {
        // The error is placed on the PPL command its translation came from.
        let mut at = 0;
        let piece = pieces.iter().find(|p| {
            let end = at + p.text.chars().count();
            let hit = e.start < end + 3;
            at = end + 3;
            hit
        });
        let (s, end) = piece.map_or((0, n), |p| (p.start, p.end.max(p.start + 1)));
        QueryError {
            start: s,
            end,
            message: e.message,
        }
    })?;
    if cmds.len() != pieces.len() {
        return Err(QueryError {
            start: 0,
            end: n,
            message: "the query could not be translated".into(),
        });
    }
    rename(&mut cmds);
    // A `stats` without `by` answers one row even over no record, as SQL and PPL do.
    for c in cmds.iter_mut() {
        if let Command::Stats(s) = c {
            s.one_row = s.by.is_empty();
        }
    }
    for (c, piece) in cmds.iter_mut().zip(pieces) {
        if piece.eval {
            if let Command::Fields(ps) = c {
                *c = Command::Eval(std::mem::take(ps));
            }
        }
        if let Some(r) = &piece.ready {
            *c = r.clone();
        }
    }
    let mut query = crate::Query::from_commands(cmds, join);
    // (Subqueries come only from PPL's subsearches, whose queries the caller puts in.)
    query.subs = subs;
    Ok(query)
}
