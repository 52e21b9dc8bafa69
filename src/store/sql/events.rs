//! Events' queries (see `store::events`): events, answers and their places,
//! attendance and the contribution it writes, and reminders.
//!
//! Every read of a community's events goes by (community_id, starts_at), and of
//! an event's answers by its key: nothing here reads past events or other
//! events' answers.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::super::engine::built;
use super::{
    Conn, Executor, IDS_PER_STATEMENT, Pool, contribution_batch, corrections, outbox, redaction,
};
use crate::domain::contribution::ContributionRequest;
use crate::domain::events::{Answer, EventDuration, Reminder, attendance_amount, attended};
use crate::domain::{AnnouncementId, CommunityId, EventId, MemberId, Reply, UserError};
use crate::error::{Error, Result};
use crate::store::events::{
    Answers, Attendance, AttendedBy, Attendee, Cancellation, Event, NewEventRow, Rsvp,
};
use crate::store::milestones::CustomHint;
use crate::store::outbox::{Addressed, Kind, NewAnnouncement, To};
use crate::store::{numbered_values, parse_ts, ts};

type Refusable<T> = std::result::Result<T, UserError>;

type Row = (
    i64,            // id
    i64,            // community
    String,         // title
    String,         // starts at
    String,         // ends at
    Option<String>, // place
    Option<String>, // goal's slug
    Option<String>, // goal's unit
    Option<f64>,    // amount
    Option<i64>,    // capacity
    String,         // check-in code
    Option<String>, // cancelled at
    Option<String>, // why
    Option<i64>,    // card's announcement
);

const SELECT: &str = "SELECT e.id, e.community_id, e.title, e.starts_at, e.ends_at, e.place,
    g.slug, g.unit, e.amount, e.capacity, e.checkin_code, e.cancelled_at, e.cancel_reason,
    e.card_announcement_id
    FROM events e LEFT JOIN goals g ON g.id = e.goal_id";

fn from_row(r: Row) -> Result<Event> {
    let cancelled = match r.11 {
        Some(at) => Some(Cancellation {
            at: parse_ts(&at)?,
            reason: r.12.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Event {
        id: EventId(r.0),
        community: CommunityId(r.1),
        title: r.2,
        starts_at: parse_ts(&r.3)?,
        ends_at: parse_ts(&r.4)?,
        place: r.5,
        goal: r.6,
        goal_unit: r.7,
        amount: r.8,
        capacity: r.9,
        check_in_code: r.10,
        cancelled,
        card: r.13.map(AnnouncementId),
    })
}

pub async fn create(
    conn: &mut Conn,
    community: CommunityId,
    new: &NewEventRow<'_>,
    now: DateTime<Utc>,
) -> Result<EventId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (community_id, title, starts_at, ends_at, place, goal_id, amount,
            capacity, checkin_code, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(community)
    .bind(new.title)
    .bind(ts(new.starts_at))
    .bind(ts(new.ends_at))
    .bind(new.place)
    .bind(new.goal)
    .bind(new.amount)
    .bind(new.capacity)
    .bind(new.check_in_code)
    .bind(new.created_by)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(EventId(id))
}

pub async fn find(
    db: impl Executor<'_>,
    community: CommunityId,
    id: EventId,
) -> Result<Option<Event>> {
    let row: Option<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE e.id = $1 AND e.community_id = $2"
    )))
    .bind(id)
    .bind(community)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

/// The event of `community` whose public card is `announcement`, by the
/// events_by_card index.
pub async fn find_by_card(
    db: impl Executor<'_>,
    community: CommunityId,
    announcement: AnnouncementId,
) -> Result<Option<Event>> {
    let row: Option<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE e.card_announcement_id = $1 AND e.community_id = $2"
    )))
    .bind(announcement)
    .bind(community)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

