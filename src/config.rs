//! Configuration: built-in defaults, then a TOML file (`--config FILE`), then
//! `KEEL_*` environment variables (`KEEL_DATABASE__URL=sqlite://other.db`). Every
//! key is documented in config.example.toml; an unknown key is an error naming it.

use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::store::StoreOptions;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub discord: DiscordConfig,
    pub slack: SlackConfig,
    pub delivery: DeliveryConfig,
    pub files: FilesConfig,
    pub metrics: MetricsConfig,
}

/// The operator's listener: /metrics, /healthz, /readyz (src/ops.rs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where it listens, such as `127.0.0.1:9100`; unset: nowhere.
    pub listen: Option<String>,
}

/// Replies that make a file: exports and charts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// How many are made at once; a member who asks while that many are under
    /// way is told theirs is queued.
    pub concurrent: usize,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            concurrent: crate::app::DEFAULT_CONCURRENT_FILES,
        }
    }
}

/// A secret from the config: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(hidden)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Where Keel's HTTP server (Slack's endpoints, /healthz, /readyz) listens.
    pub listen: String,
    /// A client gets this long to send a request's headers, counted from when it
    /// connects or from the previous answer on a kept-alive connection.
    pub header_read_timeout_secs: u64,
    /// A kept-alive connection on which no next request has started for this long
    /// is closed; 0 closes every connection after one request.
    pub idle_timeout_secs: u64,
    /// Open connections at most; past it, new ones wait in the kernel's queue.
    pub max_connections: usize,
    /// Requests to /slack/install and /slack/oauth/callback per minute from one
    /// address (an IPv6 /64 counts as one address); past it, 429 with Retry-After.
    pub install_requests_per_minute: u32,
    /// Reverse proxies (IP addresses or CIDR ranges) whose X-Forwarded-For names
    /// the client; anyone else's is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:3000".into(),
            header_read_timeout_secs: 10,
            idle_timeout_secs: 5,
            max_connections: 1024,
            install_requests_per_minute: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// `trusted_proxies` as networks; an address alone is a network of one.
    pub fn trusted_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "http.trusted_proxies: {entry:?} is neither an IP address nor a CIDR range \
                             (like \"10.0.0.5\" or \"10.0.0.0/8\")"
                        ))
                    })
            })
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.trusted_networks()?;
        if self.header_read_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "http.header_read_timeout_secs must be at least 1: without it a client that never finishes its headers holds a connection forever".into(),
            ));
        }
        // The header clock also starts when a kept-alive connection falls idle, so
        // a longer idle limit would never be reached.
        if self.idle_timeout_secs > self.header_read_timeout_secs {
            return Err(ConfigError::Invalid(format!(
                "http.idle_timeout_secs ({}) must not exceed http.header_read_timeout_secs ({}): an idle connection is \
                 also waiting for its next request's headers, so it is closed at the shorter of the two",
                self.idle_timeout_secs, self.header_read_timeout_secs
            )));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "http.max_connections must be at least 1".into(),
            ));
        }
        if self.install_requests_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "http.install_requests_per_minute must be at least 1 (it limits each address, not installs as a whole)".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// The bot token (Developer Portal → your application → Bot → Reset Token).
    /// Setting it turns Discord on in `keel run`.
    pub token: Option<Secret>,
    /// Register the slash commands in this one server only, instantly (for
    /// development). Unset: globally, in every server.
    pub guild_id: Option<u64>,
    /// Send REST calls and the gateway lookup to this base URL instead of
    /// https://discord.com (tests, or a rate-limiting proxy). Setting it turns
    /// serenity's own rate limiter off: the proxy must do that job.
    pub api_base: Option<String>,
    /// Count messages and reactions as activity (counts only, never text); adds the
    /// guild messages and reactions intents.
    pub count_activity: bool,
    /// Send members who join the server the mission, privately; adds the guild
    /// members intent (privileged: enable it in the Developer Portal).
    pub welcome: bool,
    /// Record members joining and leaving the server, for growth; adds the guild
    /// members intent (privileged, as for `welcome`).
    pub count_members: bool,
    /// Days after Keel is removed from a server before that server's data is purged.
    pub purge_after_days: u32,
    /// The gateway shards this process runs, `"0-3"` (inclusive) or `5`, of
    /// `total_shards`. Unset: all of one shard.
    pub shards: Option<Shards>,
    pub total_shards: Option<u32>,
    /// Register the slash commands when connected. One process of a sharded
    /// bot should (or `keel discord register`), not every one.
    pub register_commands: bool,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token: None,
            guild_id: None,
            api_base: None,
            count_activity: false,
            welcome: false,
            count_members: false,
            purge_after_days: 30,
            shards: None,
            total_shards: None,
            register_commands: true,
        }
    }
}

