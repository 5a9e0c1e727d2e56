//! Term (unstructured) patterns: every example from AWS's filter-pattern documentation (current
//! and earlier editions, the SDK parameter docs) plus edge cases of the tokenisation rule.

mod common;
use common::{check, check_sets};

// The sample log from AWS's "match terms in unstructured log events" section.
const INFO_200: &str = "2024-04-18T10:00:00.000Z  [INFO 200] SUCCESSFUL REQUEST";
const ERR_401: &str = "2024-04-18T10:00:02.000Z  [ERROR 401] UNAUTHORIZED REQUEST";
const ERR_400: &str = "2024-04-18T10:00:06.000Z  [ERROR 400] BAD REQUEST";
const ERR_419: &str = "2024-04-18T10:02:00.000Z  [ERROR 419] MISSING ARGUMENTS";
const ERR_420: &str = "2024-04-18T10:02:06.000Z [ERROR 420] INVALID ARGUMENTS";
const ERR_500: &str = "2024-04-18T10:04:01.000Z [ERROR 500] INTERNAL SERVER ERROR";
const SUCCESS: &str = "2024-04-18T10:10:00.000Z [SUCCESS 200] AUTHORIZED REQUEST";
const FAILED: &str = "2024-04-18T10:10:07.000Z [INFO] REQUEST FAILED";
const WARN: &str = "2024-04-18T10:10:10.000Z [WARN] UNAUTHORIZED REQUEST";
const WARN_404: &str = "2024-04-18T10:11:07.000Z [WARNING 404] PAGE NOT FOUND";
const DEBUG: &str = "2024-04-18T10:12:03.000Z [DEBUG 500] DEBUGGING INTERNAL INVALID";

#[test]
fn documented_sample_log() {
    check_sets(&[
        (
            "ERROR",
            &[ERR_400, ERR_401, ERR_419, ERR_420, ERR_500],
            &[INFO_200, SUCCESS, FAILED, WARN, WARN_404, DEBUG],
        ),
        (
            "ERROR ARGUMENTS",
            &[ERR_419, ERR_420],
            &[ERR_400, ERR_401, ERR_500, DEBUG],
        ),
        (
            "?ERROR ?ARGUMENTS",
            &[
                ERR_400,
                ERR_401,
                ERR_419,
                ERR_420,
                ERR_500,
                "[INFO] INVALID ARGUMENTS PROVIDED",
            ],
            &[INFO_200, SUCCESS, FAILED, WARN, WARN_404, DEBUG],
        ),
        // AWS: `?` cannot be combined with plain terms; the `?` terms are ignored.
        (
            "?ERROR ?ARGUMENTS REQUEST",
            &[
                INFO_200,
                WARN,
                "[ERROR] 400 BAD REQUEST",
                SUCCESS,
                FAILED,
                ERR_401,
            ],
            &[ERR_419, ERR_420, ERR_500, WARN_404],
        ),
        (
            "\"INTERNAL SERVER ERROR\"",
            &[ERR_500],
            &[
                DEBUG,
                ERR_400,
                "INTERNAL SERVER  ERROR",
                "internal server error",
            ],
        ),
        (
            "ERROR -ARGUMENTS",
            &[ERR_400, ERR_401, ERR_500],
            &[ERR_419, ERR_420, INFO_200],
        ),
        ("\" \"", &[INFO_200, ERR_401, DEBUG, "", "nospace"], &[]),
        ("\"   \"", &[INFO_200, "", "x"], &[]),
        (
            "%AUTHORIZED%",
            &[ERR_401, SUCCESS, WARN],
            &[INFO_200, ERR_400],
        ),
    ]);
}

#[test]
fn documented_or_and_exclusion_examples() {
    let both = "ERROR WARN message";
    let error = "ERROR message";
    let warn = "WARN message";
    check_sets(&[
        ("ERROR", &[both, error], &[warn]),
        ("?ERROR ?WARN", &[both, error, warn], &["INFO message"]),
        ("ERROR WARN", &[both], &[error, warn]),
        ("ERROR -WARN", &[error], &[both, warn]),
    ]);
}

#[test]
fn documented_earlier_edition_examples() {
    let fatal = "[ERROR] A fatal exception has occurred";
    let exiting = "Exiting with ERRORCODE: -1";
    check_sets(&[
        // "ERROR" matches ERRORCODE: terms match as substrings, not whole words.
        ("ERROR", &[fatal, exiting], &["error", "Error: x"]),
        // Earlier edition's exclusion example, written with spaced quotes.
        ("\"ERROR\" - \"Exiting\"", &[fatal], &[exiting]),
        ("ERROR -Exiting", &[fatal], &[exiting]),
        (
            "ERROR Exception",
            &[
                "[ERROR] Caught IllegalArgumentException",
                "[ERROR] Unhandled Exception",
            ],
            &["[ERROR] Caught something", "[WARN] Unhandled Exception"],
        ),
        (
            "Failed to process the request",
            &[
                "[WARN] Failed to process the request",
                "[ERROR] Unable to continue: Failed to process the request",
                "the request to process Failed",
            ],
            &["[WARN] Failed to process"],
        ),
        ("", &["anything", ""], &[]),
        ("\"\"", &["anything", ""], &[]),
    ]);
}

