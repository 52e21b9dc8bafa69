//! The outbox: announcements written in the same transaction as their cause, one
//! delivery row per workspace (or one private message to a member), each attempt
//! recorded before it is made and each outcome after (see migration 0010). Each
//! announcement records the members it names (migration 0012), so that erasing one
//! redacts it and edits the messages it was posted as ([`super::redaction`]).

use chrono::{DateTime, Utc};

use super::parse_ts;
use crate::domain::{
    AnnouncementId, CommunityId, ContributionId, MemberId, Platform, Reply, WorkspaceId,
};
use crate::error::{Error, Result};

// transitional: the tests queue a private message themselves.

/// The outbox, as the deliverers work through it.
impl super::Store {
    /// Workspaces of `platform` with a delivery due at `now`, those whose turn came
    /// first first.
    pub async fn due_delivery_workspaces(
        &self,
        platform: Platform,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<WorkspaceId>> {
        on_engine!(self, e => sql::outbox::due_workspaces(&e.read, platform, now, limit).await)
    }

    /// A workspace's deliveries due at `now`, in the order they were queued.
    pub async fn due_deliveries(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        on_engine!(self, e => sql::outbox::due_in_workspace(&e.read, workspace, now, limit).await)
    }

    /// When the next deliverable pending delivery for `platform` falls due.
    pub async fn next_delivery_due(&self, platform: Platform) -> Result<Option<DateTime<Utc>>> {
        on_engine!(self, e => sql::outbox::next_due(&e.read, platform).await)?
            .as_deref()
            .map(parse_ts)
            .transpose()
    }

    /// Expires every pending post that has outlived its use: milestones older
    /// than `milestone_max_age`, and anything past its own `expires_at` (edits of
    /// what was posted never expire). Returns how many.
    pub async fn expire_stale_deliveries(
        &self,
        now: DateTime<Utc>,
        milestone_max_age: chrono::Duration,
    ) -> Result<u64> {
        on_engine!(self, e => e
            .write(async |conn| sql::outbox::expire_stale(conn, now, milestone_max_age).await)
            .await)
    }

    /// Records that an attempt is about to be made, before it is: if the answer
    /// never comes, the delivery is known to be uncertain, even after a crash.
    /// The worker's lease on the workspace is renewed with it. False, and no
    /// attempt, if the lease was lost (another worker has the workspace now) or
    /// the delivery is no longer pending.
    pub async fn begin_delivery_attempt(
        &self,
        d: &Delivery,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| {
                sql::outbox::begin_attempt(conn, d, lease, now).await
            })
            .await)
    }

    /// Takes the lease on a workspace's deliveries (see migration 0025): false
    /// if another worker holds it.
    pub async fn take_delivery_lease(
        &self,
        workspace: WorkspaceId,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write(async |conn| sql::outbox::take_lease(conn, workspace, lease, now).await)
            .await)
    }

    pub async fn release_delivery_lease(&self, workspace: WorkspaceId, holder: &str) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::outbox::release_lease(conn, workspace, holder).await)
            .await)
    }

    /// Forgets every delivery lease; only for the one process a SQLite
    /// database may have, at its start.
    pub async fn release_all_delivery_leases(&self) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::outbox::release_all_leases(conn).await)
            .await)
    }

    /// Records the conversation a group's delivery opened (a Discord thread),
    /// before anything is posted in it, so a repeated attempt posts there.
    pub async fn record_delivery_conversation(
        &self,
        d: &Delivery,
        conversation: &str,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| {
                sql::outbox::record_conversation(conn, d, conversation).await
            })
            .await)
    }

    /// Counts an edit's attempt, for the backoff should it fail.
    pub async fn begin_delivery_edit(&self, d: &Delivery) -> Result<()> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| sql::outbox::begin_edit(conn, d).await)
            .await)
    }

    /// Marks delivered where it landed, when what went out was the body's
    /// `revision`; a body changed since (redacted) leaves it pending, as an edit of
    /// that message, due now. False if it was not pending.
    pub async fn mark_delivered(
        &self,
        d: &Delivery,
        posted: &Posted,
        revision: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| {
                sql::outbox::mark_delivered(conn, d, posted, revision, now).await
            })
            .await)
    }

    /// Schedules another attempt at `at` and holds back the rest of the
    /// workspace's announcements until then; an uncertain attempt stays on record.
    pub async fn retry_delivery(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        error: &str,
        outcome: Outcome,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| {
                sql::outbox::mark_retry(conn, d, at, error, outcome).await
            })
            .await)
    }

    /// Gives up on a delivery: it will never work as it is.
    pub async fn fail_delivery(&self, d: &Delivery, error: &str) -> Result<()> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| sql::outbox::mark_failed(conn, d, error).await)
            .await)
    }

    /// Drops a delivery that outlived its use instead of posting it late.
    pub async fn expire_delivery(&self, d: &Delivery) -> Result<()> {
        on_engine!(self, e => e
            .write_in(d.community, async |conn| sql::outbox::mark_expired(conn, d).await)
            .await)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Milestone,
    Digest,
    MissionReminder,
    /// A private message to one member.
    Direct,
    /// A contribution waiting for review, posted to organisers with buttons to
    /// decide it.
    ReviewRequest,
    /// A pairing round's group, introduced to each other in a conversation of
    /// their own (the delivery's `recipients`).
    Introduction,
    /// "Did you meet?", asked of a group a few days after its introduction: in
    /// the conversation the introduction made (the delivery's channel) when it
    /// is known; else (no channel) to the group's members again.
    FollowUp,
    /// An event's public card, with its answer counts and RSVP buttons; edited
    /// as the answers change (`events.card_announcement_id`).
    EventCard,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Milestone => "milestone",
            Kind::Digest => "digest",
            Kind::MissionReminder => "mission_reminder",
            Kind::Direct => "direct",
            Kind::ReviewRequest => "review_request",
            Kind::Introduction => "introduction",
            Kind::FollowUp => "follow_up",
            Kind::EventCard => "event_card",
        }
    }

    pub(super) fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "milestone" => Kind::Milestone,
            "digest" => Kind::Digest,
            "mission_reminder" => Kind::MissionReminder,
            "direct" => Kind::Direct,
            "review_request" => Kind::ReviewRequest,
            "introduction" => Kind::Introduction,
            "follow_up" => Kind::FollowUp,
            "event_card" => Kind::EventCard,
            other => {
                return Err(Error::internal(
                    "stored announcement kind",
                    other.to_string(),
                ));
            }
        })
    }
}

