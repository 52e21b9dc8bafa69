//! The `keel` command line: what the operator runs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::app::App;
use crate::config::{Config, LogFormat};
use crate::console::{self, ConsoleOptions};
use crate::demo::{self, DemoOptions};
use crate::domain::Platform;
use crate::domain::clock::SystemClock;
use crate::domain::command::ExportFormat;
use crate::error::{Error, Result};
use crate::jobs::outbox::{Deliverer, Notifier};
use crate::jobs::{self, shutdown_pair};
use crate::store;
use crate::store::backup::{self, DatabaseLock};
use crate::store::communities::Candidate;
use crate::store::{Store, export};

#[derive(Parser, Debug)]
#[command(
    name = "keel",
    version,
    about = "Keeps purpose-driven communities on course."
)]
pub struct Cli {
    /// A TOML config file (see config.example.toml). KEEL_* variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the platforms the config enables, with announcements and schedules.
    Run {
        /// What this process does: `discord` (the gateway: commands, buttons,
        /// events), `slack` (the HTTP endpoints and Socket Mode), `jobs`
        /// (announcements, digests, reminders, rounds). Comma-separated or
        /// repeated; all three when not given. On PostgreSQL any number of
        /// processes of each may run (README, "Running at scale").
        #[arg(long = "role", value_name = "ROLE", value_enum, value_delimiter = ',')]
        roles: Vec<Role>,
    },
    /// Use Keel from the terminal as one member: type commands, or pipe a file.
    Console {
        /// Your member name in the community.
        #[arg(long = "as", value_name = "NAME")]
        member: String,
        /// Act as an organiser (mission, goals, setup, export).
        #[arg(long)]
        organiser: bool,
        /// The community to use; created on first use.
        #[arg(long, value_name = "NAME", default_value = "my-community")]
        community: String,
        /// Where exports are saved.
        #[arg(long, value_name = "DIR", default_value = ".")]
        output_dir: PathBuf,
    },
    /// Apply database migrations, then exit.
    Migrate,
    /// Copy this SQLite database into an empty PostgreSQL database, keeping every
    /// id, and check the counts; run it while Keel is stopped. Then set
    /// database.url to the PostgreSQL URL.
    MigrateTo {
        /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (TLS: ?sslmode=require).
        url: String,
    },
    /// Load and check the configuration, print it (secrets hidden), then exit.
    CheckConfig,
    /// Export a community's data to a file or standard output.
    Export {
        /// The community's exact name (see `keel console --community`) or its id.
        #[arg(long, value_name = "NAME|ID")]
        community: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Copy the database to FILE while Keel runs (VACUUM INTO, fsync, integrity check).
    Backup { file: PathBuf },
    /// Replace the database with a backup FILE. Stop Keel first.
    Restore { file: PathBuf },
    /// Discord operations.
    #[cfg(feature = "discord")]
    Discord {
        #[command(subcommand)]
        action: DiscordAction,
    },
    /// Slack operations.
    #[cfg(feature = "slack")]
    Slack {
        #[command(subcommand)]
        action: SlackAction,
    },
    /// Generate a community with members and history, to explore or benchmark.
    Demo {
        #[arg(long, value_name = "NAME", default_value = "demo")]
        community: String,
        #[arg(long, default_value_t = 200)]
        members: u32,
        #[arg(long, default_value_t = 2000)]
        contributions: u32,
        /// How many days of history.
        #[arg(long, default_value_t = 730)]
        days: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[cfg(feature = "discord")]
#[derive(Subcommand, Debug)]
pub enum DiscordAction {
    /// Print the link a server admin opens to add Keel, with the least permissions it needs.
    Invite {
        /// The application id (Developer Portal → General Information); read from
        /// discord.token when not given.
        #[arg(long, value_name = "ID")]
        application_id: Option<u64>,
        /// Also ask for what these features need, comma-separated: `events`
        /// (Manage Events, for Discord scheduled events), `pairing` (Create
        /// Private Threads and Send Messages in Threads, to introduce members in
        /// a private thread rather than by direct message).
        #[arg(long = "with", value_name = "FEATURES", value_delimiter = ',',
              value_parser = crate::discord::InviteFeature::parse)]
        with: Vec<crate::discord::InviteFeature>,
    },
    /// Register (or update) the slash commands with Discord, then exit: once per
    /// release when shard processes run with `register_commands = false`.
    Register,
}

#[cfg(feature = "slack")]
#[derive(Subcommand, Debug)]
pub enum SlackAction {
    /// Print a fresh key for slack.token_key (32 random bytes in base64); keep it
    /// outside the database.
    NewKey,
}

/// A part of what `keel run` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Discord,
    Slack,
    Jobs,
}