#[test]
fn sdk_parameter_doc_examples() {
    // Lightsail GetContainerLog and Live Tail `logEventFilterPattern` docs.
    check_sets(&[
        ("-ERROR", &["INFO all good", ""], &["ERROR boom", "xERRORx"]),
        (
            "ERROR Exception",
            &["ERROR: Exception thrown"],
            &["ERROR only", "Exception only"],
        ),
        (
            "?ERROR ?Exception",
            &["ERROR only", "Exception only"],
            &["neither"],
        ),
        (
            "error 404",
            &["error 404 not found", "404: error"],
            &["error 500", "ERROR 404"],
        ),
    ]);
}

#[test]
fn community_observed_examples() {
    check_sets(&[
        (
            "ERROR",
            &["ERRORNEOUS PROGRAM"],
            &[
                "error=cannot process ticket",
                "rpc error",
                "Error: entity not found!",
                "ErRoR",
            ],
        ),
        (
            "\"ERROR][grpc\"",
            &["2025-03-28 [ERROR][grpc] failed"],
            &["[ERROR] [grpc]"],
        ),
        (
            "?BAD ?INVALID",
            &["[ERROR 400] BAD REQUEST", "[ERROR 420] INVALID ARGUMENTS"],
            &[
                "[ERROR 401] UNAUTHORIZED REQUEST",
                "[ERROR 419] MISSING ARGUMENTS",
            ],
        ),
        (
            "?\"clean up\" ?xyz",
            &["map clean up", "xyz", "xyz will do clean up"],
            &[
                "abc xy yz xz",
                "map is cleaned up",
                "[ERROR 419] MISSING ARGUMENTS",
            ],
        ),
    ]);
}

#[test]
fn tokenisation_edge_cases() {
    check(&[
        // Case-sensitive substring matching.
        ("Error", "NotFoundError", true),
        ("Error", "NotFoundERROR", false),
        ("404", "GET /x 404 12", true),
        ("404", "GET /x 4040 12", true),
        ("user_id", "user_id=7", true),
        ("user_id", "user-id=7", false),
        // Unicode alphanumerics need no quotes.
        ("café", "un café noir", true),
        ("日本語", "ログ 日本語 テキスト", true),
        // Quoted phrases: punctuation, escapes, exact whitespace.
        ("\"ERROR:\"", "ERROR: boom", true),
        ("\"ERROR:\"", "ERROR boom", false),
        ("\"user-id\"", "user-id=7", true),
        (r#""say \"hi\"""#, r#"they say "hi" twice"#, true),
        (r#""a\\b""#, r"path a\b", true),
        (r#""a\b""#, r"path a\b", true),
        ("\"two  spaces\"", "two  spaces", true),
        ("\"two  spaces\"", "two spaces", false),
        ("\"{\\\"k\\\": 1}\"", "{\"k\": 1}", true),
        // Whitespace between terms may be any ASCII whitespace.
        ("ERROR\tARGUMENTS\n", ERR_419, true),
        ("  ERROR   ", ERR_400, true),
        // Blank phrases match everything and do not disturb other terms.
        ("ERROR \" \"", ERR_400, true),
        ("ERROR \" \"", INFO_200, false),
        ("?\" \" ?ERROR", INFO_200, true),
        // `?` alternatives with exclusions.
        ("?ERROR ?WARN -DEBUG", "WARN x", true),
        ("?ERROR ?WARN -DEBUG", "WARN DEBUG", false),
        ("?ERROR ?WARN -DEBUG", "INFO", false),
        ("? ERROR ? WARN", "WARN x", true),
        // Only exclusions.
        ("-DEBUG -TRACE", "INFO x", true),
        ("-DEBUG -TRACE", "TRACE x", false),
        // A single `?` term behaves as a plain term.
        ("?ERROR", "ERROR x", true),
        ("?ERROR", "INFO x", false),
        // Repeated terms.
        ("ERROR ERROR", "ERROR once", true),
        // Regex terms alongside plain terms, alternatives and exclusions.
        ("ERROR %4[0-9]{2}%", ERR_419, true),
        ("ERROR %4[0-9]{2}%", ERR_500, false),
        ("?%^INFO% ?WARN", "INFO: x", true),
        ("?%^INFO% ?WARN", "x INFO", false),
        ("ERROR -%MISSING|INVALID%", ERR_400, true),
        ("ERROR -%MISSING|INVALID%", ERR_420, false),
        // Empty and whitespace-only messages.
        ("ERROR", "", false),
        ("-ERROR", "", true),
        ("%^$%", "", true),
    ]);
}
