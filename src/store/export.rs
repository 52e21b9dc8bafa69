//! Exports: a community's data (organisers, for accounting and moving away) or one
//! member's own data (P2), as CSV (contributions, one row each) or JSON (everything).
//!
//! An export streams: rows come from the database one at a time, are encoded into
//! small chunks, and a thread of the blocking pool writes the chunks to the sink (a
//! file, standard output, a gzipped spool). Memory stays flat however long the history
//! (RELIABILITY.md R7), and the sink's work (compression, disk) never holds up the
//! threads that answer commands. Every query runs in one read transaction, so the
//! file is one consistent snapshot.

use std::io::{self, Write};

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::domain::command::ExportFormat;
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};

/// Exports, as the application makes them.
impl super::Store {
    /// Writes a community's export (or one member's) into `sink`, row by row, from
    /// one read snapshot.
    pub async fn export<W: Write + Send + 'static>(
        &self,
        community: CommunityId,
        member: Option<MemberId>,
        format: ExportFormat,
        sink: W,
    ) -> Result<Exported<W>> {
        self.write_streamed(sink, async |out| {
            on_engine!(self, e => {
                sql::export::encode(&e.read, community, member, format, out).await
            })
        })
        .await
    }

    /// Runs `encode`, which fills chunks as it reads, while a thread of the
    /// blocking pool writes the chunks into `sink`.
    pub(super) async fn write_streamed<W: Write + Send + 'static>(
        &self,
        sink: W,
        encode: impl AsyncFnOnce(&mut Chunks) -> Result<u64>,
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
            let count = encode(&mut out).await?;
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
            (Ok(rows), Ok(sink)) => Ok(Exported::Done { rows, sink }),
        }
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

/// The health lists' export of a community.
pub fn health_name(community: CommunityId) -> ExportName {
    ExportName {
        filename: format!("keel-community-{community}-health.csv"),
        media_type: "text/csv",
    }
}

/// How an export ended.
pub enum Exported<W> {
    /// Everything was written: `rows` records (contributions, or names on the
    /// health lists); the sink comes back to be finished or closed.
    Done { rows: u64, sink: W },
    /// The sink refused to grow past its limit ([`io::ErrorKind::FileTooLarge`]).
    TooLarge,
}

/// A chunk this size is handed to the writer; a few wait at most.
pub(super) const CHUNK: usize = 64 * 1024;
const CHUNKS_WAITING: usize = 4;

/// Encoded bytes on their way to the writer.
pub(super) struct Chunks {
    pub(super) buf: Vec<u8>,
    to_writer: mpsc::Sender<Vec<u8>>,
}

impl Chunks {
    /// Hands the buffer over once it is a chunk.
    pub(super) async fn flush_full(&mut self) -> Result<()> {
        if self.buf.len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    pub(super) async fn send(&mut self) -> Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        // The writer stops only on an error, which it reports itself.
        self.to_writer
            .send(chunk)
            .await
            .map_err(|_| Error::internal("export writer", "stopped"))
    }
}

pub(super) const CSV_HEADER: [&str; 10] = [
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

/// The items of a JSON list, one per line, and its closing bracket; returns how
/// many there were.
pub(super) async fn list(
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
pub(super) fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
