//! The Discord adapter: a gateway bot (serenity) whose slash commands (poise)
//! become the core's commands, whose replies become embeds, and whose notifier
//! posts announcements. It translates; every decision stays in the core.

pub mod buttons;
pub mod commands;
pub mod events;
pub mod interaction;
pub mod log_message;
pub mod notifier;
pub mod render;
pub mod scheduled_events;

use std::sync::Arc;

use base64::Engine;
use serenity::all::{ClientBuilder, GatewayError, GatewayIntents, GuildId, HttpBuilder};

use crate::app::App;
use crate::config::{Config, DiscordConfig};
use crate::error::{Error, Result};
use crate::jobs::Shutdown;
use crate::jobs::outbox::Notifier;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Ctx<'a> = poise::Context<'a, Arc<Discord>, BoxError>;

/// What every command and event handler shares.
pub struct Discord {
    pub app: App,
    pub settings: DiscordConfig,
}

/// The least the enabled features need: guilds always, and members' interest in
/// scheduled events (events' RSVPs; not privileged); members only for the
/// welcome; messages and reactions only for activity counts. Never message content.
pub fn intents(settings: &DiscordConfig) -> GatewayIntents {
    let mut intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_SCHEDULED_EVENTS;
    if settings.welcome || settings.count_members {
        intents |= GatewayIntents::GUILD_MEMBERS;
    }
    if settings.count_activity {
        intents |= GatewayIntents::GUILD_MESSAGES | GatewayIntents::GUILD_MESSAGE_REACTIONS;
    }
    intents
}

/// The least Keel needs in a channel: see it, post, embed, attach charts and
/// exports, and read its recent messages, to tell whether an announcement whose
/// answer was lost went through before posting it again.
pub const PERMISSIONS: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16);

/// The application's id, from the bot token's first part (the bot user's id in
/// base64; a bot's user id is its application's id).
pub fn application_id(token: &str) -> Option<u64> {
    let first = token.trim().split('.').next()?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let decoded = engine.decode(first).ok()?;
    std::str::from_utf8(&decoded).ok()?.parse().ok()
}

/// The link a server admin opens to add Keel with the least permissions it needs.
pub fn invite_url(application_id: u64) -> String {
    invite_url_with(application_id, &[])
}

/// A feature whose permissions a server admin grants on top of the least
/// (`keel discord invite --with`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteFeature {
    /// Discord scheduled events for Keel's events: Manage Events.
    Events,
    /// Introductions in a private thread of the pairing channel: Create Private
    /// Threads and Send Messages in Threads (without them, each member gets a
    /// direct message).
    Pairing,
}

impl InviteFeature {
    pub const CHOICES: &str = "events, pairing";

    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim() {
            "events" => Ok(InviteFeature::Events),
            "pairing" => Ok(InviteFeature::Pairing),
            other => Err(format!(
                "unknown feature {other:?}: choose from {}",
                Self::CHOICES
            )),
        }
    }

    fn permissions(self) -> u64 {
        match self {
            InviteFeature::Events => 1 << 33,
            InviteFeature::Pairing => (1 << 36) | (1 << 38),
        }
    }
}

/// The invite link asking for the least permissions and those `features` need.
pub fn invite_url_with(application_id: u64, features: &[InviteFeature]) -> String {
    let permissions = features
        .iter()
        .fold(PERMISSIONS, |all, feature| all | feature.permissions());
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={permissions}"
    )
}

/// Why Discord ended the connection for good, and which setting fixes it (D4).
fn fatal_reason(error: &serenity::Error) -> Option<String> {
    match error {
        serenity::Error::Gateway(GatewayError::InvalidAuthentication) => Some(
            "Discord rejected the bot token (gateway close 4004). Reset it in the Developer Portal \
             (your application → Bot → Reset Token) and set discord.token."
                .into(),
        ),
        serenity::Error::Gateway(
            GatewayError::DisallowedGatewayIntents | GatewayError::InvalidGatewayIntents,
        ) => Some(
            "Discord refused the gateway intents Keel asked for (gateway close 4014). With \
             discord.welcome on, enable \"Server Members Intent\" in the Developer Portal (your \
             application → Bot → Privileged Gateway Intents), or set discord.welcome = false."
                .into(),
        ),
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 401 =>
        {
            Some(
                "Discord rejected the bot token (401). Reset it in the Developer Portal (your \
                 application → Bot → Reset Token) and set discord.token."
                    .into(),
            )
        }
        _ => None,
    }
}

/// How far apart shards connect across processes: Discord allows a bot with
/// max_concurrency 1 one identify per 5 s; serenity paces its own shards the
/// same way within a process.
const IDENTIFY_SPACING: chrono::Duration = chrono::Duration::milliseconds(5_500);

