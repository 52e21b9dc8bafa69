//! The seam: [`App::handle`] runs one command for one actor and returns a
//! platform-neutral reply. Every adapter (console, Discord, Slack) calls it; none
//! of them decides anything about missions, goals, permissions or milestones.

mod charts;
mod contribute;
mod contribute_for;
mod corrections;
mod erasure;
mod event_calendar;
mod event_card;
mod events;
mod goals;
mod health;
mod help;
mod leaderboard;
mod lifecycle;
mod membership;
mod merge;
mod milestones;
mod mission;
mod pairing;
mod review;
mod schedules;
mod setup;
mod stats;
mod turns;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::domain::announce::Freshness;
use crate::domain::clock::Clock;
use crate::domain::command::Command;
use crate::domain::parse::parse;
use crate::domain::text::{Name, is_direction_override};
use crate::domain::{Actor, Envelope, MemberId, MemberRef, Platform, Reply, Role, UserError};
use crate::error::{Error, Result};
use crate::ops;
use crate::store::Store;
use crate::store::communities::{Member, Resolved};

pub use erasure::{Erased, erase_member, erase_pending};
pub use events::{interest as event_interest, run_due_event_reminders};
pub use lifecycle::Activity;
pub use merge::merge_pending;
pub use mission::card as mission_card;
pub use pairing::{FOLLOW_UP_AFTER_DAYS, RoundMade, run_due_pairing, run_round};
pub use schedules::{digest, next_schedule, run_due_schedules};
pub use turns::{DEFAULT_CONCURRENT_FILES, Turn};

/// The application: a cheap handle shared by every adapter and job.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    /// How long announcements stay worth posting.
    freshness: Freshness,
    /// Woken whenever announcements are queued, so delivery need not poll.
    outbox: Notify,
    /// Envelopes already resolved, so a busy member's commands skip the lookup.
    /// Cleared whenever identities change (link, forget-me); entries also expire.
    actors: Mutex<HashMap<ActorKey, (Resolved, Instant)>>,
    /// Exports and charts wait here for one of a few slots.
    files: turns::Line,
    /// Woken whenever an erasure or a merge is left for the background to finish.
    member_jobs: Notify,
    /// Members whose erasure or merge someone in this process is driving.
    member_jobs_driven: Mutex<HashSet<MemberId>>,
}

/// What the operator sets for the application (see config.example.toml).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long announcements stay worth posting.
    pub freshness: Freshness,
    /// How many exports or charts are made at once.
    pub concurrent_files: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            freshness: Freshness::default(),
            concurrent_files: DEFAULT_CONCURRENT_FILES,
        }
    }
}

/// This process drives a member's erasure (or merge) while this is held.
pub(crate) struct MemberJobClaim {
    app: App,
    member: MemberId,
}

impl Drop for MemberJobClaim {
    fn drop(&mut self) {
        self.app
            .inner
            .member_jobs_driven
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.member);
    }
}

/// Platform, workspace, user and display name: what an envelope resolves from.
type ActorKey = (Platform, String, String, String);

