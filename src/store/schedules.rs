//! Recurring posts per community, kept as rows so they survive restarts and run
//! once per period.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{parse_ts, ts};
use crate::domain::CommunityId;
use crate::domain::schedule::ScheduleSpec;
use crate::error::Result;

/// Schedules, as the application sets and runs them.
impl super::Store {
    /// Schedules due at `now`, oldest first.
    pub async fn due_schedules(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Schedule>> {
        due(&self.sqlite().read, now, limit).await
    }

    /// The earliest time any schedule falls due.
    pub async fn next_schedule_due(&self) -> Result<Option<DateTime<Utc>>> {
        next_due(&self.sqlite().read).await
    }

    /// The community's schedules, by kind.
    pub async fn community_schedules(&self, community: CommunityId) -> Result<Vec<Schedule>> {
        of_community(&self.sqlite().read, community).await
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
        self.sqlite()
            .write(async |conn| set(conn, community, kind, spec, tz, now).await)
            .await
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
        self.sqlite()
            .write(async |conn| {
                if !advance(conn, schedule, tz, now).await? {
                    return Ok(false);
                }
                if let Some(post) = post {
                    super::outbox::enqueue(conn, post, now).await?;
                }
                Ok(post.is_some())
            })
            .await
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
    fn from_db(s: &str) -> Option<Kind> {
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

/// Sets (or turns off, with None) a schedule; the next run is computed from `now`.
pub async fn set(
    conn: &mut SqliteConnection,
    community: CommunityId,
    kind: Kind,
    spec: Option<ScheduleSpec>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<()> {
    let next = spec.map(|s| ts(s.next_after(now, tz)));
    let text = spec.map_or_else(|| "off".to_string(), |s| s.to_string());
    sqlx::query(
        "INSERT INTO schedules (community_id, kind, spec, next_run_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (community_id, kind) DO UPDATE SET spec = excluded.spec, next_run_at = excluded.next_run_at",
    )
    .bind(community)
    .bind(kind.as_str())
    .bind(text)
    .bind(next)
    .execute(conn)
    .await?;
    Ok(())
}

type Row = (i64, String, String, Option<String>, Option<String>);

fn from_row((community, kind, spec, next, last): Row) -> Result<Option<Schedule>> {
    let Some(kind) = Kind::from_db(&kind) else {
        return Ok(None);
    };
    Ok(Some(Schedule {
        community: CommunityId(community),
        kind,
        spec: ScheduleSpec::parse(&spec).ok().flatten(),
        next_run_at: next.as_deref().map(parse_ts).transpose()?,
        last_run_at: last.as_deref().map(parse_ts).transpose()?,
    }))
}

/// Rows as schedules, skipping kinds this version does not know.
fn from_rows(rows: Vec<Row>) -> Result<Vec<Schedule>> {
    Ok(rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
}

pub async fn of_community(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<Schedule>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT community_id, kind, spec, next_run_at, last_run_at FROM schedules WHERE community_id = ? ORDER BY kind",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    from_rows(rows)
}

/// Schedules due at `now`, oldest first.
pub async fn due(
    db: impl SqliteExecutor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Schedule>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT community_id, kind, spec, next_run_at, last_run_at FROM schedules
         WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at LIMIT ?",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    from_rows(rows)
}

/// The earliest time any schedule falls due, so the scheduler can sleep until then.
pub async fn next_due(db: impl SqliteExecutor<'_>) -> Result<Option<DateTime<Utc>>> {
    let next: Option<String> = sqlx::query_scalar("SELECT min(next_run_at) FROM schedules")
        .fetch_one(db)
        .await?;
    next.as_deref().map(parse_ts).transpose()
}

/// Marks a run done and moves the schedule on. Only moves it if it is still the
/// run we claimed (`expected_next`), so two runners cannot both post it.
pub async fn advance(
    conn: &mut SqliteConnection,
    schedule: &Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<bool> {
    let next = schedule.spec.map(|s| ts(s.next_after(now, tz)));
    let done = sqlx::query(
        "UPDATE schedules SET next_run_at = ?, last_run_at = ?
         WHERE community_id = ? AND kind = ? AND next_run_at = ?",
    )
    .bind(next)
    .bind(ts(now))
    .bind(schedule.community)
    .bind(schedule.kind.as_str())
    .bind(schedule.next_run_at.map(ts))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
