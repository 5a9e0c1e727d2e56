//! Compile errors: (query, expected [start, end) char offsets, message substring).
use nephoscope_insights::parse;

#[test]
fn error_table() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            // A leading SOURCE selects log groups (see Query::source); anywhere else it is an error.
            "fields @message | SOURCE logGroups(namePrefix: ['/a'])",
            18,
            24,
            "'SOURCE' command is not supported",
        ),
        (
            "SOURCE logGroups(namePrefix: ['/a']) | bogus",
            39,
            44,
            "bogus",
        ),
        (
            "fields @message | join type=inner left=l right=r where l.k=r.k",
            62,
            62,
            "expected (SOURCE '<log group>') after the join condition",
        ),
        (
            "fields @message | lookup tbl key",
            32,
            32,
            "expected OUTPUT",
        ),
        (
            "fields @message | anomaly",
            18,
            25,
            "anomaly must directly follow a pattern",
        ),
        (
            "pattern @message | diff | anomaly",
            26,
            33,
            "anomaly must directly follow a pattern",
        ),
        (
            "stats count(*) by x | pattern x | anomaly",
            34,
            41,
            "anomaly must directly follow",
        ),
        // A saved query's parameter placeholder, in a string or not, is refused, never read as text.
        (
            "filter level = '{{level}}'",
            16,
            25,
            "placeholder {{level}} is not supported",
        ),
        ("fields é, {{_x1}}", 10, 17, "{{_x1}}"),
        ("expand", 6, 6, "expected a field name"),
        (
            "relevantfields a, b",
            19,
            19,
            "needs 'where' and a condition",
        ),
        (
            "relevantfields where count(*) > 1",
            21,
            33,
            "only be used in stats",
        ),
        (
            "fields parseDate(a, '[[[[[[[[[[yyyy')",
            7,
            37,
            "nest at most 8 deep",
        ),
        (
            "stats count(*) by bin(18014398509481984d)",
            22,
            40,
            "time period too large",
        ),
        (
            "fields a | addtotals row=maybe",
            25,
            30,
            "row= takes true or false",
        ),
        (
            "fields a | filldown a+b",
            20,
            23,
            "filldown takes field names",
        ),
        (
            "fields a | autoregress a p=0",
            27,
            28,
            "p= takes a lag N or a range",
        ),
        (
            "fields a | autoregress a p=3-1",
            27,
            30,
            "p= takes a lag N or a range",
        ),
        (
            "fields a | autoregress a as b p=1-3",
            25,
            29,
            "AS names one lag",
        ),
        (
            "fields a | sessionize a maxspan 5",
            32,
            33,
            "maxspan takes a time period",
        ),
        ("fields a | accum", 16, 16, "expected a field name"),
        ("fields a | countFrequent", 24, 24, "expected a field name"),
        (
            "cidrlookup nets srcAddr region",
            24,
            30,
            "expected OUTPUT or OUTPUTNEW",
        ),
        (
            "cidrlookup nets srcAddr OUTPUT",
            30,
            30,
            "expected a field name",
        ),
        (
            "fields a | outlier action=drop a",
            26,
            30,
            "action= takes remove or transform",
        ),
        (
            "fields a | outlier param=x a",
            25,
            26,
            "param= takes a number",
        ),
        (
            "fields a | outlier mark=true",
            28,
            28,
            "outlier takes one or more numeric fields",
        ),
        (
            "fields a | appendcols max=0 (fields a)",
            26,
            27,
            "max= takes a number of rows",
        ),
        (
            "fields a | appendcols fields b",
            22,
            28,
            "expected the subquery in parentheses",
        ),
        (
            "fields a | appendcols (SOURCE 'lg' | filter b > 1)",
            23,
            49,
            "must select its fields",
        ),
        (
            "stats count(*) by host | fillmissing",
            25,
            36,
            "fillmissing must directly follow a stats ... by bin(period)",
        ),
        (
            "stats count(*) by bin(1m) | fillmissing with 0 count",
            47,
            52,
            "expected 'for'",
        ),
        ("logcompare", 10, 10, "logcompare takes timeshift"),
        ("logcompare shift 7d", 11, 16, "logcompare takes timeshift"),
        ("logcompare timeshift 7", 21, 22, "positive time period"),
        ("logcompare timeshift -7d", 21, 22, "positive time period"),
        (
            "stats count(*) by x | logcompare timeshift 7d",
            22,
            32,
            "no stats, sort, dedup, limit or pattern may come before it",
        ),
        (
            "pattern @message | logcompare timeshift 7d",
            19,
            29,
            "no stats, sort, dedup, limit or pattern may come before it",
        ),
        ("json payload 'a' as b", 5, 12, "json takes field=<field>"),
        (
            "json field=payload a as b",
            19,
            20,
            "json takes field=<field>",
        ),
        (
            "json field=payload 'a..b' as b",
            19,
            25,
            "keys separated by dots",
        ),
        ("json field=payload 'a'", 22, 22, "json takes field=<field>"),
        (
            "stats rate(bytes) by bin(1m)",
            6,
            17,
            "wrong number of arguments",
        ),
        (
            "stats rate(bytes, 5) by bin(1m)",
            6,
            20,
            "rate() requires a time period",
        ),
        (
            "stats rate(bytes, 1mo)",
            6,
            22,
            "rate() requires a time period",
        ),
        (
            "stats histogram(latency, 0)",
            6,
            27,
            "whole number of buckets from 1 to 1000",
        ),
        (
            "stats histogram(latency, 2.5)",
            6,
            29,
            "whole number of buckets",
        ),
        (
            "fields histogram(latency, 3)",
            7,
            28,
            "only be used in stats",
        ),
        // pattern, diff, filterIndex and unmask: only the documented forms.
        ("pattern", 0, 7, "pattern requires a field"),
        ("pattern count(*)", 8, 16, "only be used in stats"),
        (
            "fields @message | diff",
            18,
            22,
            "diff must directly follow a pattern",
        ),
        (
            "pattern @message | sort @sampleCount desc | diff",
            44,
            48,
            "diff must directly follow a pattern",
        ),
        (
            "stats count(*) by x | pattern x | diff",
            34,
            38,
            "no stats, sort, dedup or limit may come before",
        ),
        (
            "pattern @message | diff | diff",
            26,
            30,
            "diff must directly follow",
        ),
        (
            "pattern @message | diff previousYear",
            24,
            36,
            "previousDay, previousWeek, previousMonth",
        ),
        ("filterIndex", 0, 11, "filterIndex requires a condition"),
        (
            "filterIndex region != 'x'",
            12,
            25,
            "filterIndex supports only 'field = value' and 'field in [value, ...]'",
        ),
        (
            "filterIndex a = 1 and b = 2",
            12,
            27,
            "filterIndex supports only",
        ),
        (
            "filterIndex region = other",
            12,
            26,
            "filterIndex supports only",
        ),
        (
            "filterIndex region not in ['a']",
            12,
            31,
            "filterIndex supports only",
        ),
        (
            "fields @message | unmask @message",
            18,
            24,
            "'unmask' command is not supported; use the unmask(field) function",
        ),
        (
            "fields unmask(a, b)",
            7,
            19,
            "wrong number of arguments to unmask()",
        ),
        (
            "fields @message | sourcex foo",
            18,
            25,
            "unknown command 'sourcex'",
        ),
        ("stats foo(x)", 6, 12, "unknown function 'foo'"),
        ("filter count(*) > 1", 7, 19, "only be used in stats"),
        ("fields sum(x) as s", 7, 13, "only be used in stats"),
        ("stats x by y", 6, 7, "requires an aggregate function"),
        // An item may name aggregates only before it.
        (
            "stats y - 1 as d, count(*) as y",
            6,
            11,
            "requires an aggregate function",
        ),
        (
            "stats count(*) as n, m + 1, max(a) as m",
            21,
            26,
            "requires an aggregate function",
        ),
        (
            "stats count(*) | stats count(*) as c | stats count(*)",
            39,
            44,
            "at most two stats",
        ),
        (
            "filter x in (SOURCE 'g' | fields y)",
            13,
            34,
            "the subquery must select the field 'x'",
        ),
        (
            "parse @message \"a * b *\" as x",
            15,
            29,
            "2 '*' but 1 field names",
        ),
        ("parse @message \"a *\"", 20, 20, "requires 'as'"),
        ("parse @message /(?<x>a)/ as y", 25, 27, "not 'as'"),
        ("parse @message /a(b)/", 15, 21, "named capture groups"),
        ("parse @message /(?<=a)b/", 15, 24, "look-around"),
        ("fields a | limit 0", 17, 18, "limit requires an integer"),
        ("fields a | limit x", 17, 18, "limit requires an integer"),
        ("fields \"unterminated", 7, 20, "unterminated string"),
        (
            "filter @message like /abc",
            21,
            25,
            "unterminated regular expression",
        ),
        (
            "filter @message like /a(/",
            21,
            25,
            "invalid regular expression",
        ),
        ("fields a |", 10, 10, "expected a command after '|'"),
        ("", 0, 0, "query is empty"),
        ("# only a comment", 0, 16, "query is empty"),
        ("filter", 0, 6, "filter requires an expression"),
        ("fields a b", 9, 10, "unexpected token 'b'"),
        (
            "fields abs(1, 2)",
            7,
            16,
            "wrong number of arguments to abs()",
        ),
        ("stats pct(latency)", 6, 18, "wrong number of arguments"),
        (
            "stats pct(latency, 120)",
            6,
            23,
            "percentile between 0 and 100",
        ),
        ("stats sum(*)", 6, 12, "only valid in count(*)"),
        ("stats avg(count(*))", 6, 19, "cannot be nested"),
        ("fields x ~ 1", 9, 10, "unexpected character '~'"),
        (
            "stats count(*) by bin(5m) offset 5",
            26,
            34,
            "offset requires a time period",
        ),
        ("fields (a + 1", 13, 13, "expected ')'"),
        // Literal formats and time zones of the date functions are checked when compiling.
        (
            "fields formatDate(@timestamp, '%Q')",
            7,
            35,
            "formatDate(): unknown format directive '%Q' in the format",
        ),
        (
            "fields strftime(@timestamp, '%Y-%')",
            7,
            35,
            "strftime(): format ends with a lone '%' in the format",
        ),
        (
            "fields formatDate(@timestamp, '%:y')",
            7,
            36,
            "unknown format directive '%:y'",
        ),
        (
            "fields formatDate(@timestamp, '%Y', 'Mars/Olympus')",
            7,
            51,
            "formatDate(): unknown time zone 'Mars/Olympus'",
        ),
        (
            "fields formatDate(@timestamp, '%Y', '+19:00')",
            7,
            45,
            "unknown time zone '+19:00'",
        ),
        (
            "fields formatDate(@timestamp, '%Y', 'PST')",
            7,
            42,
            "unknown time zone 'PST'",
        ),
        (
            "filter parseDate(a, 'yyyy-QQ') > 0",
            7,
            30,
            "parseDate(): unsupported pattern letter 'Q' in the format",
        ),
        (
            "fields parseDate(a, 'YYYY-MM-dd')",
            7,
            33,
            "unsupported pattern letter 'Y'",
        ),
        (
            "fields parseDate(a, 'yyyy-MM-ddd')",
            7,
            34,
            "too many pattern letters 'ddd'",
        ),
        (
            "fields parseDate(a, 'MMMMM yyyy')",
            7,
            33,
            "too many pattern letters 'MMMMM'",
        ),
        (
            "fields parseDate(a, 'yyyy V')",
            7,
            29,
            "pattern letter 'V' must be doubled",
        ),
        (
            "fields parseDate(a, 'yyyy hh:mm')",
            7,
            33,
            "'h' and 'K' need 'a'",
        ),
        (
            "fields parseDate(a, \"yyyy-MM-dd'T\")",
            7,
            35,
            "unterminated quote",
        ),
        (
            "fields parseDate(a, 'yyyy]')",
            7,
            28,
            "']' without a previous '['",
        ),
        ("fields parseDate(a, 'yyyy#')", 7, 28, "'#' is reserved"),
        (
            "fields parseDate(a, 'yyyy', 'Mars/Olympus')",
            7,
            43,
            "parseDate(): unknown time zone 'Mars/Olympus'",
        ),
        (
            "fields parseDate(a)",
            7,
            19,
            "wrong number of arguments to parseDate()",
        ),
        (
            "fields md5(a, b)",
            7,
            16,
            "wrong number of arguments to md5()",
        ),
        // AWS documents only md5 and sha256.
        ("fields sha1(a)", 7, 14, "'sha1' is not supported"),
        ("fields sha512(a)", 7, 16, "'sha512' is not supported"),
        ("fields hash(a)", 7, 14, "'hash' is not supported"),
        // The engine's functions for PPL and SQL are not Logs Insights functions.
        ("fields ppl_sin(a)", 7, 17, "ppl_sin"),
        ("fields 1 | unnest x", 19, 19, "expected 'into'"),
        ("fields é | fieldz", 11, 17, "unknown command 'fieldz'"),
    ];
    for (q, s, e, m) in cases {
        match parse(q) {
            Ok(_) => panic!("expected an error for {q:?}"),
            Err(err) => {
                assert!(
                    err.message.contains(m),
                    "{q:?}: message {:?} lacks {m:?}",
                    err.message
                );
                assert_eq!(
                    (err.start, err.end),
                    (*s, *e),
                    "{q:?}: location ({}) {:?}",
                    err.message,
                    (err.start, err.end)
                );
            }
        }
    }
}