/// The roles a process takes: those asked for, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub discord: bool,
    pub slack: bool,
    pub jobs: bool,
}

impl Roles {
    pub fn of(asked: &[Role]) -> Roles {
        let all = asked.is_empty();
        Roles {
            discord: all || asked.contains(&Role::Discord),
            slack: all || asked.contains(&Role::Slack),
            jobs: all || asked.contains(&Role::Jobs),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

fn init_tracing(config: &Config, quiet: bool) {
    let default = if quiet {
        "warn"
    } else {
        config.log.level.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        // Flattened, so a shipper finds `message`, `platform`, `community`
        // and `command` at the top of each line, with the span they ran in.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        // Colour only for a person at a terminal: not in files, pipes or journald.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

/// Runs the command; the exit code says how it went (2: configuration or usage).
pub async fn run(cli: Cli) -> ExitCode {
    // Needs no configuration: the key is what an installs configuration lacks first.
    #[cfg(feature = "slack")]
    if let Command::Slack {
        action: SlackAction::NewKey,
    } = cli.command
    {
        return print_new_slack_key();
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keel: {e}");
            return ExitCode::from(2);
        }
    };
    let quiet = matches!(
        cli.command,
        Command::Console { .. } | Command::Export { output: None, .. }
    );
    init_tracing(&config, quiet);
    match execute(cli.command, &config).await {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!(error = ?e, "command failed");
            eprintln!("keel: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "slack")]
fn print_new_slack_key() -> ExitCode {
    println!("{}", crate::slack::crypto::TokenKey::generate());
    ExitCode::SUCCESS
}

async fn open(config: &Config) -> Result<(App, Option<DatabaseLock>)> {
    open_holding(config, DatabaseLock::shared).await
}

/// Opens the database holding `lock` on its file, taken before anything is
/// opened (a SQLite file; PostgreSQL serves several processes, and needs none).
async fn open_holding(
    config: &Config,
    lock: fn(&std::path::Path) -> Result<DatabaseLock>,
) -> Result<(App, Option<DatabaseLock>)> {
    let lock = if store::is_postgres(&config.database.url) {
        None
    } else {
        let path = backup::database_path(&config.database.url)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal("creating the database directory", e))?;
        }
        Some(lock(&path)?)
    };
    let store = Store::open(&config.store_options()).await?;
    let app = App::with_settings(store, Arc::new(SystemClock), config.app_settings());
    Ok((app, lock))
}

async fn execute(command: Command, config: &Config) -> Result<ExitCode> {
    match command {
        Command::Run { roles } => serve(config, Roles::of(&roles)).await,
        Command::Console {
            member,
            organiser,
            community,
            output_dir,
        } => {
            let (app, _lock) = open(config).await?;
            let options = ConsoleOptions {
                member,
                organiser,
                community,
                output_dir,
            };
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            console::run(app.clone(), options, input).await?;
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::MigrateTo { url } => {
            let started = std::time::Instant::now();
            let migrated = store::migrate_to(&config.database.url, &url).await?;
            for (table, rows) in &migrated.tables {
                println!("{table:<28} {rows:>10} rows");
            }
            println!(
                "Copied into {} in {:.1} s; every table's rows counted on both sides. \
                 Set database.url to it and start Keel.",
                store::redact_url(&url),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let (app, _lock) = open(config).await?;
            println!(
                "Database is up to date ({}).",
                app.store().engine_version().await?
            );
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "discord")]
        Command::Discord {
            action:
                DiscordAction::Invite {
                    application_id,
                    with,
                },
        } => {
            let id = application_id.or_else(|| {
                config
                    .discord
                    .token
                    .as_ref()
                    .and_then(|t| crate::discord::application_id(t.expose()))
            });
            let Some(id) = id else {
                eprintln!(
                    "keel: no application id: set discord.token (KEEL_DISCORD__TOKEN), or pass --application-id \
                     (Developer Portal → your application → General Information → Application ID)"
                );
                return Ok(ExitCode::from(2));
            };
            println!("{}", crate::discord::invite_url_with(id, &with));
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "discord")]
        Command::Discord {
            action: DiscordAction::Register,
        } => {
            if !config.discord.enabled() {
                eprintln!(
                    "keel: set discord.token (KEEL_DISCORD__TOKEN) to register Keel's commands"
                );
                return Ok(ExitCode::from(2));
            }
            let (count, scope) = crate::discord::register(config).await?;
            println!("Registered {count} commands {scope}.");
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "slack")]
        Command::Slack {
            action: SlackAction::NewKey,
        } => Ok(print_new_slack_key()),
        Command::CheckConfig => {
            for line in config.describe() {
                println!("{line}");
            }
            println!("Configuration is valid.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            community,
            format,
            output,
        } => {
            let (app, _lock) = open(config).await?;
            let found = app.store().community_candidates(&community).await?;
            let c = match pick_community(&community, found) {
                Ok(c) => c,
                Err(why) => {
                    eprintln!("keel: {why}");
                    app.store().close().await;
                    return Ok(ExitCode::from(2));
                }
            };
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Json => ExportFormat::Json,
            };
            let exported = match &output {
                Some(path) => {
                    let file = create_private(path)
                        .map_err(|e| Error::internal("creating the export file", e))?;
                    let sink = std::io::BufWriter::with_capacity(EXPORT_BUFFER, file);
                    let (count, sink) = export_to(app.store(), c.id, format, sink).await?;
                    sink.into_inner()
                        .map_err(|e| Error::internal("writing the export", e.into_error()))?
                        .sync_all()
                        .map_err(|e| Error::internal("writing the export", e))?;
                    eprintln!("Exported {count} contributions to {}", path.display());
                    count
                }
                None => {
                    let sink = std::io::BufWriter::with_capacity(EXPORT_BUFFER, std::io::stdout());
                    export_to(app.store(), c.id, format, sink).await?.0
                }
            };
            tracing::debug!(exported, community = %c.id, "export written");
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let bytes = store::backup_to(&config.database.url, &file).await?;
            let checked = if store::is_postgres(&config.database.url) {
                "pg_dump custom format"
            } else {
                "integrity ok"
            };
            println!(
                "Backed up to {} ({bytes} bytes, {checked}).",
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let kept = store::restore_from(&config.database.url, &file).await?;
            // Opening applies any migrations newer than the backup.
            let (app, _lock) = open(config).await?;
            app.store().close().await;
            println!("Restored from {}.", file.display());
            if let Some(kept) = kept {
                println!("The previous database is kept as {}.", kept.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            community,
            members,
            contributions,
            days,
            seed,
        } => {
            let (app, _lock) = open(config).await?;
            let started = std::time::Instant::now();
            let summary = demo::generate(
                app.store(),
                &DemoOptions {
                    community: community.clone(),
                    members,
                    contributions,
                    days,
                    seed,
                },
                app.now(),
            )
            .await?;
            app.store().close().await;
            println!(
                "Generated “{community}”: {} members, {} contributions, {} kudos over {days} days in {:.1} s.",
                summary.members,
                summary.contributions,
                summary.kudos,
                started.elapsed().as_secs_f64()
            );
            println!("Try it: keel console --community {community} --as ada --organiser");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `keel export` writes in blocks this large.
const EXPORT_BUFFER: usize = 256 * 1024;

/// Streams a community's export into `sink`; the count of contributions and the
/// sink, flushed.
async fn export_to<W: std::io::Write + Send + 'static>(
    store: &Store,
    community: crate::domain::CommunityId,
    format: ExportFormat,
    sink: W,
) -> Result<(u64, W)> {
    match store.export(community, None, format, sink).await? {
        export::Exported::Done { rows, sink } => Ok((rows, sink)),
        export::Exported::TooLarge => Err(Error::internal("writing the export", "too large")),
    }
}

/// Creates (or truncates) a file only its owner can read: it holds a community's data.
fn create_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Which community `keel export --community TEXT` means: the one whose id it is,
/// or the one named exactly so. An export of the wrong community goes to the wrong
/// people, so anything else is refused, listing what matched.
fn pick_community(text: &str, found: Vec<Candidate>) -> Result<Candidate, String> {
    let listed = |list: &[Candidate]| -> String {
        list.iter()
            .map(|c| format!("\n  id {}  “{}”  ({})", c.id, c.name, c.workspaces))
            .collect()
    };
    let (meant, near): (Vec<Candidate>, Vec<Candidate>) = found
        .into_iter()
        .partition(|c| c.name == text || c.id.to_string() == text.trim());
    match meant.len() {
        1 => Ok(meant.into_iter().next().expect("one candidate")),
        0 if near.is_empty() => Err(format!(
            "no community is called “{text}” or has that id; names are those given to `keel console --community` \
             or taken from the Discord server or Slack workspace"
        )),
        0 => Err(format!(
            "no community is called exactly “{text}”; these differ only in case:{}\n\
             Pass the exact name, or the id: keel export --community ID",
            listed(&near)
        )),
        n => Err(format!(
            "{n} communities match “{text}”:{}\nPass the id of the one to export: keel export --community ID",
            listed(&meant)
        )),
    }
}

/// `keel run`: the enabled adapters, announcement delivery and schedules until
/// Ctrl-C or SIGTERM, then a graceful stop: in-flight requests and deliveries
/// finish and queued contributions are written before the database closes.
async fn serve(config: &Config, roles: Roles) -> Result<ExitCode> {
    let (app, lock) = open_holding(config, DatabaseLock::runner).await?;
    if lock.is_some() {
        // SQLite's runner lock makes this the one process: leases a crash left
        // would only hold its own deliveries back.
        app.store().release_all_delivery_leases().await?;
    }
    let (trigger, shutdown) = shutdown_pair();
    // Recording from the start, so the first commands count too.
    let recorder = match &config.metrics.listen {
        Some(_) => Some(crate::ops::recorder()?),
        None => None,
    };
    // What the jobs deliver through: each enabled platform's API, whether or not
    // this process also serves it.
    #[cfg_attr(not(any(feature = "slack", feature = "discord")), allow(unused_mut))]
    let mut notifiers: Vec<Arc<dyn Notifier>> = Vec::new();
    #[cfg_attr(not(any(feature = "slack", feature = "discord")), allow(unused_mut))]
    let mut servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>> = Vec::new();
    #[cfg_attr(not(any(feature = "slack", feature = "discord")), allow(unused_mut))]
    let mut served: Vec<Platform> = Vec::new();
    // An adapter that cannot go on (a rejected token) says why here, and Keel stops.
    #[cfg_attr(not(feature = "discord"), allow(unused_variables))]
    let (fatal, mut fatal_reason) = tokio::sync::mpsc::unbounded_channel::<String>();
    if config.discord.enabled() && (roles.discord || roles.jobs) {
        #[cfg(feature = "discord")]
        {
            if roles.discord {
                let (notifier, tasks) =
                    crate::discord::start(app.clone(), config, shutdown.clone(), fatal).await?;
                notifiers.push(notifier);
                servers.extend(tasks);
                served.push(Platform::Discord);
            } else {
                notifiers.push(crate::discord::notifier(app.clone(), config)?);
            }
        }
        #[cfg(not(feature = "discord"))]
        {
            eprintln!(
                "keel: [discord] is configured, but this build has no Discord support (build with the `discord` feature)"
            );
            return Ok(ExitCode::from(2));
        }
    }
    if config.slack.enabled() && (roles.slack || roles.jobs) {
        #[cfg(feature = "slack")]
        {
            if roles.slack {
                let (notifier, tasks) =
                    crate::slack::start(app.clone(), config, shutdown.clone()).await?;
                notifiers.push(notifier);
                servers.extend(tasks);
                served.push(Platform::Slack);
            } else {
                notifiers.push(crate::slack::notifier(app.clone(), config)?);
            }
        }
        #[cfg(not(feature = "slack"))]
        {
            eprintln!(
                "keel: [slack] is configured, but this build has no Slack support (build with the `slack` feature)"
            );
            return Ok(ExitCode::from(2));
        }
    }
    if notifiers.is_empty() {
        eprintln!(
            "keel: no platform is enabled in the configuration, so there is nothing to serve.\n\
             Set up Discord under [discord] or Slack under [slack] (see README), or try Keel without a platform: keel console --as you --organiser"
        );
        app.store().close().await;
        return Ok(ExitCode::from(2));
    }
    if !roles.jobs && served.is_empty() {
        eprintln!(
            "keel: --role asks this process to serve only platforms the configuration does not enable.\n\
             Enable them under [discord] or [slack], or give it another role: --role discord|slack|jobs"
        );
        app.store().close().await;
        return Ok(ExitCode::from(2));
    }
    if let (Some(listen), Some(recorder)) = (&config.metrics.listen, recorder) {
        servers.push(crate::ops::serve(listen, app.clone(), recorder, shutdown.clone()).await?);
    }
    tracing::info!(platforms = ?served, jobs = roles.jobs, "keel is running");
    let mut running_jobs = Vec::new();
    if roles.jobs {
        running_jobs.push(tokio::spawn(
            Deliverer::with_options(app.clone(), notifiers, config.delivery.options())
                .run(shutdown.clone()),
        ));
        running_jobs.push(tokio::spawn(jobs::scheduler::run(
            app.clone(),
            shutdown.clone(),
        )));
        running_jobs.push(tokio::spawn(jobs::windows::run(
            app.clone(),
            shutdown.clone(),
        )));
        running_jobs.push(tokio::spawn(jobs::member_jobs::run(
            app.clone(),
            shutdown.clone(),
        )));
    }
    let mut code = ExitCode::SUCCESS;
    tokio::select! {
        _ = wait_for_stop_signal() => {}
        Some(reason) = fatal_reason.recv() => {
            tracing::error!(%reason, "stopping");
            eprintln!("keel: {reason}");
            code = ExitCode::FAILURE;
        }
    }
    tracing::info!("shutting down");
    trigger.trigger();
    let stopping = async {
        for job in running_jobs {
            let _ = job.await;
        }
        for server in servers {
            match server.await {
                Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
                Err(e) => tracing::error!(error = %e, "server task failed"),
                Ok(Ok(())) => {}
            }
        }
    };
    // Whatever is still in flight after this (a request waiting on a platform
    // that does not answer) is dropped: deliveries stay pending and go out after
    // the restart, and a member's command that was not answered can be repeated.
    if tokio::time::timeout(STOP_GRACE, stopping).await.is_err() {
        tracing::warn!(
            grace_s = STOP_GRACE.as_secs(),
            "work still in flight at shutdown was abandoned"
        );
    }
    app.store().close().await;
    Ok(code)
}

/// How long `keel run` lets work in flight finish after Ctrl-C or SIGTERM, so that
/// it has stopped within 10 s (R4) with the database closed cleanly.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(7);

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
