//! PostgreSQL's own statements for the demo generator: numbering its rows.

use sqlx::PgConnection;

use crate::error::Result;
use crate::store::built;

/// The next id of a table, taken from its sequence: the demo numbers its rows
/// from it, and [`numbered`] moves the sequence past them afterwards.
pub async fn next_id(conn: &mut PgConnection, table: &'static str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence($1, 'id'))")
            .bind(table)
            .fetch_one(conn)
            .await?,
    )
}

/// Moves a table's sequence past the ids the demo gave its rows by hand (never
/// back: ids of erased rows are not handed out again).
pub async fn numbered(conn: &mut PgConnection, table: &'static str) -> Result<()> {
    let sequence: String = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
        .bind(table)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(built(format!(
        "SELECT setval('{sequence}', GREATEST((SELECT last_value FROM {sequence}),
                                              (SELECT COALESCE(MAX(id), 1) FROM {table})))"
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives the planner statistics of what the demo just wrote. Autovacuum would,
/// in a while; until then PostgreSQL plans for empty tables, and reads every
/// member of a community of 100,000 to name ten.
pub async fn analyze(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}