/// The community's events not over at `now` and not cancelled, soonest first.
/// None lasts longer than [`EventDuration::MAX_MINUTES`], so those under way
/// started after now less that: the (community_id, starts_at) index reads only
/// the events near now, however many are past.
pub async fn upcoming(
    db: impl Executor<'_>,
    community: CommunityId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Event>> {
    let earliest = now - Duration::minutes(i64::from(EventDuration::MAX_MINUTES));
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE e.community_id = $1 AND e.starts_at >= $2 AND e.ends_at > $3
           AND e.cancelled_at IS NULL
         ORDER BY e.starts_at, e.id LIMIT $4"
    )))
    .bind(community)
    .bind(ts(earliest))
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// How members answered each of `events`, by the (event_id, answer, waitlisted)
/// index.
pub async fn answers(pool: &Pool, events: &[EventId]) -> Result<HashMap<EventId, Answers>> {
    let mut out: HashMap<EventId, Answers> = HashMap::new();
    for chunk in events.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT event_id, answer, waitlisted, count(*) FROM event_rsvps
             WHERE event_id IN {} GROUP BY event_id, answer, waitlisted",
            super::numbered_list(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, AnswerCount>(built(sql));
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(pool).await? {
            count_in(out.entry(EventId(row.0)).or_default(), row)?;
        }
    }
    Ok(out)
}

/// How members answered event `id`, read in the write transaction that changed
/// them (for its card).
async fn answers_now(conn: &mut Conn, id: EventId) -> Result<Answers> {
    let rows: Vec<AnswerCount> = sqlx::query_as(
        "SELECT event_id, answer, waitlisted, count(*) FROM event_rsvps
         WHERE event_id = $1 GROUP BY event_id, answer, waitlisted",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = Answers::default();
    for row in rows {
        count_in(&mut counts, row)?;
    }
    Ok(counts)
}

/// (event, answer, waitlisted, how many).
type AnswerCount = (i64, String, i64, i64);

fn count_in(counts: &mut Answers, (_, answer, waitlisted, n): AnswerCount) -> Result<()> {
    match (Answer::from_db(&answer), waitlisted != 0) {
        (Some(Answer::Yes), false) => counts.going += n,
        (Some(Answer::Yes), true) => counts.waitlisted += n,
        (Some(Answer::Maybe), _) => counts.maybe += n,
        (Some(Answer::No), _) => counts.no += n,
        (None, _) => return Err(Error::internal("stored answer", answer)),
    }
    Ok(())
}

/// Queues `event`'s public card (`body`) to every workspace of its community
/// with an announcement channel, and keeps it as the event's card so that each
/// change of its answers or terms edits it. None without such a channel.
pub async fn post_card(
    conn: &mut Conn,
    event: &Event,
    body: &Reply,
    now: DateTime<Utc>,
) -> Result<Option<AnnouncementId>> {
    let new = NewAnnouncement {
        community: event.community,
        kind: Kind::EventCard,
        achievement_id: None,
        contribution: None,
        about_member: None,
        body,
        // A card still unposted when the event is over invites no one.
        expires_at: Some(event.ends_at),
    };
    let Some(card) = outbox::enqueue_to_announcement_channels(conn, &new, now).await? else {
        return Ok(None);
    };
    sqlx::query("UPDATE events SET card_announcement_id = $1 WHERE id = $2")
        .bind(card)
        .bind(event.id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(card))
}

/// Shows `event` as it is now on its card, if it has one: the body `card` makes
/// of it and its answers replaces the stored one, and every message it was
/// posted as is queued for an edit. A post still to come goes out as it is now,
/// until the event's new end; once it is cancelled, not at all (edits of posted
/// cards never expire). A body unchanged (an answer the card does not count)
/// writes nothing.
pub async fn refresh_card(
    conn: &mut Conn,
    event: &Event,
    card: &(impl Fn(&Event, &Answers) -> Reply + Send),
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(announcement) = event.card else {
        return Ok(());
    };
    let body = serde_json::to_string(&card(event, &answers_now(conn, event.id).await?))?;
    let expires_at = event.cancelled.as_ref().map_or(event.ends_at, |c| c.at);
    let changed = sqlx::query(
        "UPDATE announcements SET body = $1, revision = revision + 1, expires_at = $2
         WHERE id = $3 AND body <> $1",
    )
    .bind(body)
    .bind(ts(expires_at))
    .bind(announcement)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed > 0 {
        redaction::queue_edits(conn, announcement.0, now).await?;
    }
    Ok(())
}

/// How many members attended event `id`.
pub async fn attended_count(db: impl Executor<'_>, id: EventId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM event_attendance WHERE event_id = $1")
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}

/// A member's answer to event `id`, with their place in the waitlist.
pub async fn rsvp_of(pool: &Pool, id: EventId, member: MemberId) -> Result<Option<Rsvp>> {
    let row: Option<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT answer, answered_at, yes_at, waitlisted FROM event_rsvps
         WHERE event_id = $1 AND member_id = $2",
    )
    .bind(id)
    .bind(member)
    .fetch_optional(pool)
    .await?;
    let Some((answer, answered_at, yes_at, waitlisted)) = row else {
        return Ok(None);
    };
    let answer =
        Answer::from_db(&answer).ok_or_else(|| Error::internal("stored answer", answer))?;
    let in_line = match (waitlisted != 0, yes_at) {
        (true, Some(yes_at)) => {
            let ahead: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_rsvps WHERE event_id = $1 AND answer = 'yes'
                   AND waitlisted = 1 AND (yes_at < $2 OR (yes_at = $2 AND member_id < $3))",
            )
            .bind(id)
            .bind(&yes_at)
            .bind(member)
            .fetch_one(pool)
            .await?;
            Some(ahead + 1)
        }
        _ => None,
    };
    Ok(Some(Rsvp {
        answer,
        answered_at: parse_ts(&answered_at)?,
        in_line,
    }))
}

