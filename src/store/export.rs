//! Exports: a community's data (organisers, for accounting and moving away) or one
//! member's own data (P2), as CSV (contributions, one row each) or JSON (everything).
//!
//! An export streams: rows come from SQLite one at a time, are encoded into small
//! chunks, and a thread of the blocking pool writes the chunks to the sink (a file,
//! standard output, a gzipped spool). Memory stays flat however long the history
//! (RELIABILITY.md R7), and the sink's work (compression, disk) never holds up the
//! threads that answer commands. Every query runs in one read transaction, so the
//! file is one consistent snapshot.

use std::io::{self, Write};

use futures_util::{Stream, StreamExt};
use serde_json::json;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::mpsc;

use super::{communities, contributions, goals, kudos};
use crate::domain::command::ExportFormat;
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};

/// Exports, as the application makes them.
impl super::Store {
    /// Writes a community's export (or one member's) into `sink`, from one read
    /// snapshot.
    pub async fn export<W: Write + Send + 'static>(
        &self,
        community: CommunityId,
        member: Option<MemberId>,
        format: ExportFormat,
        sink: W,
    ) -> Result<Exported<W>> {
        export(&self.sqlite().read, community, member, format, sink).await
    }
}

/// What a file is called and what it holds.
pub struct ExportName {
    pub filename: String,
    pub media_type: &'static str,
}

pub fn name(community: CommunityId, member: Option<MemberId>, format: ExportFormat) -> ExportName {
    let stem = match member {
        Some(m) => format!("keel-member-{m}"),
        None => format!("keel-community-{community}"),
    };
    match format {
        ExportFormat::Csv => ExportName {
            filename: format!("{stem}-contributions.csv"),
            media_type: "text/csv",
        },
        ExportFormat::Json => ExportName {
            filename: format!("{stem}.json"),
            media_type: "application/json",
        },
    }
}

/// How an export ended.
pub enum Exported<W> {
    /// Everything was written; the sink comes back to be finished or closed.
    Done { contributions: u64, sink: W },
    /// The sink refused to grow past its limit ([`io::ErrorKind::FileTooLarge`]).
    TooLarge,
}

/// A chunk this size is handed to the writer; a few wait at most.
const CHUNK: usize = 64 * 1024;
const CHUNKS_WAITING: usize = 4;

/// Writes the export into `sink`, row by row.
pub async fn export<W: Write + Send + 'static>(
    db: &SqlitePool,
    community: CommunityId,
    member: Option<MemberId>,
    format: ExportFormat,
    sink: W,
) -> Result<Exported<W>> {
    let (chunks, mut arriving) = mpsc::channel::<Vec<u8>>(CHUNKS_WAITING);
    let writer = tokio::task::spawn_blocking(move || -> io::Result<W> {
        let mut sink = sink;
        while let Some(chunk) = arriving.blocking_recv() {
            sink.write_all(&chunk)?;
        }
        sink.flush()?;
        Ok(sink)
    });
    let mut out = Chunks {
        buf: Vec::with_capacity(CHUNK),
        to_writer: chunks,
    };
    let encoded = async {
        // A deferred transaction on a read connection: one snapshot, no lock.
        let mut snapshot = db.begin().await?;
        let count = match format {
            ExportFormat::Csv => csv(&mut snapshot, community, member, &mut out).await?,
            ExportFormat::Json => json(&mut snapshot, community, member, &mut out).await?,
        };
        snapshot.commit().await?;
        out.send().await?;
        Ok::<_, Error>(count)
    }
    .await;
    // Closing the channel tells the writer there is no more.
    drop(out);
    let written = writer
        .await
        .map_err(|e| Error::internal("export writer", e))?;
    match (encoded, written) {
        (_, Err(e)) if e.kind() == io::ErrorKind::FileTooLarge => Ok(Exported::TooLarge),
        (_, Err(e)) => Err(Error::internal("writing an export", e)),
        (Err(e), _) => Err(e),
        (Ok(contributions), Ok(sink)) => Ok(Exported::Done {
            contributions,
            sink,
        }),
    }
}

/// Encoded bytes on their way to the writer.
struct Chunks {
    buf: Vec<u8>,
    to_writer: mpsc::Sender<Vec<u8>>,
}

impl Chunks {
    /// Hands the buffer over once it is a chunk.
    async fn flush_full(&mut self) -> Result<()> {
        if self.buf.len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        // The writer stops only on an error, which it reports itself.
        self.to_writer
            .send(chunk)
            .await
            .map_err(|_| Error::internal("export writer", "stopped"))
    }
}

const CSV_HEADER: [&str; 10] = [
    "id",
    "member",
    "day",
    "description",
    "amount",
    "unit",
    "goal",
    "value",
    "platform",
    "created_at",
];

async fn csv(
    db: &mut SqliteConnection,
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
                &super::ts(r.created_at),
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
    db: &mut SqliteConnection,
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
                      "deadline": g.deadline, "open": g.open, "progress": g.progress,
                      "contributions": g.contribution_count, "met_at": g.met_at}),
            )
        }));
        list(goals, out).await?;
    }

    out.buf.extend_from_slice(b",\n\"kudos\": [");
    let given = kudos::each(&mut *db, community, member).map(|k| {
        k.map(
            |k| json!({"from": k.from, "to": k.to, "reason": k.reason, "created_at": k.created_at}),
        )
    });
    list(given, out).await?;

    match member {
        Some(m) => {
            let me = communities::member(&mut *db, community, m).await?;
            let identities: Vec<(String, String)> = sqlx::query_as(
                "SELECT w.platform, i.external_user_id FROM identities i JOIN workspaces w ON w.id = i.workspace_id
                 WHERE i.member_id = ? ORDER BY i.id",
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
        }
        None => {
            out.buf.extend_from_slice(b",\n\"mission_versions\": [");
            let versions = super::sqlite::sql::mission::history(&mut *db, community).await?;
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

/// The items of a JSON list, one per line, and its closing bracket; returns how
/// many there were.
async fn list(
    items: impl Stream<Item = Result<serde_json::Value>>,
    out: &mut Chunks,
) -> Result<u64> {
    let mut items = std::pin::pin!(items);
    let mut count = 0;
    while let Some(item) = items.next().await {
        out.buf
            .extend_from_slice(if count == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut out.buf, &item?)?;
        count += 1;
        out.flush_full().await?;
    }
    out.buf
        .extend_from_slice(if count == 0 { b"]" } else { b"\n]" });
    Ok(count)
}

/// Spreadsheets run cells that start with = + - @ as formulas; a leading
/// apostrophe keeps a member's text as text (CSV injection).
fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