/// `[discord] shards`: one shard, or a range written `"0-3"` (an environment
/// variable's `5` arrives as a number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Shards {
    One(u32),
    Range(String),
}

impl DiscordConfig {
    /// Whether Discord is configured.
    pub fn enabled(&self) -> bool {
        self.token.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// The shards this process runs, first and last (inclusive), of how many;
    /// None for a bot of one shard.
    pub fn shard_range(&self) -> Result<Option<(u32, u32, u32)>, ConfigError> {
        let (shards, total) = match (&self.shards, self.total_shards) {
            (None, None) => return Ok(None),
            (Some(shards), Some(total)) if total > 0 => (shards, total),
            _ => {
                return Err(ConfigError::Invalid(
                    "discord.shards and discord.total_shards go together, for example shards = \"0-3\" and total_shards = 8".into(),
                ));
            }
        };
        let bound = |n: &str| n.trim().parse::<u32>().ok();
        let (first, last) = match shards {
            Shards::One(shard) => (Some(*shard), Some(*shard)),
            Shards::Range(range) => match range.split_once('-') {
                Some((first, last)) => (bound(first), bound(last)),
                None => (bound(range), bound(range)),
            },
        };
        match (first, last) {
            (Some(first), Some(last)) if first <= last && last < total => {
                Ok(Some((first, last, total)))
            }
            _ => Err(ConfigError::Invalid(format!(
                "discord.shards must be a shard or a range like \"0-3\" within 0..{} (total_shards = {total}), not {shards:?}",
                total - 1
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// Verifies every request from Slack. Setting it turns the Slack endpoints on.
    pub signing_secret: Option<Secret>,
    /// Single-workspace mode: the bot token (xoxb-…) of the one workspace.
    pub bot_token: Option<Secret>,
    /// "Add to Slack" for many workspaces: the app's OAuth client id and secret.
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// The public base URL Slack redirects browsers to after install.
    pub public_url: Option<String>,
    /// Encrypts installation tokens at rest: 32 random bytes in base64.
    pub token_key: Option<Secret>,
    /// Socket Mode: the app-level token (xapp-…) with connections:write; Keel
    /// connects out to Slack, so no public URL is needed.
    pub app_token: Option<Secret>,
    /// The Web API base URL (tests, proxies).
    pub api_base: String,
    /// Where browsers are sent to approve an install.
    pub authorize_url: String,
    /// Count messages and reactions as activity (counts only, never text).
    pub count_activity: bool,
    /// Welcome members who join the workspace with the mission.
    pub welcome: bool,
    /// Record members joining and leaving (deactivated) the workspace, for growth.
    pub count_members: bool,
    /// Days after uninstall before a workspace's data is purged.
    pub purge_after_days: u32,
    /// The largest file Keel uploads (a gzipped export), in bytes; Slack takes
    /// files up to 1 GB. A larger export points the organiser to `keel export`.
    pub max_upload_bytes: u64,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            signing_secret: None,
            bot_token: None,
            client_id: None,
            client_secret: None,
            public_url: None,
            token_key: None,
            app_token: None,
            api_base: "https://slack.com/api".into(),
            authorize_url: "https://slack.com/oauth/v2/authorize".into(),
            count_activity: false,
            welcome: false,
            count_members: false,
            purge_after_days: 30,
            max_upload_bytes: crate::domain::Platform::Slack
                .upload_limit()
                .unwrap_or(1_000_000_000),
        }
    }
}

impl SlackConfig {
    /// Whether the Slack endpoints are configured.
    pub fn enabled(&self) -> bool {
        self.signing_secret.is_some()
            || self.bot_token.is_some()
            || self.client_id.is_some()
            || self.app_token.is_some()
    }
}

/// Calls to the platforms and the delivery of announcements.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The longest any one call to Discord or Slack may take, in seconds.
    pub call_timeout_secs: u64,
    /// Workspaces whose announcements are delivered at the same time.
    pub concurrency: usize,
    /// Seconds a worker's hold on a workspace's deliveries lasts unless renewed.
    pub lease_secs: u64,
    /// Hours after which an unposted milestone announcement expires.
    pub milestone_max_age_hours: u32,
    /// Hours after which an unposted digest expires; unset: when the next is due.
    pub digest_max_age_hours: Option<u32>,
    /// Hours after which an unposted mission reminder expires; unset: when the
    /// next is due.
    pub reminder_max_age_hours: Option<u32>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            call_timeout_secs: 10,
            concurrency: 8,
            lease_secs: 60,
            milestone_max_age_hours: 7 * 24,
            digest_max_age_hours: None,
            reminder_max_age_hours: None,
        }
    }
}

impl DeliveryConfig {
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_timeout_secs)
    }

    pub fn options(&self) -> crate::jobs::outbox::DeliveryOptions {
        crate::jobs::outbox::DeliveryOptions {
            call_timeout: self.call_timeout(),
            concurrency: self.concurrency,
            lease: Duration::from_secs(self.lease_secs),
        }
    }

    pub fn freshness(&self) -> crate::domain::announce::Freshness {
        let hours = |h: u32| chrono::Duration::hours(i64::from(h));
        crate::domain::announce::Freshness {
            milestone_max_age: hours(self.milestone_max_age_hours),
            digest_max_age: self.digest_max_age_hours.map(hours),
            reminder_max_age: self.reminder_max_age_hours.map(hours),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Where the data lives: `sqlite://keel.db` is keel.db in the working directory.
    pub url: String,
    /// `full` (every acknowledged write survives power loss) or `normal`.
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
    pub read_connections: u32,
    /// Connections each Keel process keeps to PostgreSQL.
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://keel.db".into(),
            synchronous: Synchronous::Full,
            busy_timeout_ms: 5000,
            read_connections: 4,
            pool_size: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `keel=debug,sqlx=warn`; RUST_LOG wins.
    pub level: String,
    /// `text` for people, `json` (one object per line) for log shippers.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the config file {0} does not exist; copy config.example.toml to start one")]
    Missing(String),
    #[error("configuration error: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` if given, then `KEEL_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Missing(file.display().to_string()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("KEEL_").split("__").ignore(&["config"]));
        let config: Config = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Invalid(messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !url.starts_with("sqlite:") && !postgres {
            return Err(ConfigError::Invalid(format!(
                "database.url must start with sqlite: (like sqlite://keel.db) or postgres:// \
                 (like postgres://keel@db.example/keel), not {:?}",
                crate::store::redact_url(url)
            )));
        }
        if postgres && self.database.pool_size == 0 {
            return Err(ConfigError::Invalid(
                "database.pool_size must be at least 1".into(),
            ));
        }
        if self.database.url.contains(":memory:") || self.database.url.contains("mode=memory") {
            return Err(ConfigError::Invalid(
                "database.url must name a file: an in-memory database would lose everything on exit".into(),
            ));
        }
        if self.slack.enabled() {
            // Socket Mode alone serves no HTTP endpoint, so there is nothing to sign;
            // installs always come back over HTTP.
            let socket_only = self.slack.app_token.as_ref().is_some_and(|t| !t.is_empty())
                && self.slack.client_id.is_none();
            if !socket_only
                && self
                    .slack
                    .signing_secret
                    .as_ref()
                    .is_none_or(Secret::is_empty)
            {
                return Err(ConfigError::Invalid(
                    "slack.signing_secret is empty: Keel will not serve Slack without checking that requests come from Slack \
                     (find it under Basic Information → App Credentials), or connect with Socket Mode instead \
                     (slack.app_token, without slack.client_id)"
                        .into(),
                ));
            }
            if self.slack.client_id.is_some()
                && (self
                    .slack
                    .client_secret
                    .as_ref()
                    .is_none_or(Secret::is_empty)
                    || self.slack.token_key.as_ref().is_none_or(Secret::is_empty)
                    || self.slack.public_url.is_none())
            {
                return Err(ConfigError::Invalid(
                    "slack.client_id is set, so installs are enabled: also set slack.client_secret, slack.public_url and \
                     slack.token_key (32 random bytes in base64, from `keel slack new-key`)"
                        .into(),
                ));
            }
            if self.slack.bot_token.is_some() && self.slack.client_id.is_some() {
                return Err(ConfigError::Invalid(
                    "slack: set slack.bot_token (one workspace) or slack.client_id (installs), not both: \
                     with both, the one token would answer for every installed workspace"
                        .into(),
                ));
            }
            if self.slack.bot_token.is_none() && self.slack.client_id.is_none() {
                return Err(ConfigError::Invalid(
                    "slack: set either slack.bot_token (one workspace) or slack.client_id (installs)".into(),
                ));
            }
        }
        if let Some(token) = &self.discord.token
            && token.is_empty()
        {
            return Err(ConfigError::Invalid(
                "discord.token is empty: paste the bot token from the Developer Portal (your application → Bot → Reset Token), \
                 or remove the key to run without Discord"
                    .into(),
            ));
        }
        self.discord.shard_range()?;
        if let Some(base) = &self.discord.api_base
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "discord.api_base must be an http:// or https:// URL, not {base:?}"
            )));
        }
        if self.delivery.call_timeout_secs == 0 || self.delivery.concurrency == 0 {
            return Err(ConfigError::Invalid(
                "delivery.call_timeout_secs and delivery.concurrency must be at least 1".into(),
            ));
        }
        // A lease must outlast an attempt (its call, then recording it), or a
        // second worker could take the workspace over mid-attempt.
        if self.delivery.lease_secs < 2 * self.delivery.call_timeout_secs + 5 {
            return Err(ConfigError::Invalid(format!(
                "delivery.lease_secs must be at least twice delivery.call_timeout_secs and 5 more ({} here): a worker's hold on a workspace must outlast one attempt",
                2 * self.delivery.call_timeout_secs + 5
            )));
        }
        if self.delivery.milestone_max_age_hours == 0 {
            return Err(ConfigError::Invalid(
                "delivery.milestone_max_age_hours must be at least 1: a milestone needs time to be announced".into(),
            ));
        }
        if self.files.concurrent == 0 {
            return Err(ConfigError::Invalid(
                "files.concurrent must be at least 1: with none, no export or chart would ever be made".into(),
            ));
        }
        if self.slack.max_upload_bytes == 0 {
            return Err(ConfigError::Invalid(
                "slack.max_upload_bytes must be at least 1 (Slack takes files up to 1000000000 bytes)".into(),
            ));
        }
        self.http.validate()?;
        if self.database.read_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.read_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// What the application itself takes from the configuration.
    pub fn app_settings(&self) -> crate::app::Settings {
        crate::app::Settings {
            freshness: self.delivery.freshness(),
            concurrent_files: self.files.concurrent,
        }
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            url: self.database.url.clone(),
            synchronous_full: self.database.synchronous == Synchronous::Full,
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            read_connections: self.database.read_connections,
            pool_size: self.database.pool_size,
        }
    }

    /// The effective configuration as `key = value` lines, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&key, v, out);
                    }
                }
                serde_json::Value::Null => out.push(format!("{prefix} = (not set)")),
                _ if ["token", "secret", "key", "password"]
                    .iter()
                    .any(|s| prefix.ends_with(s)) =>
                {
                    out.push(format!("{prefix} = (set, hidden)"));
                }
                serde_json::Value::String(url) if prefix == "database.url" => {
                    out.push(format!(
                        "{prefix} = {}",
                        serde_json::Value::from(crate::store::redact_url(url))
                    ));
                }
                other => out.push(format!("{prefix} = {other}")),
            }
        }
        let mut out = Vec::new();
        walk(
            "",
            &serde_json::to_value(self).unwrap_or_default(),
            &mut out,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[database]\nurl = \"sqlite://x.db\"\nsynchronus = \"full\"\n",
        )
        .unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("synchronus"), "{err}");
    }

    #[test]
    fn secrets_are_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[slack]\nsigning_secret = \"s3cr3t-sign\"\nbot_token = \"xoxb-s3cr3t\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        let described = config.describe().join("\n");
        assert!(!described.contains("s3cr3t"), "{described}");
        assert!(
            described.contains("slack.signing_secret = (set, hidden)"),
            "{described}"
        );
        assert!(
            described.contains("slack.token_key = (not set)"),
            "{described}"
        );
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn slack_without_a_signing_secret_does_not_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"\"\n",
        )
        .unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("signing_secret is empty"), "{err}");
    }

    #[test]
    fn one_workspace_and_installs_are_not_configured_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[slack]\nsigning_secret = \"s\"\nbot_token = \"xoxb-1\"\nclient_id = \"1.2\"\nclient_secret = \"c\"\n\
             token_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\npublic_url = \"https://keel.example\"\n",
        )
        .unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
    }

    #[test]
    fn socket_mode_alone_needs_no_signing_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(Some(&path)).map(|_| ())
        };
        load("[slack]\napp_token = \"xapp-1\"\nbot_token = \"xoxb-1\"\n").unwrap();
        // An empty app token is no Socket Mode, and installs need the HTTP endpoints.
        for text in [
            "[slack]\napp_token = \"\"\nbot_token = \"xoxb-1\"\n",
            "[slack]\napp_token = \"xapp-1\"\nclient_id = \"1.2\"\nclient_secret = \"s\"\n\
             token_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\npublic_url = \"https://keel.example\"\n",
        ] {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains("signing_secret is empty"), "{text}: {err}");
        }
    }

    #[test]
    fn an_empty_discord_token_is_refused_with_where_to_find_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(&path, "[discord]\ntoken = \"\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("discord.token is empty"), "{err}");
        assert!(err.contains("Developer Portal"), "{err}");
    }

    #[test]
    fn the_example_config_loads_and_names_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let config = Config::load(Some(&example)).unwrap();
        assert_eq!(config.files.concurrent, 2);
        assert_eq!(config.slack.max_upload_bytes, 1_000_000_000);
    }

    #[test]
    fn http_limits_that_cannot_work_are_refused_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Config::load(Some(&path)).map(|c| c.http)
        };
        let http = load(
            "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]\n\
             header_read_timeout_secs = 20\nidle_timeout_secs = 20\n",
        )
        .unwrap();
        assert_eq!(http.trusted_networks().unwrap().len(), 3);
        for (text, named) in [
            (
                "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
                "10.0.0.0/33",
            ),
            (
                "[http]\ntrusted_proxies = [\"proxy.internal\"]\n",
                "proxy.internal",
            ),
            ("[http]\nidle_timeout_secs = 30\n", "idle_timeout_secs (30)"),
            (
                "[http]\nheader_read_timeout_secs = 0\n",
                "header_read_timeout_secs",
            ),
            ("[http]\nmax_connections = 0\n", "max_connections"),
            (
                "[http]\ninstall_requests_per_minute = 0\n",
                "install_requests_per_minute",
            ),
            ("[http]\nheader_timeout = 5\n", "header_timeout"),
        ] {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn the_example_config_loads_and_documents_every_key() {
        let example = include_str!("../config.example.toml");
        let mut documented = std::collections::HashSet::new();
        let mut section = String::new();
        for line in example.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = line.trim_start_matches("# ").split_once(" = ") {
                documented.insert(format!("{section}.{key}"));
            }
        }
        for line in Config::default().describe() {
            let key = line.split(" = ").next().unwrap();
            assert!(documented.contains(key), "config.example.toml lacks {key}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(&path, example).unwrap();
        Config::load(Some(&path)).unwrap();
    }

    #[test]
    fn file_values_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[database]\nurl = \"sqlite://x.db\"\nsynchronous = \"normal\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.database.url, "sqlite://x.db");
        assert_eq!(config.database.synchronous, Synchronous::Normal);
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn a_postgres_url_is_accepted_and_its_password_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel.toml");
        std::fs::write(
            &path,
            "[database]\nurl = \"postgres://keel:hunter2@db.example:5432/keel?sslmode=verify-full\"\npool_size = 4\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.store_options().pool_size, 4);
        let described = config.describe().join("\n");
        assert!(
            described.contains("database.url = \"postgres://keel:***@db.example:5432/keel\""),
            "{described}"
        );
        assert!(!described.contains("hunter2"), "{described}");

        std::fs::write(
            &path,
            "[database]\nurl = \"mysql://keel:hunter2@db/keel\"\n",
        )
        .unwrap();
        let refused = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            refused.contains("postgres://") && !refused.contains("hunter2"),
            "{refused}"
        );
    }

    #[test]
    fn shard_ranges_are_inclusive_and_checked_against_the_total() {
        let range = |shards: Option<&str>, total: Option<u32>| {
            DiscordConfig {
                shards: shards.map(|s| Shards::Range(s.to_string())),
                total_shards: total,
                ..DiscordConfig::default()
            }
            .shard_range()
        };
        assert_eq!(range(None, None).unwrap(), None);
        assert_eq!(range(Some("0-3"), Some(8)).unwrap(), Some((0, 3, 8)));
        assert_eq!(range(Some("5"), Some(8)).unwrap(), Some((5, 5, 8)));
        let one = DiscordConfig {
            shards: Some(Shards::One(7)),
            total_shards: Some(8),
            ..DiscordConfig::default()
        };
        assert_eq!(one.shard_range().unwrap(), Some((7, 7, 8)));
        for (shards, total) in [
            (Some("4-8"), Some(8)),
            (Some("3-1"), Some(8)),
            (Some("x"), Some(8)),
            (Some("0-3"), None),
            (None, Some(8)),
            (Some("0"), Some(0)),
        ] {
            let refused = range(shards, total).unwrap_err().to_string();
            assert!(refused.contains("discord.shards"), "{refused}");
        }
    }
}
