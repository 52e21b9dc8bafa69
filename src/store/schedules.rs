//! Recurring posts per community, kept as rows so they survive restarts and run
//! once per period.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::CommunityId;
use crate::domain::schedule::ScheduleSpec;
use crate::error::Result;

/// Schedules, as the application sets and runs them.
impl super::Store {
    /// Schedules due at `now`, oldest first.
    pub async fn due_schedules(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Schedule>> {
        on_engine!(self, e => sql::schedules::due(&e.read, now, limit).await)
    }

    /// The earliest time any schedule falls due.
    pub async fn next_schedule_due(&self) -> Result<Option<DateTime<Utc>>> {
        on_engine!(self, e => sql::schedules::next_due(&e.read).await)
    }

    /// The community's schedules, by kind.
    pub async fn community_schedules(&self, community: CommunityId) -> Result<Vec<Schedule>> {
        on_engine!(self, e => sql::schedules::of_community(&e.read, community).await)
    }

    /// Sets (or turns off, with None) a schedule, in one write transaction.
    pub async fn set_schedule(
        &self,
        community: CommunityId,
        kind: Kind,
        spec: Option<ScheduleSpec>,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::schedules::set(conn, community, kind, spec, tz, now).await
            })
            .await)
    }

    /// Moves a due schedule on and queues its post (if any) in the same write
    /// transaction, so each period is posted once, even across restarts. True if
    /// a post was queued; false if there was none, or another runner moved the
    /// schedule on first.
    pub async fn advance_schedule(
        &self,
        schedule: &Schedule,
        tz: Tz,
        now: DateTime<Utc>,
        post: Option<&super::outbox::NewAnnouncement<'_>>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(schedule.community, async |conn| {
                if !sql::schedules::advance(conn, schedule, tz, now).await? {
                    return Ok(false);
                }
                if let Some(post) = post {
                    sql::outbox::enqueue(conn, post, now).await?;
                }
                Ok(post.is_some())
            })
            .await)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Digest,
    MissionReminder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Digest => "digest",
            Kind::MissionReminder => "mission_reminder",
        }
    }
    pub(in crate::store) fn from_db(s: &str) -> Option<Kind> {
        match s {
            "digest" => Some(Kind::Digest),
            "mission_reminder" => Some(Kind::MissionReminder),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub community: CommunityId,
    pub kind: Kind,
    pub spec: Option<ScheduleSpec>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
}
