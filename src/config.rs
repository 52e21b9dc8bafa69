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
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `keel=debug,sqlx=warn`; RUST_LOG wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
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
        if !self.database.url.starts_with("sqlite:") {
            return Err(ConfigError::Invalid(format!(
                "database.url must start with sqlite: (like sqlite://keel.db), not {:?}",
                self.database.url
            )));
        }
        if self.database.url.contains(":memory:") || self.database.url.contains("mode=memory") {
            return Err(ConfigError::Invalid(
                "database.url must name a file: an in-memory database would lose everything on exit".into(),
            ));
        }
        if self.database.read_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.read_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            url: self.database.url.clone(),
            synchronous_full: self.database.synchronous == Synchronous::Full,
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            read_connections: self.database.read_connections,
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
                _ if ["token", "secret", "key", "password"]
                    .iter()
                    .any(|s| prefix.ends_with(s)) =>
                {
                    out.push(format!("{prefix} = (set, hidden)"));
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
}
