//! The review queue's queries (see `store::review`): contributions waiting for
//! an organiser (`pending_contributions`, migration 0018), approving one into a
//! contribution under its #id, rejecting one, and editing a contribution, which
//! may send it back to wait.

use chrono::{DateTime, Utc};

use super::super::engine::built;
use super::corrections::{self as corrections, Found, record};
use super::{Conn, Executor, outbox, redaction};
use crate::domain::announce;
use crate::domain::contribution::ContributionRequest;
use crate::domain::contribution::correction::{Corrector, may_correct};
use crate::domain::contribution::snapshot::Snapshot;
use crate::domain::{CommunityId, ContributionId, MemberId, Platform, Reply, UserError};
use crate::error::{Error, Result};
use crate::store::corrections::Change;
use crate::store::milestones::CustomHint;
use crate::store::outbox::{Kind, NewAnnouncement};
use crate::store::review::{Approved, ContributionEdit, Edited, Rejected, Waiting};
use crate::store::{parse_day, parse_ts, ts};

type Refusable<T> = std::result::Result<T, UserError>;

/// A row of `pending_contributions` as listed.
type WaitingRow = (
    i64,            // id
    i64,            // member
    Option<String>, // member's name
    String,         // description
    Option<f64>,    // amount
    Option<String>, // unit
    Option<String>, // goal's slug
    Option<String>, // value
    String,         // platform
    String,         // day
    String,         // created at
    String,         // status
    Option<String>, // reason
);

const WAITING_COLUMNS: &str = "p.id, p.member_id, m.display_name, p.description, p.amount, p.unit,
    g.slug, p.value_name, p.platform, p.happened_on, p.created_at, p.status, p.reason
    FROM pending_contributions p LEFT JOIN members m ON m.id = p.member_id
    LEFT JOIN goals g ON g.id = p.goal_id";

fn waiting(r: WaitingRow) -> Result<Waiting> {
    Ok(Waiting {
        id: ContributionId(r.0),
        member: MemberId(r.1),
        member_name: r.2.unwrap_or_default(),
        snapshot: Snapshot {
            description: r.3,
            amount: r.4,
            unit: r.5,
            goal: r.6,
            value: r.7,
            platform: r.8,
            day: parse_day(&r.9)?,
            logged_at: parse_ts(&r.10)?,
        },
        rejected: r.11 == "rejected",
        reason: r.12,
    })
}

/// The community's contributions waiting for review, oldest first, by the
/// (community, status, id) index.
pub async fn waiting_in(
    db: impl Executor<'_>,
    community: CommunityId,
    limit: i64,
) -> Result<Vec<Waiting>> {
    let rows: Vec<WaitingRow> = sqlx::query_as(built(format!(
        "SELECT {WAITING_COLUMNS} WHERE p.community_id = $1 AND p.status = 'pending'
         ORDER BY p.id LIMIT $2"
    )))
    .bind(community)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(waiting).collect()
}

/// How many contributions of the community wait for review.
pub async fn waiting_count(db: impl Executor<'_>, community: CommunityId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pending_contributions WHERE community_id = $1 AND status = 'pending'",
    )
    .bind(community)
    .fetch_one(db)
    .await?)
}

/// A member's contributions waiting for review or rejected, newest first.
pub async fn of_member(
    db: impl Executor<'_>,
    member: MemberId,
    limit: i64,
) -> Result<Vec<Waiting>> {
    let rows: Vec<WaitingRow> = sqlx::query_as(built(format!(
        "SELECT {WAITING_COLUMNS} WHERE p.member_id = $1 ORDER BY p.id DESC LIMIT $2"
    )))
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(waiting).collect()
}

/// Contribution `id` of `community` as it waits (or was rejected).
async fn find_waiting(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
) -> Result<Option<Waiting>> {
    let row: Option<WaitingRow> = sqlx::query_as(built(format!(
        "SELECT {WAITING_COLUMNS} WHERE p.id = $1 AND p.community_id = $2"
    )))
    .bind(id)
    .bind(community)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(waiting).transpose()
}