/// Stores `member`'s answer to `event`; returns their answer before and whether
/// their yes waits for a place. A yes given again keeps its place in order; a
/// new yes past capacity, or while others wait, joins the waitlist.
pub async fn answer(
    conn: &mut Conn,
    event: &Event,
    member: MemberId,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<(Option<Answer>, bool)> {
    let before: Option<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT answer, yes_at, waitlisted FROM event_rsvps WHERE event_id = $1 AND member_id = $2",
    )
    .bind(event.id)
    .bind(member)
    .fetch_optional(&mut *conn)
    .await?;
    let before = match before {
        Some((answer, yes_at, waitlisted)) => Some((
            Answer::from_db(&answer).ok_or_else(|| Error::internal("stored answer", answer))?,
            yes_at,
            waitlisted != 0,
        )),
        None => None,
    };
    let (yes_at, waitlisted) = match (answer, &before) {
        (Answer::Yes, Some((Answer::Yes, yes_at, waitlisted))) => (yes_at.clone(), *waitlisted),
        (Answer::Yes, _) => {
            let (going, waiting) = places_taken(conn, event.id).await?;
            let full = event.capacity.is_some_and(|c| going >= c) || waiting > 0;
            (Some(ts(now)), full)
        }
        _ => (None, false),
    };
    sqlx::query(
        "INSERT INTO event_rsvps (event_id, member_id, answer, answered_at, yes_at, waitlisted)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id, member_id) DO UPDATE SET answer = excluded.answer,
            answered_at = excluded.answered_at, yes_at = excluded.yes_at,
            waitlisted = excluded.waitlisted",
    )
    .bind(event.id)
    .bind(member)
    .bind(answer.as_str())
    .bind(ts(now))
    .bind(yes_at)
    .bind(i64::from(waitlisted))
    .execute(&mut *conn)
    .await?;
    Ok((before.map(|(answer, _, _)| answer), waitlisted))
}

