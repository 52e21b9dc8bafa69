//! An export's reads (see `store::export`): every row comes from one read
//! snapshot, streamed and encoded into chunks as it is read.

use futures_util::StreamExt;
use serde_json::json;

use super::{Conn, Pool};
use super::{communities, contributions, goals, kudos};
use crate::domain::command::ExportFormat;
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};
use crate::store::export::{CHUNK, CSV_HEADER, Chunks, list, neutralise_formula};
use crate::store::ts;

/// Encodes the export into `out` from one read snapshot; returns how many
/// contributions it holds.
pub async fn encode(
    db: &Pool,
    community: CommunityId,
    member: Option<MemberId>,
    format: ExportFormat,
    out: &mut Chunks,
) -> Result<u64> {
    // A deferred transaction on a read connection: one snapshot, no lock.
    let mut snapshot = super::super::engine::snapshot(db).await?;
    let count = match format {
        ExportFormat::Csv => csv(&mut snapshot, community, member, out).await?,
        ExportFormat::Json => json(&mut snapshot, community, member, out).await?,
    };
    snapshot.commit().await?;
    Ok(count)
}

async fn csv(
    db: &mut Conn,
    community: CommunityId,
    member: Option<MemberId>,
    out: &mut Chunks,
) -> Result<u64> {
    let failed = |e: csv::Error| Error::internal("csv export", e);
    let mut count = 0;
    let mut rows = contributions::each(db, community, member);
    // Each encoder fills one chunk, then hands it over whole.
    let new_encoder = || csv::Writer::from_writer(Vec::with_capacity(CHUNK + 1024));
    let handed = |encoder: csv::Writer<Vec<u8>>| {
        encoder
            .into_inner()
            .map_err(|e| Error::internal("csv export", e.into_error()))
    };
    let mut encoder = new_encoder();
    encoder.write_record(CSV_HEADER).map_err(failed)?;
    while let Some(r) = rows.next().await {
        let r = r?;
        encoder
            .write_record([
                r.id.to_string().as_str(),
                &neutralise_formula(&r.member),
                &r.day.to_string(),
                &neutralise_formula(&r.description),
                &r.amount.map(|a| a.to_string()).unwrap_or_default(),
                &neutralise_formula(r.unit.as_deref().unwrap_or_default()),
                r.goal.as_deref().unwrap_or_default(),
                &neutralise_formula(r.value.as_deref().unwrap_or_default()),
                &r.platform,
                &ts(r.created_at),
            ])
            .map_err(failed)?;
        count += 1;
        if encoder.get_ref().len() >= CHUNK {
            out.buf
                .append(&mut handed(std::mem::replace(&mut encoder, new_encoder()))?);
            out.flush_full().await?;
        }
    }
    out.buf.append(&mut handed(encoder)?);
    Ok(count)
}

