//! The server's own endpoints that the harness relies on (docs/dev/server-contract.md).

use nephoscope_rust_sdk_tests::Server;

#[test]
fn health_answers_status_ok() {
    let server = Server::start();
    let (status, body) = server.http("GET", "/_nephoscope/health").expect("health request");
    assert_eq!(status, 200);
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(compact, r#"{"status":"ok"}"#, "health body");
}

#[test]
fn reset_is_served_in_ephemeral_mode() {
    let server = Server::start();
    let (status, body) = server.http("POST", "/_nephoscope/reset").expect("reset request");
    assert_eq!(status, 200, "POST /_nephoscope/reset with --ephemeral: {body}");
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(compact, r#"{"reset":true}"#, "reset body");
}
