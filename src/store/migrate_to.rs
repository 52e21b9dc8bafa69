//! `keel migrate-to postgres://…`: moves a SQLite database into an empty
//! PostgreSQL one, so an operator who outgrows one file keeps their history.
//!
//! It runs while Keel is stopped, holding the SQLite file's lock, reads the file
//! on one snapshot and writes PostgreSQL in one transaction: the copy is whole or
//! absent. Every id is kept (members quote `#123`), and each sequence is set past
//! the highest id the table ever had, so erased rows' ids are never handed out
//! again. The counters PostgreSQL's triggers keep are copied as they are, after
//! the rows whose insertion made the triggers count them a second time. Then
//! every table's rows are counted on both sides.

use std::str::FromStr;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Arguments, ConnectOptions, Connection, Executor, Row, SqliteConnection};

use super::backup::DatabaseLock;
use super::{built, numbered_values, redact_url};
use crate::error::{Error, Result};

/// Tables in an order that satisfies their foreign keys. Not copied, as they
/// say what running processes do, and none runs during the move:
/// delivery_leases and discord_identify_turns (PostgreSQL's starts afresh).
const TABLES: &[&str] = &[
    "communities",
    "workspaces",
    "members",
    "identities",
    "mission_versions",
    "goals",
    "contributions",
    "milestones",
    "milestone_achievements",
    "kudos",
    "member_daily_activity",
    "community_daily_activity",
    "member_window_totals",
    "community_windows",
    "community_window_marks",
    "goal_daily_progress",
    "link_codes",
    "announcements",
    "announcement_deliveries",
    "announcement_members",
    "schedules",
    "schedule_runs",
    "slack_installations",
    "slack_install_states_used",
    "slack_inbox",
    "cohort_activity",
    "community_hourly_activity",
    "member_signals",
    "community_signal_marks",
    "member_signal_dirty",
    "member_unit_amounts",
    "erasures",
    "merges",
    "record_changes",
    "pending_contributions",
    "events",
    "event_rsvps",
    "event_attendance",
    "event_reminders",
    "discord_scheduled_events",
    "pairing_schedules",
    "pairing_members",
    "pairing_avoids",
    "pairing_rounds",
    "pairing_groups",
    "pairing_group_members",
    // Kept by triggers on the tables above: emptied of what the triggers counted
    // while those were copied, then copied as they were.
    "member_window_histogram",
    "community_daily_members",
    "community_last_active",
    "community_conversion",
    "community_signal_counts",
    "community_milestone_moments",
];

const COUNTED_BY_TRIGGERS: &[&str] = &[
    "member_window_histogram",
    "community_daily_members",
    "community_last_active",
    "community_conversion",
    "community_signal_counts",
    "community_milestone_moments",
];

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table.
const CHUNK: usize = 1000;

