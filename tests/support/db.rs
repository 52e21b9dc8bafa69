//! The tests' one door into the database behind `Store` (`Store::inspect` and
//! `Store::inspect_write`): their own SQL, to check the rows a command left, or to
//! set up what no command writes. Everything else goes through the app.
#![allow(dead_code)] // each test file uses its own part

use keel::app::App;
use keel::domain::{CommunityId, GoalId, MemberId};
use keel::store::{Inspect, InspectWrite, Store};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, AssertSqlSafe, FromRow, Postgres, Sqlite};

/// What has a store: an app, or the store itself.
pub trait HasStore {
    fn store(&self) -> &Store;
}

impl HasStore for App {
    fn store(&self) -> &Store {
        App::store(self)
    }
}

impl HasStore for Store {
    fn store(&self) -> &Store {
        self
    }
}

/// A value for one `?` of a test's SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Real(f64),
    Text(String),
    Null,
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<f64> for Arg {
    fn from(x: f64) -> Self {
        Arg::Real(x)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(value: Option<T>) -> Self {
        value.map_or(Arg::Null, Into::into)
    }
}

impl From<CommunityId> for Arg {
    fn from(id: CommunityId) -> Self {
        Arg::Int(id.0)
    }
}

impl From<MemberId> for Arg {
    fn from(id: MemberId) -> Self {
        Arg::Int(id.0)
    }
}

impl From<GoalId> for Arg {
    fn from(id: GoalId) -> Self {
        Arg::Int(id.0)
    }
}

/// A type one column decodes to, on either engine.
pub trait Scalar:
    Send
    + Unpin
    + for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}
impl<T> Scalar for T where
    T: Send
        + Unpin
        + for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A type a whole row decodes to (a tuple, usually), on either engine.
pub trait Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {}
impl<T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>> Row for T {}

/// The tests write SQLite's `?` placeholders; PostgreSQL numbers them: `$1`, `$2`…
/// (outside quoted text). A numbered one, `?2`, keeps its number.
fn numbered(sql: &str) -> AssertSqlSafe<String> {
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut n, mut quoted) = (0, false);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            // `?1` names its parameter already; a bare `?` takes the next.
            '?' if !quoted => {
                out.push('$');
                if !chars.peek().is_some_and(char::is_ascii_digit) {
                    n += 1;
                    out.push_str(&n.to_string());
                }
            }
            _ => out.push(c),
        }
    }
    AssertSqlSafe(out)
}

/// A NULL whose type PostgreSQL infers from where it stands (parameter type 0,
/// unspecified). A typed one fixes the parameter's type in the statement sqlx
/// caches for that SQL on that connection: a NULL bound as bigint, then a text
/// value for the same column, failed with "incorrect binary data format".
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

fn pg_arguments(args: &[Arg]) -> PgArguments {
    let mut out = PgArguments::default();
    for arg in args {
        match arg {
            Arg::Int(n) => out.add(*n),
            Arg::Real(x) => out.add(*x),
            Arg::Text(s) => out.add(s.clone()),
            Arg::Null => out.add(UntypedNull),
        }
        .expect("binding a test's argument");
    }
    out
}

fn pg_text_of(row: &PgRow) -> Vec<String> {
    use sqlx::Row as _;
    (0..row.len())
        .map(|i| {
            let v: Option<String> = row.try_get::<Option<String>, _>(i).unwrap_or_else(|_| {
                row.try_get::<Option<i64>, _>(i)
                    .map(|n| n.map(|n| n.to_string()))
                    .unwrap_or_else(|_| {
                        row.try_get::<Option<f64>, _>(i)
                            .unwrap()
                            .map(|x| format!("{x:.6}"))
                    })
            });
            v.unwrap_or_else(|| "NULL".into())
        })
        .collect()
}

/// Every row of a query, each column as text (NULL as "NULL", reals to six
/// places): rows of any shape, compared as they are.
pub type TextRows = Vec<Vec<String>>;

fn sqlite_arguments(args: &[Arg]) -> SqliteArguments {
    let mut out = SqliteArguments::default();
    for arg in args {
        match arg {
            Arg::Int(n) => out.add(*n),
            Arg::Real(x) => out.add(*x),
            Arg::Text(s) => out.add(s.clone()),
            Arg::Null => out.add(None::<i64>),
        }
        .expect("binding a test's argument");
    }
    out
}

fn text_of(row: &SqliteRow) -> Vec<String> {
    use sqlx::Row as _;
    (0..row.len())
        .map(|i| {
            let v: Option<String> = row.try_get::<Option<String>, _>(i).unwrap_or_else(|_| {
                row.try_get::<Option<i64>, _>(i)
                    .map(|n| n.map(|n| n.to_string()))
                    .unwrap_or_else(|_| {
                        row.try_get::<Option<f64>, _>(i)
                            .unwrap()
                            .map(|x| format!("{x:.6}"))
                    })
            });
            v.unwrap_or_else(|| "NULL".into())
        })
        .collect()
}

