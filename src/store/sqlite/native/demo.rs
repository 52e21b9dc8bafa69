//! SQLite's own statements for the demo generator: numbering its rows.

use sqlx::SqliteConnection;

use crate::error::Result;
use crate::store::built;

/// The next id of an AUTOINCREMENT table: above every id it ever had, so ids of
/// erased rows are never handed out again. Only the holder of the write lock may
/// number rows (the contribution writer lets AUTOINCREMENT number its batches).
pub async fn next_id(conn: &mut SqliteConnection, table: &'static str) -> Result<i64> {
    let next: i64 = sqlx::query_scalar(built(format!(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),
                    COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1"
    )))
    .fetch_one(&mut *conn)
    .await?;
    Ok(next)
}

/// SQLite's AUTOINCREMENT follows the ids given by hand by itself.
pub async fn numbered(_conn: &mut SqliteConnection, _table: &'static str) -> Result<()> {
    Ok(())
}

/// Nothing to do: Keel's SQLite statements are planned without statistics, and
/// its indexes were chosen for those plans (migration 0008).
pub async fn analyze(_pool: &sqlx::SqlitePool) -> Result<()> {
    Ok(())
}