/// Asks organisers to decide on contribution `id`, which just began to wait: a
/// request with buttons in each review channel of its community. With no review
/// channel set there is none; `review` lists it all the same.
pub async fn request_review(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    now: DateTime<Utc>,
) -> Result<()> {
    if !outbox::has_review_channel(conn, community).await? {
        return Ok(());
    }
    let Some(w) = find_waiting(conn, community, id).await? else {
        return Ok(());
    };
    let body = announce::review_request(w.id, w.member, &w.member_name, &w.snapshot);
    let new = NewAnnouncement {
        community,
        kind: Kind::ReviewRequest,
        achievement_id: None,
        contribution: Some(id),
        about_member: Some(w.member),
        body: &body,
        expires_at: None,
    };
    outbox::enqueue_review_request(conn, &new, now).await?;
    Ok(())
}

/// The review requests for contribution `id`, decided now, show `card` instead
/// of their buttons: edited where they were posted, and not posted where they
/// were not yet.
pub async fn settle_requests(
    conn: &mut Conn,
    id: ContributionId,
    card: &Reply,
    now: DateTime<Utc>,
) -> Result<()> {
    let requests: Vec<i64> = sqlx::query_scalar(
        "UPDATE announcements SET body = $1, revision = revision + 1
         WHERE contribution_id = $2 AND kind = 'review_request' RETURNING id",
    )
    .bind(serde_json::to_string(card)?)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for request in requests {
        outbox::record_named(conn, request, card, None).await?;
        redaction::replace_posts(conn, request, now).await?;
    }
    Ok(())
}

fn not_waiting(id: ContributionId) -> UserError {
    UserError::not_found(
        format!("contribution #{id} waiting for review"),
        "`review` lists those waiting, with their ids.",
    )
}

async fn member_name(conn: &mut Conn, member: MemberId) -> Result<String> {
    let name: Option<String> = sqlx::query_scalar("SELECT display_name FROM members WHERE id = $1")
        .bind(member)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(name.unwrap_or_default())
}

/// The request that writes `snapshot` as `member`'s contribution in `community`.
fn request(
    community: CommunityId,
    member: MemberId,
    member_name: String,
    s: &Snapshot,
) -> Result<ContributionRequest> {
    Ok(ContributionRequest {
        community,
        member,
        member_name,
        platform: Platform::from_db(&s.platform)
            .ok_or_else(|| Error::internal("a stored platform", s.platform.clone()))?,
        description: s.description.clone(),
        amount: s.amount,
        unit: s.unit.clone(),
        goal: s.goal.clone(),
        value: s.value.clone(),
        day: s.day,
        // It was logged then: its hour, and its member's days to correct it, count
        // from then.
        now: s.logged_at,
    })
}