/// Background work the adapter runs until shutdown.
pub type Task = tokio::task::JoinHandle<std::io::Result<()>>;

/// Discord's REST client as configured: the token, a deadline on every call
/// (R1; serenity's default client has none), and the API base for a proxy or
/// the tests' fake.
fn http(config: &Config) -> Result<serenity::http::Http> {
    let token = config
        .discord
        .token
        .as_ref()
        .map(|t| t.expose().trim().to_string())
        .unwrap_or_default();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(config.delivery.call_timeout())
        .build()
        .map_err(|e| Error::internal("building the Discord HTTP client", e))?;
    let mut http = HttpBuilder::new(&token).client(client);
    if let Some(base) = &config.discord.api_base {
        // serenity ignores the proxy while its own rate limiter is on.
        http = http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    Ok(http.build())
}

/// Registers the slash commands through the REST API alone (`keel discord
/// register`): in `guild_id`'s server, or globally. Returns how many, and where.
pub async fn register(config: &Config) -> Result<(usize, &'static str)> {
    let token = config
        .discord
        .token
        .as_ref()
        .map(|t| t.expose().to_string())
        .unwrap_or_default();
    let application = application_id(&token).ok_or_else(|| {
        Error::internal("discord.token", "not a bot token: it names no application")
    })?;
    let http = http(config)?;
    http.set_application_id(serenity::all::ApplicationId::new(application));
    let commands = poise::builtins::create_application_commands(&commands::all());
    let count = commands.len();
    let failed = |e: serenity::Error| Error::internal("registering the slash commands", e);
    match config.discord.guild_id.map(GuildId::new) {
        Some(guild) => {
            guild.set_commands(&http, commands).await.map_err(failed)?;
            Ok((count, "in the one server of discord.guild_id"))
        }
        None => {
            serenity::all::Command::set_global_commands(&http, commands)
                .await
                .map_err(failed)?;
            Ok((count, "globally (they can take an hour to show)"))
        }
    }
}

/// What a jobs process delivers to Discord through, without the gateway: the
/// REST API is all the outbox needs.
pub fn notifier(app: App, config: &Config) -> Result<Arc<dyn Notifier>> {
    Ok(Arc::new(notifier::DiscordNotifier {
        http: Arc::new(http(config)?),
        app,
        refusals: Default::default(),
    }))
}

/// Connects to Discord as the config says and serves until `shutdown`. Returns
/// the notifier for announcements and the gateway task; a fatal gateway error
/// (bad token, disallowed intents) is sent on `fatal` with what to fix.
pub async fn start(
    app: App,
    config: &Config,
    shutdown: Shutdown,
    fatal: tokio::sync::mpsc::UnboundedSender<String>,
) -> Result<(Arc<dyn Notifier>, Vec<Task>)> {
    let settings = config.discord.clone();
    let http = http(config)?;
    let discord = Arc::new(Discord {
        app,
        settings: settings.clone(),
    });
    let guild = settings.guild_id.map(GuildId::new);
    let register = settings.register_commands;
    let shard_range = settings
        .shard_range()
        .map_err(|e| Error::internal("discord.shards", e))?;
    let ready_data = discord.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            allowed_mentions: Some(render::no_mentions()),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| {
                Box::pin(async move {
                    events::handle(framework.serenity_context, framework.user_data, event).await
                })
            },
            ..Default::default()
        })
        .initialize_owners(false)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                if register {
                    match guild {
                        Some(guild) => {
                            poise::builtins::register_in_guild(ctx, commands, guild).await?
                        }
                        None => poise::builtins::register_globally(ctx, commands).await?,
                    }
                }
                tracing::info!(
                    bot = %ready.user.name,
                    servers = ready.guilds.len(),
                    commands = commands.len(),
                    registered = register,
                    scope = if guild.is_some() { "one server" } else { "global" },
                    "connected to Discord"
                );
                Ok(ready_data)
            })
        })
        .build();
    let mut client = ClientBuilder::new_with_http(http, intents(&settings))
        .framework(framework)
        .await
        .map_err(|e| match fatal_reason(&e) {
            Some(reason) => Error::internal("discord", reason),
            None => Error::internal("connecting to Discord", e.to_string()),
        })?;
    let notifier: Arc<dyn Notifier> = Arc::new(notifier::DiscordNotifier {
        http: client.http.clone(),
        app: discord.app.clone(),
        refusals: Default::default(),
    });
    let shards = client.shard_manager.clone();
    let mut stop = shutdown;
    let store = discord.app.store().clone();
    let task = tokio::spawn(async move {
        let connected = async {
            let Some((first, last, total)) = shard_range else {
                return client.start().await;
            };
            // Other processes' shards connect in windows of their own.
            let count = last - first + 1;
            let now = chrono::Utc::now();
            match store
                .reserve_discord_identify(count, IDENTIFY_SPACING, now)
                .await
            {
                Ok(start) => {
                    if let Ok(wait) = (start - now).to_std() {
                        tracing::info!(
                            first,
                            last,
                            total,
                            wait_s = wait.as_secs_f64(),
                            "waiting for this process's turn to connect its shards"
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reserving a turn to connect; connecting now"),
            }
            // serenity's range end is inclusive.
            client.start_shard_range(first..last, total).await
        };
        tokio::select! {
            result = connected => {
                if let Err(e) = result {
                    let reason = fatal_reason(&e)
                        .unwrap_or_else(|| format!("the Discord connection ended: {e}"));
                    let _ = fatal.send(reason.clone());
                    return Err(std::io::Error::other(reason));
                }
                Ok(())
            }
            _ = stop.wait() => {
                shards.shutdown_all().await;
                Ok(())
            }
        }
    });
    Ok((notifier, vec![task]))
}

/// Errors poise meets before or around a command: bad options, panics. Members
/// get a short private note; details go to the log.
async fn on_error(error: poise::FrameworkError<'_, Arc<Discord>, BoxError>) {
    use poise::FrameworkError;
    match error {
        FrameworkError::Command { error, ctx, .. } => {
            let shown = ctx.data().app.report(
                Error::internal("Discord command failed", error),
                "Discord command failed",
            );
            let _ = interaction::send_error(ctx, &shown.to_string()).await;
        }
        FrameworkError::ArgumentParse { error, ctx, .. } => {
            // Help knows commands by their names in the table, not by Discord's.
            let command = ctx.command();
            let discord_name = command
                .context_menu_name
                .as_deref()
                .unwrap_or(&command.qualified_name);
            let topic = crate::domain::command_table::on_discord(discord_name)
                .next()
                .map_or_else(|| ctx.command().name.to_string(), |e| e.name.to_string());
            let _ = interaction::send_error(ctx, &format!("{error}. See `/help {topic}`.")).await;
        }
        FrameworkError::GuildOnly { ctx, .. } => {
            let _ = interaction::send_error(ctx, interaction::SERVER_ONLY).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "handling a Discord framework error");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_id_comes_from_the_bot_token() {
        // "123456789012345678" in base64, then Discord's other two token parts.
        assert_eq!(
            application_id("MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnop"),
            Some(123456789012345678)
        );
        assert_eq!(application_id("not a token"), None);
        assert!(invite_url(42).contains("client_id=42"));
        assert!(invite_url(42).contains("permissions=117760"));
    }

    #[test]
    fn an_invite_with_features_adds_their_permissions() {
        // Create Private Threads (1 << 36) and Send Messages in Threads (1 << 38).
        let pairing = 117760 + (1u64 << 36) + (1u64 << 38);
        assert!(
            invite_url_with(42, &[InviteFeature::Pairing])
                .ends_with(&format!("permissions={pairing}"))
        );
        // Manage Events (1 << 33), once however often it is named.
        let events = [InviteFeature::Events, InviteFeature::Events];
        let both = pairing + (1u64 << 33);
        assert!(
            invite_url_with(42, &[events[0], InviteFeature::Pairing, events[1]])
                .ends_with(&format!("permissions={both}"))
        );
        assert_eq!(invite_url_with(42, &[]), invite_url(42));
        assert_eq!(InviteFeature::parse("pairing"), Ok(InviteFeature::Pairing));
        let refused = InviteFeature::parse("threads").unwrap_err();
        assert!(refused.contains("events, pairing"), "{refused}");
    }

    #[test]
    fn intents_are_the_least_the_features_need() {
        let mut settings = DiscordConfig::default();
        let always = GatewayIntents::GUILDS | GatewayIntents::GUILD_SCHEDULED_EVENTS;
        assert_eq!(intents(&settings), always);
        settings.count_members = true;
        assert_eq!(intents(&settings), always | GatewayIntents::GUILD_MEMBERS);
        settings.count_activity = true;
        settings.welcome = true;
        let all = intents(&settings);
        assert!(all.contains(GatewayIntents::GUILD_MEMBERS));
        assert!(all.contains(GatewayIntents::GUILD_MESSAGE_REACTIONS));
        assert!(!all.contains(GatewayIntents::MESSAGE_CONTENT));
    }
}
