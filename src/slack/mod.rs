//! The Slack adapter: signed slash commands and events over HTTP (axum), the
//! "Add to Slack" install flow, and announcements through chat.postMessage. It
//! translates Slack's requests into the core's envelopes and commands and renders
//! replies as Block Kit; every decision stays in the core.

pub mod api;
pub mod buttons;
pub mod client_address;
pub mod commands;
pub mod connections;
pub mod crypto;
pub mod events;
pub mod files;
pub mod forms;
pub mod inbox;
pub mod install;
pub mod install_state;
pub mod interactions;
pub mod notifier;
pub mod rate_limit;
pub mod render;
pub mod replay;
pub mod server;
pub mod shortcuts;
pub mod signature;
pub mod socket;
pub mod upload;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::app::App;
use crate::config::{Config, Secret};
use crate::error::{Error, Result};

use self::crypto::TokenKey;
use self::install_state::StateKey;

/// Everything the Slack handlers share.
pub struct Slack {
    pub app: App,
    pub settings: crate::config::SlackConfig,
    /// How Keel's HTTP server treats connections and strangers (`[http]`).
    pub http: crate::config::HttpConfig,
    pub public_url: Option<String>,
    /// None in Socket Mode without HTTP endpoints.
    signing_secret: Option<Secret>,
    key: Option<TokenKey>,
    /// Signs install states; there when installs are (it comes from the token key).
    install_states: Option<StateKey>,
    pub client: Arc<api::Client>,
    /// The longest any one Web API call may take (R1).
    pub call_timeout: std::time::Duration,
    /// Slash commands' trigger ids seen lately, so a replay runs once.
    pub recent_triggers: replay::RecentTriggers,
    /// Wakes the inbox's loop (a row was released to be tried again).
    pub inbox_signal: tokio::sync::Notify,
    /// Socket Mode envelopes handled at once.
    pub handlers: tokio::sync::Semaphore,
    /// Streams files to the upload URLs Slack hands out.
    pub uploader: upload::Uploader,
    pub directory: api::Directory,
    /// Teams whose data is scheduled for purge after an uninstall. A member's
    /// command from one shows Keel is installed there again, which in
    /// single-workspace mode no install callback says.
    awaiting_purge: Mutex<HashSet<String>>,
}

/// How many Socket Mode envelopes are handled at the same time.
const SOCKET_HANDLERS: usize = 16;

/// Background work the adapter runs until shutdown.
pub type Task = tokio::task::JoinHandle<std::io::Result<()>>;

/// Starts Slack as the config says: the HTTP endpoints when a signing secret is
/// set, Socket Mode when an app token is, and the upkeep of handled event ids.
/// Returns the notifier for announcements and the running tasks.
pub async fn start(
    app: App,
    config: &Config,
    shutdown: crate::jobs::Shutdown,
) -> Result<(Arc<dyn crate::jobs::outbox::Notifier>, Vec<Task>)> {
    let slack = Slack::new(app, config)?;
    slack.load_scheduled_purges().await?;
    let mut tasks: Vec<Task> = Vec::new();
    if slack.signing_secret().is_some() {
        let listen = &config.http.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::internal("binding http.listen", format!("{listen}: {e}")))?;
        tracing::info!(%listen, "serving Slack at /slack/commands, /slack/events, /slack/install");
        tasks.push(tokio::spawn(server::serve(
            slack.clone(),
            listener,
            shutdown.clone(),
        )));
    }
    if let Some(app_token) = config.slack.app_token.as_ref().filter(|t| !t.is_empty()) {
        let (slack, token, stop) = (
            slack.clone(),
            app_token.expose().to_string(),
            shutdown.clone(),
        );
        tasks.push(tokio::spawn(async move {
            socket::run(slack, token, stop).await;
            Ok(())
        }));
    }
    let (inbox, stop) = (slack.clone(), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        inbox::run(inbox, stop).await;
        Ok(())
    }));
    let upkeep = slack.clone();
    tasks.push(tokio::spawn(async move {
        events::maintain(upkeep, shutdown).await;
        Ok(())
    }));
    Ok((Arc::new(notifier::SlackNotifier::new(slack)), tasks))
}