/// How the copy went: rows per table.
pub struct Migrated {
    pub tables: Vec<(&'static str, i64)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Real,
    Text,
    Bytes,
}

/// Copies the SQLite database at `sqlite_url` into the PostgreSQL database at
/// `postgres_url`, which must hold no Keel data yet.
pub async fn migrate_to(sqlite_url: &str, postgres_url: &str) -> Result<Migrated> {
    if !(postgres_url.starts_with("postgres://") || postgres_url.starts_with("postgresql://")) {
        return Err(Error::internal(
            "migrate-to",
            "name the PostgreSQL database to copy into: keel migrate-to postgres://USER:PASSWORD@HOST/DATABASE",
        ));
    }
    let path = super::backup::database_path(sqlite_url)?;
    if !path.exists() {
        return Err(Error::internal(
            "migrate-to",
            format!("there is no SQLite database at {}", path.display()),
        ));
    }
    let _lock = DatabaseLock::exclusive(&path)?;
    // Brings the file up to the current schema first, as any start would.
    super::sqlite::Backend::open(&super::StoreOptions::new(sqlite_url.to_string()))
        .await?
        .close()
        .await;
    let mut sqlite = SqliteConnectOptions::from_str(sqlite_url)
        .map_err(|e| Error::internal("database url", e))?
        .read_only(true)
        .connect()
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            PgConnectOptions::from_str(postgres_url)
                .map_err(|e| Error::internal("database url", e))?,
        )
        .await
        .map_err(|e| {
            Error::internal(
                "connecting to PostgreSQL",
                format!("{} ({e})", redact_url(postgres_url)),
            )
        })?;
    super::postgres::MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| Error::internal("applying migrations", e))?;
    let mut pg = pool.acquire().await?;
    let held: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM communities) + (SELECT count(*) FROM slack_installations)",
    )
    .fetch_one(&mut *pg)
    .await?;
    if held > 0 {
        return Err(Error::internal(
            "migrate-to",
            format!(
                "{} already holds Keel data; migrate into an empty database",
                redact_url(postgres_url)
            ),
        ));
    }

    sqlx::raw_sql("BEGIN").execute(&mut sqlite).await?;
    let mut tx = pg.begin().await?;
    let mut tables = Vec::new();
    for &table in TABLES {
        if COUNTED_BY_TRIGGERS.contains(&table) {
            sqlx::query(built(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let copied = copy_table(&mut sqlite, &mut tx, table).await?;
        tables.push((table, copied));
    }
    for &table in TABLES {
        if columns(&mut tx, table)
            .await?
            .iter()
            .any(|(name, _)| name == "id")
        {
            set_sequence_past(&mut sqlite, &mut tx, table).await?;
        }
    }
    for (table, copied) in &tables {
        let there: i64 = sqlx::query_scalar(built(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *tx)
            .await?;
        if there != *copied {
            return Err(Error::internal(
                "migrate-to",
                format!("{table}: {copied} rows read, {there} in PostgreSQL; nothing was kept"),
            ));
        }
    }
    tx.commit().await?;
    sqlx::raw_sql("COMMIT").execute(&mut sqlite).await?;
    Ok(Migrated { tables })
}

/// The table's columns in PostgreSQL, with how to carry each.
async fn columns(pg: &mut sqlx::PgConnection, table: &str) -> Result<Vec<(String, Kind)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *pg)
    .await?;
    rows.into_iter()
        .map(|(name, kind)| {
            let kind = match kind.as_str() {
                "bigint" | "integer" => Kind::Integer,
                "double precision" | "real" => Kind::Real,
                "text" => Kind::Text,
                "bytea" => Kind::Bytes,
                other => {
                    return Err(Error::internal(
                        "migrate-to",
                        format!("{table}.{name} has a type the copy does not carry: {other}"),
                    ));
                }
            };
            Ok((name, kind))
        })
        .collect()
}

async fn copy_table(
    sqlite: &mut SqliteConnection,
    pg: &mut sqlx::PgConnection,
    table: &str,
) -> Result<i64> {
    let columns = columns(pg, table).await?;
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let list = names.join(", ");
    let order = if names.contains(&"id") {
        " ORDER BY id"
    } else {
        ""
    };
    let select = format!("SELECT {list} FROM {table}{order}");
    let mut rows = sqlite.fetch(built(select));
    let mut chunk: Vec<SqliteRow> = Vec::with_capacity(CHUNK);
    let mut copied = 0i64;
    while let Some(row) = rows.try_next().await? {
        chunk.push(row);
        if chunk.len() == CHUNK {
            copied += insert(pg, table, &list, &columns, &chunk).await?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        copied += insert(pg, table, &list, &columns, &chunk).await?;
    }
    Ok(copied)
}

async fn insert(
    pg: &mut sqlx::PgConnection,
    table: &str,
    list: &str,
    columns: &[(String, Kind)],
    rows: &[SqliteRow],
) -> Result<i64> {
    let mut arguments = PgArguments::default();
    for row in rows {
        for (i, (_, kind)) in columns.iter().enumerate() {
            let added = match kind {
                Kind::Integer => arguments.add(row.try_get::<Option<i64>, _>(i)?),
                Kind::Real => arguments.add(row.try_get::<Option<f64>, _>(i)?),
                Kind::Text => arguments.add(row.try_get::<Option<String>, _>(i)?),
                Kind::Bytes => arguments.add(row.try_get::<Option<Vec<u8>>, _>(i)?),
            };
            added.map_err(|e| Error::internal("migrate-to", e))?;
        }
    }
    let sql = format!(
        "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES {}",
        numbered_values(1, rows.len(), columns.len())
    );
    let done = sqlx::query_with(built(sql), arguments)
        .execute(&mut *pg)
        .await?;
    Ok(done.rows_affected() as i64)
}

/// Moves a table's id sequence past every id it ever had: SQLite's AUTOINCREMENT
/// high-water mark, which counts erased rows too.
async fn set_sequence_past(
    sqlite: &mut SqliteConnection,
    pg: &mut sqlx::PgConnection,
    table: &str,
) -> Result<()> {
    let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
        .bind(table)
        .fetch_one(&mut *pg)
        .await?;
    let Some(sequence) = sequence else {
        return Ok(());
    };
    let high: i64 = sqlx::query_scalar(built(format!(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),
                    COALESCE((SELECT MAX(id) FROM {table}), 0))"
    )))
    .fetch_one(&mut *sqlite)
    .await?;
    if high > 0 {
        sqlx::query("SELECT setval($1::regclass, $2)")
            .bind(sequence)
            .bind(high)
            .execute(&mut *pg)
            .await?;
    }
    Ok(())
}
