//! Event figures' queries (see `store::event_figures`): events held in a window,
//! their answers and attendance, and members who answer yes and never come.
//! Definitions: `domain::metrics` ("Events").

use chrono::{DateTime, Utc};

use super::health::ListedRow;
use super::{Executor, Pool};
use crate::domain::CommunityId;
use crate::error::Result;
use crate::store::event_figures::EventFigures;
use crate::store::health::Listed;
use crate::store::ts;

/// The events held in `[from, to)`: started then, over by `now`, not cancelled.
macro_rules! held {
    () => {
        "SELECT id FROM events
         WHERE community_id = $1 AND starts_at >= $2 AND starts_at < $3 AND ends_at <= $4
           AND cancelled_at IS NULL"
    };
}

pub async fn figures(
    db: impl Executor<'_>,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<EventFigures> {
    let (held, yes, maybe, attended, yes_attended): (i64, i64, i64, i64, i64) =
        sqlx::query_as(concat!(
            "WITH held AS (",
            held!(),
            ")
             SELECT (SELECT count(*) FROM held),
                    (SELECT count(*) FROM event_rsvps r JOIN held h ON h.id = r.event_id
                      WHERE r.answer = 'yes' AND r.waitlisted = 0),
                    (SELECT count(*) FROM event_rsvps r JOIN held h ON h.id = r.event_id
                      WHERE r.answer = 'maybe'),
                    (SELECT count(*) FROM event_attendance a JOIN held h ON h.id = a.event_id),
                    (SELECT count(*) FROM event_attendance a JOIN held h ON h.id = a.event_id
                       JOIN event_rsvps r ON r.event_id = a.event_id AND r.member_id = a.member_id
                      WHERE r.answer = 'yes' AND r.waitlisted = 0)"
        ))
        .bind(community)
        .bind(ts(from))
        .bind(ts(to))
        .bind(ts(now))
        .fetch_one(db)
        .await?;
    Ok(EventFigures {
        held,
        yes,
        maybe,
        attended,
        yes_attended,
    })
}

/// Members still here and not away who answered yes (with a place) to at least
/// `at_least` events held in `[from, to)` and attended none of them.
macro_rules! yes_never_attending {
    () => {
        concat!(
            "WITH held AS (",
            held!(),
            "),
             said_yes AS (
               SELECT r.member_id, count(*) AS yes,
                      count(a.member_id) AS came
                 FROM event_rsvps r JOIN held h ON h.id = r.event_id
                 LEFT JOIN event_attendance a ON a.event_id = r.event_id AND a.member_id = r.member_id
                WHERE r.answer = 'yes' AND r.waitlisted = 0
                GROUP BY r.member_id)
             SELECT m.display_name, m.last_active_on, m.joined_at
               FROM said_yes s JOIN members m ON m.id = s.member_id
              WHERE s.yes >= $5 AND s.came = 0 AND m.left_at IS NULL AND m.away_since IS NULL"
        )
    };
}

/// Over the events held from `from` until `now`.
pub async fn yes_never_attending(
    db: &Pool,
    community: CommunityId,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    at_least: i64,
    limit: i64,
    offset: i64,
) -> Result<Listed> {
    let names: Vec<ListedRow> = sqlx::query_as(concat!(
        yes_never_attending!(),
        " ORDER BY m.display_name, m.id LIMIT $6 OFFSET $7"
    ))
    .bind(community)
    .bind(ts(from))
    .bind(ts(now))
    .bind(ts(now))
    .bind(at_least)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(concat!(
        "SELECT count(*) FROM (",
        yes_never_attending!(),
        ") listed"
    ))
    .bind(community)
    .bind(ts(from))
    .bind(ts(now))
    .bind(ts(now))
    .bind(at_least)
    .fetch_one(db)
    .await?;
    Ok(Listed {
        names: names.into_iter().map(|(name, _, _)| name).collect(),
        total,
    })
}

/// Every member [`yes_never_attending`] lists, as `export health` writes them:
/// binds the community, the window's start, now (twice) and the least number
/// of yeses.
pub const YES_NEVER_ATTENDING: &str =
    concat!(yes_never_attending!(), " ORDER BY m.display_name, m.id");