/// Members going (yes, with a place) and waiting (yes, waitlisted).
async fn places_taken(conn: &mut Conn, event: EventId) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT
            (SELECT count(*) FROM event_rsvps WHERE event_id = $1 AND answer = 'yes' AND waitlisted = 0),
            (SELECT count(*) FROM event_rsvps WHERE event_id = $1 AND answer = 'yes' AND waitlisted = 1)",
    )
    .bind(event)
    .fetch_one(&mut *conn)
    .await?)
}

/// Gives the places free under `event`'s capacity (all of them, without one) to
/// those waiting, first come first served; returns the members moved up. A
/// capacity lowered below those going takes no place away.
pub async fn fill_places(conn: &mut Conn, event: &Event) -> Result<Vec<MemberId>> {
    let (going, waiting) = places_taken(conn, event.id).await?;
    if waiting == 0 {
        return Ok(Vec::new());
    }
    let free = match event.capacity {
        Some(capacity) => (capacity - going).max(0),
        None => waiting,
    };
    if free == 0 {
        return Ok(Vec::new());
    }
    let moving: Vec<i64> = sqlx::query_scalar(
        "SELECT member_id FROM event_rsvps WHERE event_id = $1 AND answer = 'yes' AND waitlisted = 1
         ORDER BY yes_at, member_id LIMIT $2",
    )
    .bind(event.id)
    .bind(free)
    .fetch_all(&mut *conn)
    .await?;
    for member in &moving {
        sqlx::query("UPDATE event_rsvps SET waitlisted = 0 WHERE event_id = $1 AND member_id = $2")
            .bind(event.id)
            .bind(member)
            .execute(&mut *conn)
            .await?;
    }
    Ok(moving.into_iter().map(MemberId).collect())
}