/// What a delivery does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Post the announcement.
    Post,
    /// Edit the message an earlier post made to show the announcement as it is now
    /// (redacted): safe to repeat, so never uncertain, and never expired.
    Edit,
}

impl Action {
    pub(super) fn parse(s: &str) -> Result<Action> {
        match s {
            "post" => Ok(Action::Post),
            "edit" => Ok(Action::Edit),
            other => Err(Error::internal("stored delivery action", other.to_string())),
        }
    }
}

pub struct NewAnnouncement<'a> {
    pub community: CommunityId,
    pub kind: Kind,
    pub achievement_id: Option<i64>,
    /// The contribution it concerns (a review request), so deciding it updates it.
    pub contribution: Option<ContributionId>,
    /// The member it is about (a message to them), so erasing them redacts it whole.
    /// Members its body names by reference are recorded too, for their lines alone.
    pub about_member: Option<MemberId>,
    pub body: &'a Reply,
    /// When it stops being worth posting (a digest: when the next one is due).
    pub expires_at: Option<DateTime<Utc>>,
}

/// One message of a batch queued at once (`sql::outbox::enqueue_each`).
pub struct Addressed<'a> {
    pub new: NewAnnouncement<'a>,
    /// The workspace whose platform delivers it.
    pub workspace: WorkspaceId,
    pub to: To<'a>,
}

/// Whom a message of a batch goes to, in its workspace.
pub enum To<'a> {
    /// One member, privately: their user id there.
    Member(&'a str),
    /// A group of members in a conversation of their own (their user ids): a
    /// group DM, or a private thread in `channel`.
    Group {
        users: &'a [String],
        channel: Option<&'a str>,
    },
}

/// A delivery that is due, with where it goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub announcement: AnnouncementId,
    pub workspace: WorkspaceId,
    pub community: CommunityId,
    pub platform: Platform,
    pub kind: Kind,
    /// The guild or team id.
    pub workspace_external_id: String,
    /// The workspace's announcement channel, for a channel post.
    pub channel: Option<String>,
    /// The member's user id on the platform, for a private message.
    pub recipient: Option<String>,
    /// The members' user ids, for a message to a group of them (an
    /// introduction and its follow-up); empty otherwise.
    pub recipients: Vec<String>,
    pub attempts: i64,
    /// Set while an attempt's outcome is unknown: the post may have gone through
    /// with its answer lost (a timeout, a dropped connection, a crash).
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// How many attempts ended that way.
    pub uncertain_attempts: i64,
    pub created_at: DateTime<Utc>,
    /// After this it is not posted at all (an edit has no end).
    pub expires_at: Option<DateTime<Utc>>,
    pub body: Reply,
    pub action: Action,
    /// Where an earlier post landed: what an edit changes.
    pub posted: Option<Posted>,
    /// The conversation an earlier attempt opened for a group (a Discord
    /// thread), where a repeated attempt posts.
    pub conversation: Option<String>,
    /// The body's revision: a post or edit that went out with an older one is
    /// followed by an edit.
    pub revision: i64,
}

impl Delivery {
    /// Whether an earlier attempt may have posted it.
    pub fn uncertain(&self) -> bool {
        self.attempt_started_at.is_some()
    }

    /// Whether it goes to members rather than to a channel: a private message
    /// or a group's conversation. Those are never looked for in a channel's
    /// history, and are not sent a third time after two attempts went unanswered.
    pub fn is_private(&self) -> bool {
        self.recipient.is_some() || !self.recipients.is_empty()
    }

    /// The platform-side key for this delivery: Discord's nonce (at most 25
    /// characters) and the id in Slack's message metadata.
    pub fn marker(&self) -> String {
        format!("keel-{}-{}", self.announcement.0, self.workspace.0)
    }
}

/// A worker's hold on a workspace's deliveries, until it runs out.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Which worker (process) holds it.
    pub holder: String,
    pub until: DateTime<Utc>,
}

/// Where a post landed: kept so that a later redaction can edit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    /// The message id (Slack's `ts`).
    pub message: String,
}

/// Whether a failed attempt may have posted after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The platform answered: nothing was posted.
    NotPosted,
    /// No answer came: it may have been.
    Uncertain,
}
