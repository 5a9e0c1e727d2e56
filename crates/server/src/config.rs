//! Typed configuration: TOML file, then `NEPHOSCOPE_*` environment variables, then command-line
//! flags, each overriding the one before. Unknown keys are rejected. Every field is documented in
//! `docs/configuration.md`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4566";
pub const DEFAULT_DATA_DIR: &str = "nephoscope-data";
pub const DEV_ACCESS_KEY_ID: &str = "test";
pub const DEV_SECRET_ACCESS_KEY: &str = "test";
pub const DEV_ACCOUNT_ID: &str = "000000000000";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port of the one listener for every service.
    pub listen: String,
    /// Directory of all persistent state.
    pub data_dir: PathBuf,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub logs: LogsConfig,
    pub metrics: MetricsConfig,
    pub tls: Option<TlsConfig>,
    pub emf_agent: EmfAgentConfig,
}

/// The CloudWatch agent's EMF endpoint: newline-delimited EMF documents over TCP and UDP, off
/// unless `listen` is set (the agent's own port is 25888).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmfAgentConfig {
    /// Address and port for both TCP and UDP, such as `127.0.0.1:25888`; unset means off.
    pub listen: Option<String>,
    /// The account the documents' log events and metrics belong to.
    pub account_id: String,
    /// The region they belong to.
    pub region: String,
    /// Log group of documents without `_aws.LogGroupName`.
    pub log_group: String,
    /// Log stream of documents without `_aws.LogStreamName`.
    pub log_stream: String,
}

impl Default for EmfAgentConfig {
    fn default() -> Self {
        EmfAgentConfig {
            listen: None,
            account_id: DEV_ACCOUNT_ID.into(),
            region: "us-east-1".into(),
            log_group: "emf-agent".into(),
            log_stream: "emf-agent".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.into(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            logs: LogsConfig::default(),
            metrics: MetricsConfig::default(),
            tls: None,
            emf_agent: EmfAgentConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Accept `test`/`test` as account 000000000000. Unset: on for loopback listeners only.
    pub dev_credentials: Option<bool>,
    /// SigV4 clock-skew window in seconds.
    pub max_skew_seconds: i64,
    pub credentials: Vec<CredentialConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            dev_credentials: None,
            max_skew_seconds: 900,
            credentials: Vec::new(),
        }
    }
}

#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account_id: String,
    /// `root`, `user/NAME` or `role/NAME`.
    #[serde(default = "root")]
    pub principal: String,
}

fn root() -> String {
    "root".into()
}

// Secrets never reach logs, not even through Debug.
impl std::fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("principal", &self.principal)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted, as received (compressed or not).
    pub max_body_bytes: usize,
    /// Largest body after undoing `Content-Encoding: gzip`.
    pub max_decompressed_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_decompressed_bytes: 32 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter (`info`, `nephoscope=debug`).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// CloudWatch Logs behaviour.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Longest Live Tail session before `SessionTimeoutException` (AWS: 3 hours).
    pub live_tail_max_seconds: u64,
    /// Logs Insights queries one account may run at once (AWS: 100).
    pub insights_max_concurrent_queries: usize,
    /// Log groups one Logs Insights query may read (AWS: 50).
    pub insights_max_log_groups: usize,
    /// Longest Logs Insights query before status Timeout (AWS: 60 minutes).
    pub insights_timeout_seconds: u64,
    /// Longest run of one Logs Insights subquery before the query fails (AWS: 30 seconds).
    pub insights_subquery_timeout_seconds: u64,
    /// Most rows a subquery without its own `limit` may return before the query fails
    /// (AWS's default result size, 10,000).
    pub insights_subquery_max_rows: usize,
    /// Most distinct key values on the right side of a `join` before the query fails
    /// (AWS: 50,000).
    pub insights_join_max_keys: usize,
    /// How long StartQuery waits for its query to end before answering (0: not at all).
    pub insights_start_wait_ms: u64,
    /// Most rows a Logs Insights query may hold when every matching record must be kept (SQL's
    /// windows, `expand` and other row commands over whole records); more fails the query.
    pub insights_max_held_rows: usize,
    /// Keep the discovered JSON fields of flushed events as columns beside the messages, so
    /// Logs Insights queries reading only such fields never decompress messages (costs about
    /// 10 % more storage on JSON logs, hence off by default).
    pub field_columns: bool,
    /// Segments whose newest event is younger than this many hours keep their messages LZ4
    /// compressed (queries inflate them 3–4× faster; about 1.8× the disk) and are rewritten
    /// with zstd once they age; 0: zstd always.
    pub hot_hours: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            live_tail_max_seconds: 3 * 3600,
            insights_max_concurrent_queries: 100,
            insights_max_log_groups: 50,
            insights_timeout_seconds: 3600,
            insights_subquery_timeout_seconds: 30,
            insights_subquery_max_rows: 10_000,
            insights_join_max_keys: 50_000,
            insights_start_wait_ms: 20,
            insights_max_held_rows: 1_000_000,
            field_columns: false,
            hot_hours: 24,
        }
    }
}