/// The members who answered event `id` yes (waitlisted too) or maybe.
pub async fn interested(conn: &mut Conn, id: EventId) -> Result<Vec<MemberId>> {
    let members: Vec<i64> = sqlx::query_scalar(
        "SELECT member_id FROM event_rsvps WHERE event_id = $1 AND answer IN ('yes', 'maybe')
         ORDER BY member_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(members.into_iter().map(MemberId).collect())
}

/// Queues `body` privately to each of `members` who can be reached (one of
/// their identities); returns how many.
pub async fn tell(
    conn: &mut Conn,
    community: CommunityId,
    members: &[MemberId],
    body: &Reply,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let messages: Vec<(MemberId, &Reply)> = members.iter().map(|m| (*m, body)).collect();
    tell_each(conn, community, &messages, expires_at, now).await
}

/// Queues each message privately to its member, where they can be reached;
/// returns how many.
async fn tell_each(
    conn: &mut Conn,
    community: CommunityId,
    messages: &[(MemberId, &Reply)],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let members: Vec<MemberId> = messages.iter().map(|(member, _)| *member).collect();
    let reached = corrections::reach_each(conn, &members).await?;
    let batch: Vec<Addressed> = messages
        .iter()
        .filter_map(|(member, body)| {
            let (workspace, user) = reached.get(member)?;
            Some(Addressed {
                new: NewAnnouncement {
                    community,
                    kind: Kind::Direct,
                    achievement_id: None,
                    contribution: None,
                    about_member: Some(*member),
                    body,
                    expires_at,
                },
                workspace: *workspace,
                to: To::Member(user),
            })
        })
        .collect();
    outbox::enqueue_each(conn, &batch, now).await?;
    Ok(batch.len())
}

/// Records that `attendee` attended `event`, and, the first time they are
/// counted for it, writes their contribution through the contribution writer's
/// own writes, confirmed. Refused if the contribution rules refuse it.
pub async fn attend(
    conn: &mut Conn,
    custom: &CustomHint,
    event: &Event,
    attendee: &Attendee,
    by: AttendedBy,
    now: DateTime<Utc>,
) -> Result<Refusable<Attendance>> {
    let before: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT checked_in_at, recorded_at, counted_at FROM event_attendance
         WHERE event_id = $1 AND member_id = $2",
    )
    .bind(event.id)
    .bind(attendee.member)
    .fetch_optional(&mut *conn)
    .await?;
    let (checked_in_before, recorded_before, counted) = match &before {
        Some((checked_in, recorded, counted)) => {
            (checked_in.is_some(), recorded.is_some(), counted.is_some())
        }
        None => (false, false, false),
    };
    let (checked_in_at, recorded_by, recorded_at) = match by {
        AttendedBy::CheckIn => (Some(ts(now)), None, None),
        AttendedBy::Organiser(organiser) => (None, Some(organiser), Some(ts(now))),
    };
    sqlx::query(
        "INSERT INTO event_attendance (event_id, member_id, checked_in_at, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (event_id, member_id) DO UPDATE SET
            checked_in_at = COALESCE(event_attendance.checked_in_at, excluded.checked_in_at),
            recorded_by = COALESCE(event_attendance.recorded_by, excluded.recorded_by),
            recorded_at = COALESCE(event_attendance.recorded_at, excluded.recorded_at)",
    )
    .bind(event.id)
    .bind(attendee.member)
    .bind(checked_in_at)
    .bind(recorded_by)
    .bind(recorded_at)
    .execute(&mut *conn)
    .await?;
    let recorded = if counted {
        None
    } else {
        let request = ContributionRequest {
            community: event.community,
            member: attendee.member,
            member_name: attendee.name.clone(),
            platform: attendee.platform,
            description: attended(&event.title),
            amount: attendance_amount(event.amount, event.duration(), event.goal_unit.as_deref()),
            unit: None,
            goal: event.goal.clone(),
            value: None,
            day: event.starts_at.date_naive(),
            now,
        };
        let id = contribution_batch::reserve_id(conn).await?;
        let recorded = match corrections::put_in(conn, custom, &request, id, true, now).await? {
            Ok(recorded) => recorded,
            Err(refused) => return Ok(Err(refused)),
        };
        sqlx::query(
            "UPDATE event_attendance SET contribution_id = $1, counted_at = $2
             WHERE event_id = $3 AND member_id = $4",
        )
        .bind(recorded.id)
        .bind(ts(now))
        .bind(event.id)
        .bind(attendee.member)
        .execute(&mut *conn)
        .await?;
        Some(recorded)
    };
    Ok(Ok(Attendance {
        member: attendee.member,
        name: attendee.name.clone(),
        recorded,
        checked_in_before,
        recorded_before,
    }))
}