/// Approves contribution `id`, waiting for review: it is stored as a
/// contribution under the same id, through the writer's own writes (every figure
/// follows, milestones it crosses for the first time are announced), and the
/// approval is kept in the audit trail.
pub async fn approve(
    conn: &mut Conn,
    custom: &CustomHint,
    community: CommunityId,
    id: ContributionId,
    reviewer: MemberId,
    now: DateTime<Utc>,
) -> Result<Refusable<Approved>> {
    let Some(w) = find_waiting(conn, community, id)
        .await?
        .filter(|w| !w.rejected)
    else {
        return Ok(Err(not_waiting(id)));
    };
    sqlx::query("DELETE FROM pending_contributions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let name = member_name(conn, w.member).await?;
    let request = request(community, w.member, name, &w.snapshot)?;
    let recorded = match corrections::put_in(conn, custom, &request, id, true, now).await? {
        Ok(recorded) => recorded,
        Err(refused) => return Ok(Err(refused)),
    };
    record(
        conn,
        &Change {
            community,
            subject: "contribution",
            subject_id: id.0,
            action: "approve",
            member: Some(w.member),
            other: None,
            actor: Some(reviewer),
            before: None,
            after: Some(serde_json::to_value(&w.snapshot)?),
            reason: None,
        },
        now,
    )
    .await?;
    Ok(Ok(Approved {
        waiting: w,
        recorded,
    }))
}

/// Rejects contribution `id`, waiting for review, with `reason`: it stays, marked
/// rejected, for its member to see, until they are forgotten.
pub async fn reject(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    reviewer: MemberId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Refusable<Rejected>> {
    let Some(w) = find_waiting(conn, community, id)
        .await?
        .filter(|w| !w.rejected)
    else {
        return Ok(Err(not_waiting(id)));
    };
    sqlx::query(
        "UPDATE pending_contributions SET status = 'rejected', reviewer_id = $1, reason = $2,
            decided_at = $3
         WHERE id = $4",
    )
    .bind(reviewer)
    .bind(reason)
    .bind(ts(now))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        &Change {
            community,
            subject: "contribution",
            subject_id: id.0,
            action: "reject",
            member: Some(w.member),
            other: None,
            actor: Some(reviewer),
            before: Some(serde_json::to_value(&w.snapshot)?),
            after: None,
            reason: Some(reason),
        },
        now,
    )
    .await?;
    Ok(Ok(Rejected { waiting: w }))
}

/// Edits contribution `id` if `by` may (their own within 7 days of logging it;
/// organisers any): the old one is taken out of every figure and the new one put
/// in by the writer's rules and writes, so it passes its goal's max and review
/// rules again (above `review_above` it waits for review, counting nowhere).
/// Milestones reached only through the old values are retracted; those the new
/// ones cross for the first time are announced.
#[allow(clippy::too_many_arguments)]
pub async fn edit(
    conn: &mut Conn,
    custom: &CustomHint,
    community: CommunityId,
    id: ContributionId,
    by: Corrector,
    change: &ContributionEdit,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Refusable<Edited>> {
    let Some(found) = corrections::find(conn, community, id).await? else {
        if find_waiting(conn, community, id).await?.is_some() {
            return Ok(Err(UserError::invalid(
                format!("Contribution #{id} waits for an organiser's review."),
                "It can be edited once approved; until then an organiser approves or rejects it with `review`.",
            )));
        }
        return Ok(Err(corrections::not_found(id)));
    };
    let Found {
        member, snapshot, ..
    } = &found;
    let member = *member;
    if let Err(refused) = may_correct(by, id, member, snapshot.logged_at, now) {
        return Ok(Err(refused));
    }
    let before = snapshot.clone();
    let after = change.apply(&before);
    let achievements = corrections::achievements_of(conn, id).await?;
    corrections::take_out(conn, community, id, &found).await?;
    let name = member_name(conn, member).await?;
    let request = request(community, member, name, &after)?;
    let recorded = match corrections::put_in(conn, custom, &request, id, false, now).await? {
        Ok(recorded) => recorded,
        Err(refused) => return Ok(Err(refused)),
    };
    // As the rules stored it: the unit its goal counts, the value as the mission
    // spells it.
    let after = Snapshot {
        unit: recorded.unit.clone(),
        value: recorded.value.clone(),
        ..after
    };
    let retracted = corrections::retract_unreached(
        conn,
        community,
        id,
        &achievements,
        member,
        by.member,
        reason,
        now,
    )
    .await?;
    let mut after_json = serde_json::to_value(&after)?;
    if recorded.review.is_some() {
        after_json["pending"] = serde_json::Value::Bool(true);
    }
    record(
        conn,
        &Change {
            community,
            subject: "contribution",
            subject_id: id.0,
            action: "edit",
            member: Some(member),
            other: None,
            actor: Some(by.member),
            before: Some(serde_json::to_value(&before)?),
            after: Some(after_json),
            reason: Some(reason),
        },
        now,
    )
    .await?;
    Ok(Ok(Edited {
        id,
        member,
        before,
        after,
        recorded,
        retracted,
    }))
}

/// A member being erased: their contributions waiting or rejected go; where they
/// reviewed others', the reasons they wrote go.
pub async fn forget_member(conn: &mut Conn, member: MemberId) -> Result<()> {
    sqlx::query("DELETE FROM pending_contributions WHERE member_id = $1")
        .bind(member)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE pending_contributions SET reviewer_id = NULL, reason = NULL WHERE reviewer_id = $1",
    )
    .bind(member)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Two members were merged into `into`: their contributions waiting or rejected,
/// and their reviews, are its.
pub async fn merge_members(conn: &mut Conn, from: MemberId, into: MemberId) -> Result<()> {
    for sql in [
        "UPDATE pending_contributions SET member_id = $2 WHERE member_id = $1",
        "UPDATE pending_contributions SET reviewer_id = $2 WHERE reviewer_id = $1",
    ] {
        sqlx::query(sql)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