#[test]
fn parse_only_accepts() {
    let ok = [
        "fields @timestamp, @message | sort @timestamp desc | limit 20",
        "FIELDS @message | FILTER @message LIKE /Exception/ | STATS count(*) AS c BY bin(1h) | SORT c DESC",
        "filter @message like /(?i)error/ and not (@logStream like 'canary') or statusCode in [500, 502, \"503\"]",
        "filter statusCode not in [200, 204] and @message not like \"health\"",
        "filter !isPresent(userId)",
        "where duration > 100 | display @requestId, duration",
        "fields `event-name` as evt, `a.b` as ab | filter evt =~ /^x/",
        "stats count() as a, count(*) as b, count(f) as c, count_distinct(u), sum(x), avg(x), min(x), max(x), pct(x, 99.9), stddev(x), earliest(x), latest(x), sortsFirst(x), sortsLast(x) by k",
        "stats avg(x) * 100 / max(y) as ratio by bin(5m) offset 1m",
        "stats count(*) by bin(1month), bin(2qtrs), bin(1y), bin(2w), bin(1d), bin(500ms), bin(30secs), bin(2hrs)",
        "# leading comment\nfields @message # trailing comment\n| limit 5",
        "parse @message \"[*] *\" as level, rest | parse level /(?<lvl>\\w+)/",
        "parse \"a=*\" as a",
        "parse @message /duration: (?<d>[0-9.]+) ms/ | stats avg(d)",
        "fields jsonParse(@message) as j | unnest j.items into item | display item",
        "fields j.arr[0] as first, concat(a, \"-\", b) as ab, substr(x, 1, 2), strlen(@message) / 2 ^ 2 % 3",
        "fields datefloor(@timestamp, 1h) as h, dateceil(@timestamp, 1d), fromMillis(toMillis(@timestamp)), now() - 60",
        "fields if(a > 1, 'big', 'small'), case(a = 1, 'one', a = 2, 'two', 'many'), coalesce(a, b, 0)",
        "fields isIpInSubnet(ip, '10.0.0.0/8'), isValidIpV4(ip), isPrivateIP(ip), ipv4ToNumber(ip)",
        "fields -x, +y, - 3, 1e3, 2.5",
        "fields strcontains(a, 'X', 1), startsWith(a, 'x'), endsWith(a, 'y'), replace(a, 'x', 'y'), regexReplace(a, /x+/, 'y')",
        "stats count(*) as n by status | sort n desc | limit 10 | fields n * 2 as dbl",
        "stats count(*) as n by bin(1m) as t | stats avg(n) as avgPerMinute",
        "dedup a, b | limit 3",
        "filter a <> 1 and b == 2 and c <= 3 and d >= 4",
        "pattern @message",
        "filter @message like /ERROR/ | pattern @message",
        "filter @message like /ERROR/ | parse @message 'Failed to do: *' as cause | pattern cause | sort @sampleCount asc",
        "pattern toLower(@message) | filter @sampleCount > 1 | limit 5",
        "pattern @message | diff",
        "fields @message | PATTERN @message | DIFF previousDay",
        "pattern @message | diff previousWeek | sort @sampleCount desc",
        "pattern @message | diff previousMonth",
        "SOURCE lg start=-1d end=now | logcompare timeshift 7d",
        "fields @timestamp, @message | filter @type = \"REPORT\" | pattern @message | anomaly",
        "fields @timestamp, @message | filter @type = \"ERROR\" | pattern @message | anomaly | sort @timestamp desc",
        "fields a | logcompare timeshift 7d | sort @sampleCount desc",
        "filter level = 'ERROR' | LOGCOMPARE TIMESHIFT 2mon",
        "stats count(*) as n by k | pattern k",
        "fields @timestamp, @message | filterIndex IPaddress = \"198.51.100.0\" | limit 20",
        "fields @timestamp, @message | filterIndex IPaddress in [\"198.51.100.0\", \"198.51.100.1\"] | limit 20",
        "filterIndex code = 500 | filterIndex n in [1, -2]",
        "fields @timestamp, @message, unmask(@message) | sort @timestamp desc | limit 20",
        "fields md5(@message) as m, sha256(@message) as h | filter md5(a) = \"x\"",
        "fields formatDate(@timestamp, \"%Y-%m-%d\", \"UTC\") as date",
        "fields parseDate(field, \"yyyy-MM-dd\", \"UTC\") as epoch",
        "fields strftime(@timestamp, fmt, zone), parseDate(a, fmt, zone), formatDate(@timestamp, '%c', '-08:00')",
        "fields parseDate(a, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX['['VV']']\"), parseDate(a, 'EEE, d MMM uuuu hh:mm a Z')",
    ];
    for q in ok {
        if let Err(e) = parse(q) {
            panic!("{q:?} failed: {e:?}");
        }
    }
}