/// Writes an edited event's terms.
pub async fn update(conn: &mut Conn, after: &Event) -> Result<()> {
    sqlx::query(
        "UPDATE events SET title = $1, starts_at = $2, ends_at = $3, place = $4, capacity = $5
         WHERE id = $6",
    )
    .bind(&after.title)
    .bind(ts(after.starts_at))
    .bind(ts(after.ends_at))
    .bind(&after.place)
    .bind(after.capacity)
    .bind(after.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Event `id` moved: its reminders are sent again for the new time.
pub async fn remind_again(conn: &mut Conn, id: EventId) -> Result<()> {
    sqlx::query("DELETE FROM event_reminders WHERE event_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE events SET day_reminders_at = NULL, hour_reminders_at = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn cancel(conn: &mut Conn, id: EventId, reason: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE events SET cancelled_at = $1, cancel_reason = $2 WHERE id = $3")
        .bind(ts(now))
        .bind(reason)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Events, in every community, starting within a day of `now` with a reminder
/// not swept yet (the hour's only within the hour), soonest first: by the
/// partial index on starts_at of events not cancelled.
pub async fn to_remind(
    db: impl Executor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Event>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE e.cancelled_at IS NULL AND e.starts_at > $1 AND e.starts_at <= $2
           AND (e.day_reminders_at IS NULL OR (e.hour_reminders_at IS NULL AND e.starts_at <= $3))
         ORDER BY e.starts_at, e.id LIMIT $4"
    )))
    .bind(ts(now))
    .bind(ts(now + Reminder::DayBefore.lead()))
    .bind(ts(now + Reminder::HourBefore.lead()))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Queues `reminder` of `event` to every member who answered yes or maybe
/// before its moment and has not had it, writing each into event_reminders with
/// its message (the key on event, member and kind makes it once). Returns how
/// many were queued.
pub async fn remind(
    conn: &mut Conn,
    event: &Event,
    reminder: Reminder,
    now: DateTime<Utc>,
    body: &(impl Fn(&Event, bool) -> Reply + Send),
) -> Result<usize> {
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT r.member_id, r.waitlisted FROM event_rsvps r
         WHERE r.event_id = $1 AND r.answer IN ('yes', 'maybe') AND r.answered_at < $2
           AND NOT EXISTS (SELECT 1 FROM event_reminders s
                           WHERE s.event_id = r.event_id AND s.member_id = r.member_id AND s.kind = $3)
         ORDER BY r.member_id",
    )
    .bind(event.id)
    .bind(ts(reminder.moment(event.starts_at)))
    .bind(reminder.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let bodies = [body(event, false), body(event, true)];
    let mut messages = Vec::with_capacity(due.len());
    for chunk in due.chunks(IDS_PER_STATEMENT) {
        // The key on (event, member, kind) answers which were not sent yet.
        let mut q = sqlx::query_as::<_, (i64,)>(built(format!(
            "INSERT INTO event_reminders (event_id, member_id, kind, sent_at) VALUES {}
             ON CONFLICT (event_id, member_id, kind) DO NOTHING RETURNING member_id",
            numbered_values(1, chunk.len(), 4)
        )));
        for (member, _) in chunk {
            q = q
                .bind(event.id)
                .bind(member)
                .bind(reminder.as_str())
                .bind(ts(now));
        }
        let written: HashSet<i64> = q
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(m,)| m)
            .collect();
        messages.extend(
            chunk
                .iter()
                .filter(|(member, _)| written.contains(member))
                .map(|(member, waitlisted)| {
                    (MemberId(*member), &bodies[usize::from(*waitlisted != 0)])
                }),
        );
    }
    let expires_at = Some(reminder.expires_at(event.starts_at));
    tell_each(conn, event.community, &messages, expires_at, now).await
}

/// Marks `reminder`'s sweep of event `id` done; the hour's marks the day's done
/// too (it is not sent late).
pub async fn mark_swept(
    conn: &mut Conn,
    id: EventId,
    reminder: Reminder,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = match reminder {
        Reminder::DayBefore => {
            "UPDATE events SET day_reminders_at = COALESCE(day_reminders_at, $1) WHERE id = $2"
        }
        Reminder::HourBefore => {
            "UPDATE events SET day_reminders_at = COALESCE(day_reminders_at, $1),
                hour_reminders_at = COALESCE(hour_reminders_at, $1) WHERE id = $2"
        }
    };
    sqlx::query(sql)
        .bind(ts(now))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Two members were merged into `into`: `from`'s answers, attendance and
/// reminders are theirs where `into` has none for the same event; the rest go
/// with `from`.
pub async fn merge_members(conn: &mut Conn, from: MemberId, into: MemberId) -> Result<()> {
    for (table, same_kind) in [
        ("event_rsvps", ""),
        ("event_attendance", ""),
        ("event_reminders", "AND o.kind = event_reminders.kind"),
    ] {
        sqlx::query(built(format!(
            "UPDATE {table} SET member_id = $2 WHERE member_id = $1 AND NOT EXISTS
                (SELECT 1 FROM {table} o
                 WHERE o.event_id = {table}.event_id AND o.member_id = $2 {same_kind})"
        )))
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
        sqlx::query(built(format!("DELETE FROM {table} WHERE member_id = $1")))
            .bind(from)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE event_attendance SET recorded_by = $2 WHERE recorded_by = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE events SET created_by = $2 WHERE created_by = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