/// CloudWatch metrics retention: how long each resolution is kept (CloudWatch's ladder by
/// default; raise the numbers to keep more).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// 1-second (high-resolution) data, hours.
    pub high_resolution_hours: i64,
    /// 1-minute data, days.
    pub minute_days: i64,
    /// 5-minute data, days.
    pub five_minute_days: i64,
    /// 1-hour data, days; older data is deleted.
    pub hour_days: i64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            high_resolution_hours: 3,
            minute_days: 15,
            five_minute_days: 63,
            hour_days: 455,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid config file {0}: {1}")]
    Parse(PathBuf, String),
    #[error("invalid value {value:?} for {name}: {reason}")]
    Env {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        Config::from_toml(&text).map_err(|e| ConfigError::Parse(path.to_path_buf(), e))
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `NEPHOSCOPE_*` variables from `vars`. Returns the names of `NEPHOSCOPE_`
    /// variables that mean nothing to the server (test harnesses set their own, such as
    /// `NEPHOSCOPE_BIN`), so the caller can warn about a likely typo.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Vec<String>, ConfigError> {
        let mut unknown = Vec::new();
        fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
            value.parse().map_err(|_| ConfigError::Env {
                name: name.into(),
                value: value.into(),
                reason: "not a number".into(),
            })
        }
        for (name, value) in vars {
            match name.as_str() {
                "NEPHOSCOPE_LISTEN" => self.listen = value,
                "NEPHOSCOPE_EMF_AGENT_LISTEN" => self.emf_agent.listen = Some(value),
                "NEPHOSCOPE_DATA_DIR" => self.data_dir = value.into(),
                "NEPHOSCOPE_LOG_FORMAT" => self.log.format = value,
                "NEPHOSCOPE_LOG_LEVEL" => self.log.level = value,
                "NEPHOSCOPE_MAX_SKEW_SECONDS" => self.auth.max_skew_seconds = num(&name, &value)?,
                "NEPHOSCOPE_MAX_BODY_BYTES" => self.limits.max_body_bytes = num(&name, &value)?,
                "NEPHOSCOPE_MAX_DECOMPRESSED_BYTES" => {
                    self.limits.max_decompressed_bytes = num(&name, &value)?
                }
                "NEPHOSCOPE_DEV_CREDENTIALS" => {
                    self.auth.dev_credentials = Some(match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(ConfigError::Env {
                                name,
                                value,
                                reason: "expected true or false".into(),
                            })
                        }
                    })
                }
                n if n.starts_with("NEPHOSCOPE_") => unknown.push(name),
                _ => {}
            }
        }
        Ok(unknown)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "listen address {:?} is not ADDR:PORT (e.g. 127.0.0.1:4566)",
                self.listen
            ))
        })
    }

    /// Whether the test/test credential is active for this listener.
    pub fn dev_credentials_enabled(&self, addr: &SocketAddr) -> bool {
        self.auth.dev_credentials.unwrap_or(addr.ip().is_loopback())
    }

    /// Checks that make a server unsafe or unusable to start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let addr = self.listen_addr()?;
        if !addr.ip().is_loopback() && self.auth.credentials.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on {addr}: the only credential is the built-in test/test one, \
                 which anybody on the network could use. Add [[auth.credentials]] entries to the \
                 config file, or listen on 127.0.0.1."
            )));
        }
        if self.auth.max_skew_seconds <= 0 {
            return Err(ConfigError::Invalid(
                "auth.max_skew_seconds must be positive".into(),
            ));
        }
        for c in &self.auth.credentials {
            if c.account_id.len() != 12 || !c.account_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid(format!(
                    "credential {}: account_id must be 12 digits",
                    c.access_key_id
                )));
            }
            let ok = c.principal == "root"
                || ["user/", "role/"]
                    .iter()
                    .any(|p| c.principal.strip_prefix(p).is_some_and(|n| !n.is_empty()));
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "credential {}: principal must be root, user/NAME or role/NAME",
                    c.access_key_id
                )));
            }
        }
        let m = &self.metrics;
        let hours = m.high_resolution_hours;
        if !(hours > 0
            && hours * 3600 <= m.minute_days * 86_400
            && m.minute_days <= m.five_minute_days
            && m.five_minute_days <= m.hour_days)
        {
            return Err(ConfigError::Invalid(
                "metrics retention must be positive and non-decreasing: high_resolution_hours ≤ minute_days ≤ five_minute_days ≤ hour_days".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(
                "log.format must be text or json".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_file() {
        let c = Config::from_toml(
            r#"
listen = "127.0.0.1:5000"
data_dir = "/tmp/x"
[auth]
dev_credentials = false
max_skew_seconds = 300
[[auth.credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "s"
account_id = "111111111111"
principal = "user/alice"
[limits]
max_body_bytes = 1024
[log]
format = "json"
[tls]
cert_file = "c.pem"
key_file = "k.pem"
[logs]
field_columns = true
hot_hours = 0
"#,
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:5000");
        assert!(c.logs.field_columns);
        assert_eq!(c.logs.hot_hours, 0);
        assert_eq!(Config::default().logs.hot_hours, 24);
        assert!(!Config::default().logs.field_columns);
        assert_eq!(c.auth.credentials[0].principal, "user/alice");
        assert_eq!(c.limits.max_decompressed_bytes, 32 * 1024 * 1024);
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("secret_access_key: \"s\""));
    }

    #[test]
    fn rejects_unknown_keys() {
        for text in ["lisen = \"x\"", "[auth]\nmax_skew = 1", "[limits]\nfoo = 1"] {
            assert!(Config::from_toml(text).is_err(), "{text}");
        }
    }

    #[test]
    fn env_overrides_table() {
        let mut c = Config::default();
        c.apply_env([
            ("NEPHOSCOPE_LISTEN".to_string(), "127.0.0.1:1".to_string()),
            ("NEPHOSCOPE_MAX_BODY_BYTES".into(), "10".into()),
            ("PATH".into(), "/bin".into()),
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.limits.max_body_bytes, 10);
        assert_eq!(
            c.apply_env([("NEPHOSCOPE_NOPE".to_string(), "1".to_string())])
                .unwrap(),
            vec!["NEPHOSCOPE_NOPE".to_string()]
        );
        assert!(c
            .apply_env([("NEPHOSCOPE_MAX_BODY_BYTES".to_string(), "x".to_string())])
            .is_err());
    }

    #[test]
    fn refuses_network_listener_with_dev_credential_only() {
        let mut c = Config {
            listen: "0.0.0.0:4566".into(),
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("refusing to listen on 0.0.0.0:4566"), "{err}");
        c.auth.credentials.push(CredentialConfig {
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            account_id: "111111111111".into(),
            principal: "root".into(),
        });
        assert!(c.validate().is_ok());
        let addr = c.listen_addr().unwrap();
        assert!(!c.dev_credentials_enabled(&addr));
        assert!(Config::default().dev_credentials_enabled(&"127.0.0.1:1".parse().unwrap()));
    }
}