/// Expressions that would nest deeper than the parser and the evaluator may recurse are
/// refused, never a stack overflow; long `and`/`or` chains are balanced and run.
#[test]
fn deep_expressions_are_refused_and_long_conditions_run() {
    for (q, words) in [
        (
            format!("filter {}a{} > 1", "(".repeat(5000), ")".repeat(5000)),
            "nests more than 100",
        ),
        (
            format!("fields {}a as x", "-".repeat(5000)),
            "nests more than 100",
        ),
        (
            format!("filter {}a", "not ".repeat(5000)),
            "nests more than 100",
        ),
        (
            format!("fields a{} as x", "^a".repeat(5000)),
            "nests more than 100",
        ),
        (
            format!("fields a{} as x", " + a".repeat(300)),
            "chains more than 256",
        ),
        (
            format!("fields a{} as x", " * a".repeat(300)),
            "chains more than 256",
        ),
    ] {
        match parse(&q) {
            Ok(_) => panic!("{} parsed", &q[..40]),
            Err(e) => assert!(e.message.contains(words), "{}: {e:?}", &q[..40]),
        }
    }
    let events: Vec<String> = (0..3).map(|i| format!(r#"{{"a":{i}}}"#)).collect();
    let q = format!(
        "filter {} | stats count(*) as n",
        vec!["a >= 0"; 5000].join(" and ")
    );
    let query = parse(&q).expect("a long chain of conditions parses");
    let mut ex = query.start(nephoscope_insights::QueryContext {
        start_ms: 0,
        end_ms: i64::MAX,
        now_ms: 0,
        limit: 100,
    });
    for (i, m) in events.iter().enumerate() {
        ex.push(&nephoscope_insights::Record {
            timestamp: i as i64,
            ingestion_time: 0,
            message: m,
            log_stream: "s",
            log: "000000000000:g",
            ptr: "p",
            flat: false,
        });
    }
    assert_eq!(ex.rows(), vec![vec![("n".to_string(), "3".to_string())]]);
}

/// A `{{name}}` in a comment line is no placeholder (a comment is not run).
#[test]
fn placeholders_in_comments_are_comments() {
    assert!(parse("fields @message\n# keep {{level}} for later\n| limit 5").is_ok());
    assert!(parse("fields @message\n| filter x = '{{level}}'").is_err());
}
