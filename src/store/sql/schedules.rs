//! Schedules' queries.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Conn, Executor};
use crate::domain::CommunityId;
use crate::domain::schedule::ScheduleSpec;
use crate::error::Result;
use crate::store::schedules::{Kind, Schedule};
use crate::store::{parse_ts, ts};

/// Sets (or turns off, with None) a schedule; the next run is computed from `now`.
pub async fn set(
    conn: &mut Conn,
    community: CommunityId,
    kind: Kind,
    spec: Option<ScheduleSpec>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<()> {
    let next = spec.map(|s| ts(s.next_after(now, tz)));
    let text = spec.map_or_else(|| "off".to_string(), |s| s.to_string());
    sqlx::query(
        "INSERT INTO schedules (community_id, kind, spec, next_run_at) VALUES ($1, $2, $3, $4)
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

pub async fn of_community(db: impl Executor<'_>, community: CommunityId) -> Result<Vec<Schedule>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT community_id, kind, spec, next_run_at, last_run_at FROM schedules WHERE community_id = $1 ORDER BY kind",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    from_rows(rows)
}

/// Schedules due at `now`, oldest first.
pub async fn due(db: impl Executor<'_>, now: DateTime<Utc>, limit: i64) -> Result<Vec<Schedule>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT community_id, kind, spec, next_run_at, last_run_at FROM schedules
         WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    from_rows(rows)
}

/// The earliest time any schedule falls due, so the scheduler can sleep until then.
pub async fn next_due(db: impl Executor<'_>) -> Result<Option<DateTime<Utc>>> {
    let next: Option<String> = sqlx::query_scalar("SELECT min(next_run_at) FROM schedules")
        .fetch_one(db)
        .await?;
    next.as_deref().map(parse_ts).transpose()
}

/// Records the run for its period and moves the schedule on; false if a run
/// for that period was recorded already, or the schedule moved since it was
/// read, so two runners (two processes) cannot both post it.
pub async fn advance(
    conn: &mut Conn,
    schedule: &Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<bool> {
    if let Some(period) = schedule.next_run_at {
        let recorded = sqlx::query(
            "INSERT INTO schedule_runs (community_id, kind, period, ran_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(schedule.community)
        .bind(schedule.kind.as_str())
        .bind(ts(period))
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
        if recorded.rows_affected() == 0 {
            return Ok(false);
        }
    }
    let next = schedule.spec.map(|s| ts(s.next_after(now, tz)));
    let done = sqlx::query(
        "UPDATE schedules SET next_run_at = $1, last_run_at = $2
         WHERE community_id = $3 AND kind = $4 AND next_run_at = $5",
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