/// The JSON document, written as it is read: its keys in the order a JSON object
/// map sorts them, one record per line in each list.
async fn json(
    db: &mut Conn,
    community: CommunityId,
    member: Option<MemberId>,
    out: &mut Chunks,
) -> Result<u64> {
    let name = communities::community(&mut *db, community).await?.name;
    out.buf
        .extend_from_slice(format!("{{\n\"community\": {},\n", json!(name)).as_bytes());

    out.buf.extend_from_slice(b"\"contributions\": [");
    let rows = contributions::each(&mut *db, community, member).map(|r| {
        r.map(|r| {
            json!({
                "id": r.id.0, "member": r.member, "day": r.day, "description": r.description,
                "amount": r.amount, "unit": r.unit, "goal": r.goal, "value": r.value,
                "platform": r.platform, "created_at": r.created_at,
            })
        })
    });
    let count = list(rows, out).await?;

    if member.is_none() {
        out.buf.extend_from_slice(b",\n\"goals\": [");
        let goals = goals::list(&mut *db, community, true).await?;
        let goals = futures_util::stream::iter(goals.into_iter().map(|g| {
            Ok(
                json!({"slug": g.slug, "title": g.title, "target": g.target, "unit": g.unit,
                      "max": g.max_amount, "review_above": g.review_above,
                      "deadline": g.deadline, "open": g.open, "progress": g.progress,
                      "contributions": g.contribution_count, "met_at": g.met_at}),
            )
        }));
        list(goals, out).await?;
    }

    out.buf.extend_from_slice(b",\n\"kudos\": [");
    let given = kudos::each(&mut *db, community, member).map(|k| {
        k.map(
            |k| json!({"id": k.id, "from": k.from, "to": k.to, "reason": k.reason, "created_at": k.created_at}),
        )
    });
    list(given, out).await?;

    match member {
        Some(m) => {
            let me = communities::member(&mut *db, community, m).await?;
            let identities: Vec<(String, String)> = sqlx::query_as(
                "SELECT w.platform, i.external_user_id FROM identities i JOIN workspaces w ON w.id = i.workspace_id
                 WHERE i.member_id = $1 ORDER BY i.id",
            )
            .bind(m)
            .fetch_all(&mut *db)
            .await?;
            let me = json!({
                "display_name": me.as_ref().map(|m| m.display_name.clone()),
                "joined_at": me.as_ref().map(|m| m.joined_at.clone()),
                "away_since": me.as_ref().and_then(|m| m.away_since.clone()),
                "identities": identities.iter().map(|(p, id)| json!({"platform": p, "user_id": id})).collect::<Vec<_>>(),
            });
            out.buf
                .extend_from_slice(format!(",\n\"member\": {me}").as_bytes());
            out.buf.extend_from_slice(b",\n\"events\": [");
            list(member_events(&mut *db, m), out).await?;
            out.buf.extend_from_slice(b",\n\"introductions\": [");
            let introductions = super::pairing::history(&mut *db, m).await?;
            let introductions =
                futures_util::stream::iter(introductions.into_iter().map(|(at, with, met)| {
                    Ok(json!({"at": at, "with": with, "met": met.map(|m| m != 0)}))
                }));
            list(introductions, out).await?;
        }
        None => {
            out.buf.extend_from_slice(b",\n\"mission_versions\": [");
            let versions = super::mission::history(&mut *db, community).await?;
            let versions = futures_util::stream::iter(versions.into_iter().map(|v| {
                Ok(
                    json!({"version": v.version, "statement": v.statement, "values": v.values,
                          "author": v.author, "reason": v.reason, "created_at": v.created_at}),
                )
            }));
            list(versions, out).await?;
        }
    }
    out.buf.extend_from_slice(b"\n}\n");
    Ok(count)
}

/// The events a member answered or attended: their answer and how their
/// attendance was recorded, oldest event first.
fn member_events(
    db: &mut Conn,
    member: MemberId,
) -> impl futures_util::Stream<Item = Result<serde_json::Value>> + '_ {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    sqlx::query_as::<_, Row>(
        "SELECT e.id, e.title, e.starts_at, r.answer, r.answered_at, r.waitlisted,
                a.checked_in_at, a.recorded_at, a.contribution_id
           FROM events e
           LEFT JOIN event_rsvps r ON r.event_id = e.id AND r.member_id = $1
           LEFT JOIN event_attendance a ON a.event_id = e.id AND a.member_id = $1
          WHERE r.member_id IS NOT NULL OR a.member_id IS NOT NULL
          ORDER BY e.starts_at, e.id",
    )
    .bind(member)
    .fetch(db)
    .map(|row| {
        let (id, title, starts_at, answer, answered_at, waitlisted, checked_in, recorded, counted) =
            row?;
        Ok(json!({
            "event": id, "title": title, "starts_at": starts_at, "answer": answer,
            "answered_at": answered_at, "waitlisted": waitlisted.map(|w| w != 0),
            "checked_in_at": checked_in, "attendance_recorded_at": recorded,
            "contribution": counted,
        }))
    })
}