/// The one value of a query's one row.
pub async fn scalar<T: Scalar>(db: &impl HasStore, sql: &str, args: &[Arg]) -> T {
    match db.store().inspect() {
        Inspect::Sqlite(pool) => {
            sqlx::query_scalar_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                .fetch_one(pool)
                .await
        }
        Inspect::Postgres(pool) => {
            sqlx::query_scalar_with(numbered(sql), pg_arguments(args))
                .fetch_one(pool)
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The first column of every row of a query.
pub async fn scalars<T: Scalar>(db: &impl HasStore, sql: &str, args: &[Arg]) -> Vec<T> {
    match db.store().inspect() {
        Inspect::Sqlite(pool) => {
            sqlx::query_scalar_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                .fetch_all(pool)
                .await
        }
        Inspect::Postgres(pool) => {
            sqlx::query_scalar_with(numbered(sql), pg_arguments(args))
                .fetch_all(pool)
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A query's one row.
pub async fn row<T: Row>(db: &impl HasStore, sql: &str, args: &[Arg]) -> T {
    match db.store().inspect() {
        Inspect::Sqlite(pool) => {
            sqlx::query_as_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                .fetch_one(pool)
                .await
        }
        Inspect::Postgres(pool) => {
            sqlx::query_as_with(numbered(sql), pg_arguments(args))
                .fetch_one(pool)
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a query.
pub async fn rows<T: Row>(db: &impl HasStore, sql: &str, args: &[Arg]) -> Vec<T> {
    match db.store().inspect() {
        Inspect::Sqlite(pool) => {
            sqlx::query_as_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                .fetch_all(pool)
                .await
        }
        Inspect::Postgres(pool) => {
            sqlx::query_as_with(numbered(sql), pg_arguments(args))
                .fetch_all(pool)
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Keel's own tables (not the engine's, not the migration log), by name.
pub async fn tables(db: &impl HasStore) -> Vec<String> {
    let sql = match db.store().inspect() {
        Inspect::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        Inspect::Postgres(_) => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND table_name <> '_sqlx_migrations' ORDER BY 1"
        }
    };
    scalars(db, sql, &[]).await
}

/// A table's columns, in order.
pub async fn columns(db: &impl HasStore, table: &str) -> Vec<String> {
    let sql = match db.store().inspect() {
        Inspect::Sqlite(_) => "SELECT name FROM pragma_table_info(?) ORDER BY cid",
        Inspect::Postgres(_) => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
        }
    };
    scalars(db, sql, &[table.into()]).await
}

/// The engine's function that writes a value as an SQL literal (NULL included).
pub fn quote(db: &impl HasStore) -> &'static str {
    match db.store().inspect() {
        Inspect::Sqlite(_) => "quote",
        Inspect::Postgres(_) => "quote_nullable",
    }
}

/// Every row of a query with no arguments, as text, sorted.
pub async fn text_rows(db: &impl HasStore, sql: &str) -> TextRows {
    let mut out: TextRows = match db.store().inspect() {
        Inspect::Sqlite(pool) => sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(text_of)
            .collect(),
        Inspect::Postgres(pool) => sqlx::query(numbered(sql))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(pg_text_of)
            .collect(),
    };
    out.sort();
    out
}

/// Runs one statement in a write transaction of its own; returns how many rows
/// it changed.
pub async fn execute(db: &impl HasStore, sql: &str, args: &[Arg]) -> u64 {
    let mut writer = writer(db).await;
    let changed = writer.execute(sql, args).await;
    writer.commit().await;
    changed
}

/// Takes the writer, as any write does: others wait until it is committed or
/// rolled back. On PostgreSQL that is every community's lock, which each write
/// for a community takes first.
pub async fn writer(db: &impl HasStore) -> Writer {
    match db.store().inspect_write().await.expect("taking the writer") {
        write @ InspectWrite::Sqlite(_) => Writer(write),
        // PostgreSQL has no one writer to hold: the test's transaction locks every
        // community instead, so the writes it holds back queue behind it.
        write @ InspectWrite::Postgres(_) => {
            let mut writer = Writer(write);
            writer
                .execute("SELECT 1 FROM communities ORDER BY id FOR UPDATE", &[])
                .await;
            writer
        }
    }
}

/// A write transaction held by the test.
pub struct Writer(InspectWrite);

impl Writer {
    /// The store's own steps (rebuilds, requests), run in this transaction.
    pub fn steps(&mut self) -> &mut InspectWrite {
        &mut self.0
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> u64 {
        match &mut self.0 {
            InspectWrite::Sqlite(tx) => {
                sqlx::query_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                    .execute(&mut **tx)
                    .await
                    .map(|done| done.rows_affected())
            }
            InspectWrite::Postgres(tx) => sqlx::query_with(numbered(sql), pg_arguments(args))
                .execute(&mut **tx)
                .await
                .map(|done| done.rows_affected()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first column of every row of a query, as this transaction sees them.
    pub async fn scalars<T: Scalar>(&mut self, sql: &str, args: &[Arg]) -> Vec<T> {
        match &mut self.0 {
            InspectWrite::Sqlite(tx) => {
                sqlx::query_scalar_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
                    .fetch_all(&mut **tx)
                    .await
            }
            InspectWrite::Postgres(tx) => {
                sqlx::query_scalar_with(numbered(sql), pg_arguments(args))
                    .fetch_all(&mut **tx)
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row of a query with no arguments, as text, sorted, as this
    /// transaction sees them.
    pub async fn text_rows(&mut self, sql: &str) -> TextRows {
        let mut out: TextRows = match &mut self.0 {
            InspectWrite::Sqlite(tx) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut **tx)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(text_of)
                .collect(),
            InspectWrite::Postgres(tx) => sqlx::query(numbered(sql))
                .fetch_all(&mut **tx)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(pg_text_of)
                .collect(),
        };
        out.sort();
        out
    }

    pub async fn commit(self) {
        match self.0 {
            InspectWrite::Sqlite(tx) => tx.commit().await.expect("committing"),
            InspectWrite::Postgres(tx) => tx.commit().await.expect("committing"),
        }
    }

    pub async fn rollback(self) {
        match self.0 {
            InspectWrite::Sqlite(tx) => tx.rollback().await.expect("rolling back"),
            InspectWrite::Postgres(tx) => tx.rollback().await.expect("rolling back"),
        }
    }
}