/// What a jobs process delivers to Slack through, without serving Slack's
/// endpoints: the Web API is all the outbox needs.
pub fn notifier(app: App, config: &Config) -> Result<Arc<dyn crate::jobs::outbox::Notifier>> {
    Ok(Arc::new(notifier::SlackNotifier::new(Slack::new(
        app, config,
    )?)))
}

impl Slack {
    /// Checks the configuration and builds the adapter (S2: no signing secret, no start).
    pub fn new(app: App, config: &Config) -> Result<Arc<Slack>> {
        let settings = config.slack.clone();
        let signing_secret = settings.signing_secret.clone().filter(|s| !s.is_empty());
        if signing_secret.is_none() && settings.app_token.is_none() {
            return Err(Error::internal(
                "slack",
                "slack.signing_secret is empty; Keel will not serve Slack without it",
            ));
        }
        let key = settings
            .token_key
            .as_ref()
            .map(|k| TokenKey::from_base64(k.expose()))
            .transpose()
            .map_err(|e| Error::internal("slack.token_key", e))?;
        let install_states = settings
            .token_key
            .as_ref()
            .map(|k| crypto::install_state_key(k.expose()))
            .transpose()
            .map_err(|e| Error::internal("slack.token_key", e))?;
        let client = Arc::new(
            api::client(&settings.api_base).map_err(|e| Error::internal("slack client", e))?,
        );
        let uploader =
            upload::Uploader::new().map_err(|e| Error::internal("slack upload client", e))?;
        Ok(Arc::new(Slack {
            directory: api::Directory::new(client.clone()),
            uploader,
            app,
            public_url: settings
                .public_url
                .clone()
                .map(|u| u.trim_end_matches('/').to_string()),
            settings,
            http: config.http.clone(),
            signing_secret,
            key,
            install_states,
            client,
            call_timeout: config.delivery.call_timeout(),
            recent_triggers: replay::RecentTriggers::default(),
            inbox_signal: tokio::sync::Notify::new(),
            handlers: tokio::sync::Semaphore::new(SOCKET_HANDLERS),
            awaiting_purge: Mutex::new(HashSet::new()),
        }))
    }

    /// Reads which teams' data is scheduled for purge (see [`Slack::in_use`]).
    pub async fn load_scheduled_purges(&self) -> Result<()> {
        let teams = self
            .app
            .store()
            .workspaces_awaiting_purge(crate::domain::Platform::Slack)
            .await?;
        self.scheduled_purges().extend(teams);
        Ok(())
    }

    /// A team's data is now scheduled for purge.
    pub fn mark_awaiting_purge(&self, team: &str) {
        self.scheduled_purges().insert(team.to_string());
    }

    /// A member of `team` used Keel, so it is installed there: a purge scheduled
    /// when it was uninstalled is cancelled.
    pub async fn in_use(&self, team: &str, team_name: &str) -> Result<()> {
        if !self.scheduled_purges().contains(team) {
            return Ok(());
        }
        self.app
            .workspace_joined(crate::domain::Platform::Slack, team, team_name)
            .await?;
        tracing::info!("a Slack workspace scheduled for purge is in use again; purge cancelled");
        self.scheduled_purges().remove(team);
        Ok(())
    }

    fn scheduled_purges(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.awaiting_purge
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The signing secret, if Keel serves Slack's HTTP endpoints.
    pub fn signing_secret(&self) -> Option<&[u8]> {
        self.signing_secret.as_ref().map(|s| s.expose().as_bytes())
    }

    pub fn key(&self) -> Option<&TokenKey> {
        self.key.as_ref()
    }

    pub fn install_states(&self) -> Option<&StateKey> {
        self.install_states.as_ref()
    }

    /// The bot token for a team: the configured one (single workspace) or the
    /// team's installation, decrypted.
    pub async fn bot_token(&self, team_id: &str) -> Result<Option<String>> {
        if let Some(token) = &self.settings.bot_token {
            return Ok(Some(token.expose().to_string()));
        }
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some((enterprise, sealed)) = self.app.store().slack_sealed_token(team_id).await? else {
            return Ok(None);
        };
        key.open(&sealed, &crypto::associated(&enterprise, team_id))
            .map(Some)
            .map_err(|e| Error::internal("slack token", e))
    }
}