/// How long a resolved envelope is trusted without looking again.
const ACTOR_TTL: Duration = Duration::from_secs(60);
/// The most envelopes remembered; past that the memory starts afresh.
const ACTOR_CACHE_MAX: usize = 100_000;

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> App {
        App::with_settings(store, clock, Settings::default())
    }

    pub fn with_settings(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> App {
        let Settings {
            freshness,
            concurrent_files,
        } = settings;
        App {
            inner: Arc::new(Inner {
                store,
                clock,
                freshness,
                outbox: Notify::new(),
                actors: Mutex::new(HashMap::new()),
                files: turns::Line::new(concurrent_files),
                member_jobs: Notify::new(),
                member_jobs_driven: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    pub fn freshness(&self) -> Freshness {
        self.inner.freshness
    }

    /// Notified when announcements may be waiting.
    pub fn outbox_signal(&self) -> &Notify {
        &self.inner.outbox
    }

    /// Notified when an erasure or a merge is left for the background to finish.
    pub fn member_jobs_signal(&self) -> &Notify {
        &self.inner.member_jobs
    }

    /// Claims a member's erasure or merge for this caller; None while another
    /// drives it.
    pub(crate) fn claim_member_job(&self, member: MemberId) -> Option<MemberJobClaim> {
        let fresh = self
            .inner
            .member_jobs_driven
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(member);
        fresh.then(|| MemberJobClaim {
            app: self.clone(),
            member,
        })
    }

    /// Resolves a verified envelope to an actor, creating the community, member and
    /// identity on first sight.
    pub async fn actor(&self, envelope: &Envelope) -> Result<Actor, UserError> {
        let envelope = Envelope {
            user_name: display_name(&envelope.user_name, &envelope.user_id),
            workspace_name: display_name(&envelope.workspace_name, &envelope.workspace_id),
            ..envelope.clone()
        };
        let key: ActorKey = (
            envelope.platform,
            envelope.workspace_id.clone(),
            envelope.user_id.clone(),
            envelope.user_name.clone(),
        );
        let cached = self
            .inner
            .actors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(_, at)| at.elapsed() < ACTOR_TTL)
            .map(|(r, _)| r.clone());
        let resolved = match cached {
            Some(r) => r,
            None => {
                // Boxed: a miss is rare, and every command's future would
                // otherwise be as large as the store's.
                let resolved = Box::pin(async {
                    if let Some(found) = self.store().lookup_actor(&envelope).await? {
                        return Ok(found);
                    }
                    self.store().resolve_actor(&envelope, self.now()).await
                })
                .await
                .map_err(|e| self.report(e, "resolving actor"))?;
                let mut actors = self.inner.actors.lock().unwrap_or_else(|e| e.into_inner());
                if actors.len() >= ACTOR_CACHE_MAX {
                    actors.clear();
                }
                actors.insert(key, (resolved.clone(), Instant::now()));
                resolved
            }
        };
        Ok(Actor {
            community: resolved.community,
            workspace: resolved.workspace,
            member: resolved.member,
            display_name: resolved.display_name,
            platform: envelope.platform,
            role: envelope.role,
            upload_limit: envelope.platform.upload_limit(),
        })
    }

    /// Forgets every resolved envelope: identities moved or were erased.
    pub fn forget_cached_actors(&self) {
        self.inner
            .actors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Parses a line in Keel's text syntax and runs it.
    pub async fn handle_line(&self, actor: &Actor, line: &str) -> Result<Reply, UserError> {
        let command = parse(line, self.today())?;
        self.handle(actor, command).await
    }

    /// Runs one command as `actor`. User errors come back as they are; internal
    /// errors are logged with a reference and come back as a short apology. An
    /// export or chart first waits for its turn (see [`App::take_turn`]).
    pub async fn handle(&self, actor: &Actor, command: Command) -> Result<Reply, UserError> {
        let mut turn = self.take_turn(&command);
        self.handle_in_turn(actor, command, &mut turn).await
    }

    /// A place in line for `command`, taken at once: an adapter that acknowledges
    /// a slow command takes it first, tells the member what
    /// [`Turn::acknowledgement`] says (queued or not), runs the command with
    /// [`App::handle_in_turn`] and keeps the turn until the reply's files are
    /// delivered.
    pub fn take_turn(&self, command: &Command) -> Turn {
        self.inner.files.take(command)
    }

    /// Runs a command once `turn` comes; see [`App::handle`].
    pub async fn handle_in_turn(
        &self,
        actor: &Actor,
        command: Command,
        turn: &mut Turn,
    ) -> Result<Reply, UserError> {
        let span = tracing::info_span!(
            "command",
            platform = %actor.platform,
            community = %actor.community,
            command = command.name(),
        );
        let started = std::time::Instant::now();
        let platform = actor.platform.as_str();
        let answered = async {
            if command.requires_organiser() && actor.role != Role::Organiser {
                return Err(UserError::OrganiserOnly {
                    command: command.name().to_string(),
                });
            }
            turn.wait().await;
            match self.dispatch(actor, command).await {
                Ok(reply) => Ok(reply),
                Err(Error::User(e)) => {
                    tracing::debug!(error = %e, "refused");
                    Err(e)
                }
                Err(e) => Err(self.report(e, "command failed")),
            }
        }
        .instrument(span)
        .await;
        let outcome = match &answered {
            Ok(_) => "ok",
            Err(UserError::Internal { .. }) => "failed",
            Err(_) => "refused",
        };
        metrics::counter!(ops::names::COMMANDS, "platform" => platform, "outcome" => outcome)
            .increment(1);
        metrics::histogram!(ops::names::COMMAND_SECONDS, "platform" => platform)
            .record(started.elapsed().as_secs_f64());
        answered
    }

    /// Logs an internal error in full and returns what the user sees.
    pub fn report(&self, error: Error, what: &'static str) -> UserError {
        match error {
            Error::User(e) => e,
            internal => {
                let reference: String = format!("{:08x}", rand::random::<u32>());
                tracing::error!(%reference, error = %internal, "{what}");
                UserError::Internal { reference }
            }
        }
    }

    async fn dispatch(&self, actor: &Actor, command: Command) -> Result<Reply> {
        match command {
            // Every request's future is as large as the largest command's, and is
            // moved a few times on its way: the hot path stays inline, every other
            // command's future is boxed.
            Command::Contribute(new) => contribute::contribute(self, actor, new).await,
            other => Box::pin(self.dispatch_rest(actor, other)).await,
        }
    }

    async fn dispatch_rest(&self, actor: &Actor, command: Command) -> Result<Reply> {
        match command {
            Command::Help { topic } => Ok(help::help(actor, topic.as_deref())),
            Command::MissionShow => mission::show(self, actor).await,
            Command::MissionSet { statement, reason } => {
                mission::set(self, actor, statement, reason).await
            }
            Command::MissionHistory => mission::history(self, actor).await,
            Command::MissionValueAdd { name } => mission::add_value(self, actor, name).await,
            Command::MissionValueRemove { name } => mission::remove_value(self, actor, name).await,
            Command::Contribute(new) => contribute::contribute(self, actor, new).await,
            Command::ContributeFor { author, new } => {
                contribute_for::contribute_for(self, actor, author, new).await
            }
            Command::Contributions { member } => contribute::list(self, actor, member).await,
            Command::ContributionRemove { id, reason } => {
                corrections::remove(self, actor, id, reason).await
            }
            Command::ContributionEdit { id, change, reason } => {
                review::edit(self, actor, id, change, reason).await
            }
            Command::Review => review::list(self, actor).await,
            Command::ReviewApprove { id } => review::approve(self, actor, id).await,
            Command::ReviewReject { id, reason } => review::reject(self, actor, id, reason).await,
            Command::Audit { member, window } => {
                corrections::audit(self, actor, member, window).await
            }
            Command::GoalCreate(new) => goals::create(self, actor, new).await,
            Command::GoalList => goals::list(self, actor).await,
            Command::GoalShow { slug } => goals::show(self, actor, slug).await,
            Command::GoalClose { slug } => goals::close(self, actor, slug).await,
            Command::GoalEdit { slug, changes } => goals::edit(self, actor, slug, changes).await,
            Command::GoalReopen { slug } => goals::reopen(self, actor, slug).await,
            Command::MilestoneAdd(new) => milestones::add(self, actor, new).await,
            Command::MilestoneList => milestones::list(self, actor).await,
            Command::MilestoneRemove { id } => milestones::remove(self, actor, id).await,
            Command::Kudos { to, reason } => membership::kudos(self, actor, to, reason).await,
            Command::KudosRemove { id, reason } => {
                corrections::remove_kudos(self, actor, id, reason).await
            }
            Command::Stats { window } => stats::community(self, actor, window).await,
            Command::StatsMe => stats::me(self, actor).await,
            Command::StatsChart { window } => charts::stats(self, actor, window).await,
            Command::GoalChart { slug } => charts::goal(self, actor, slug).await,
            Command::Away { on } => membership::away(self, actor, on).await,
            Command::LinkStart { kind } => membership::link_start(self, actor, kind).await,
            Command::LinkRedeem { code } => membership::link_redeem(self, actor, &code).await,
            Command::Export { scope, format } => {
                membership::export(self, actor, scope, format).await
            }
            Command::ForgetMe { confirmed } => membership::forget_me(self, actor, confirmed).await,
            Command::Setup(setup) => setup::setup(self, actor, setup).await,
            Command::Health { page } => health::health(self, actor, page).await,
            Command::Leaderboard { board } => leaderboard::leaderboard(self, actor, board).await,
            Command::EventCreate(new) => events::create(self, actor, new).await,
            Command::EventList => events::list(self, actor).await,
            Command::EventShow { id } => events::show(self, actor, id).await,
            Command::EventRsvp { id, answer } => events::rsvp(self, actor, id, answer).await,
            Command::EventCheckIn { id, code } => events::check_in(self, actor, id, code).await,
            Command::EventAttend { id, members } => events::attend(self, actor, id, members).await,
            Command::EventEdit { id, changes } => events::edit(self, actor, id, changes).await,
            Command::EventCancel { id, reason } => events::cancel(self, actor, id, reason).await,
            Command::PairJoin => pairing::join(self, actor).await,
            Command::PairLeave => pairing::leave(self, actor).await,
            Command::PairStatus => pairing::status(self, actor).await,
            Command::PairAvoid { member } => pairing::avoid(self, actor, &member).await,
            Command::PairMet { met, group } => pairing::met(self, actor, met, group).await,
            Command::PairNow => pairing::now(self, actor).await,
        }
    }

    /// Finds the member a command names, in the actor's community only (T1).
    /// With `create`, a platform user not seen before (or, on the console, a new
    /// name) becomes a member, as when they are mentioned for kudos.
    async fn member_by_ref(
        &self,
        actor: &Actor,
        reference: &MemberRef,
        create: bool,
    ) -> Result<Member> {
        let store = self.store();
        let not_found = |shown: &str| {
            Error::User(UserError::not_found(
                format!("No member {shown} in this community"),
                "Check the name; members appear once they have used Keel or been mentioned.",
            ))
        };
        match reference {
            MemberRef::Me => Ok(store
                .member(actor.community, actor.member)
                .await?
                .ok_or_else(|| not_found("(you)"))?),
            MemberRef::PlatformUser { id, name } => {
                if let Some(m) = store.member_by_identity(actor.workspace, id).await? {
                    return Ok(m);
                }
                if !create {
                    return Err(not_found(&format!("<@{id}>")));
                }
                let name = display_name(name.as_deref().unwrap_or(id), id);
                self.create_mentioned(actor, id, &name).await
            }
            MemberRef::Name(name) => {
                if let Some(m) = store.member_by_identity(actor.workspace, name).await? {
                    return Ok(m);
                }
                let mut named = store.members_named(actor.community, name).await?;
                match named.len() {
                    1 => Ok(named.remove(0)),
                    0 if create && actor.platform == Platform::Console => {
                        let name = Name::parse(name)?;
                        self.create_mentioned(actor, name.as_str(), name.as_str())
                            .await
                    }
                    0 => Err(not_found(&format!("@{name}"))),
                    _ => Err(Error::User(UserError::invalid(
                        format!("More than one member is called {name}."),
                        "Mention them with the platform's @-mention instead of typing the name.",
                    ))),
                }
            }
        }
    }

    async fn create_mentioned(
        &self,
        actor: &Actor,
        external_id: &str,
        name: &str,
    ) -> Result<Member> {
        let member = self
            .store()
            .ensure_member(
                actor.community,
                actor.workspace,
                external_id,
                name,
                self.now(),
            )
            .await?;
        self.store()
            .member(actor.community, member)
            .await?
            .ok_or_else(|| Error::internal("member just created", "not found"))
    }

    /// Link codes last this long.
    pub const LINK_CODE_MINUTES: i64 = 15;
}

/// A platform display name made safe to store: trimmed, controls removed, at most
/// 80 characters; the user id when nothing is left.
fn display_name(raw: &str, fallback: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_direction_override(*c))
        .take(Name::MAX_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        fallback.chars().take(Name::MAX_CHARS).collect()
    } else {
        cleaned.to_string()
    }
}
