//! The tests' one door into the database behind `Store` (`Store::inspect` and
//! `Store::inspect_write`): their own SQL, to check the rows a command left, or to
//! set up what no command writes. Everything else goes through the app.
#![allow(dead_code)] // each test file uses its own part

use keel::app::App;
use keel::domain::{CommunityId, GoalId, MemberId};
use keel::store::{Inspect, InspectWrite, Store, WriteTransaction};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, AssertSqlSafe, FromRow, Sqlite, SqliteConnection};

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

/// A type one column decodes to.
pub trait Scalar: Send + Unpin + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> {}
impl<T: Send + Unpin + for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>> Scalar for T {}

/// A type a whole row decodes to (a tuple, usually).
pub trait Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow> {}
impl<T: Send + Unpin + for<'r> FromRow<'r, SqliteRow>> Row for T {}

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
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a query with no arguments, as text, sorted.
pub async fn text_rows(db: &impl HasStore, sql: &str) -> TextRows {
    let found = match db.store().inspect() {
        Inspect::Sqlite(pool) => sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    };
    let mut out: TextRows = found.iter().map(text_of).collect();
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
/// rolled back.
pub async fn writer(db: &impl HasStore) -> Writer {
    match db.store().inspect_write().await.expect("taking the writer") {
        InspectWrite::Sqlite(tx) => Writer { tx },
    }
}

/// A write transaction held by the test.
pub struct Writer {
    tx: WriteTransaction,
}

impl Writer {
    /// The connection, to call the store's own SQL with.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> u64 {
        sqlx::query_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
            .execute(&mut *self.tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected()
    }

    /// The first column of every row of a query, as this transaction sees them.
    pub async fn scalars<T: Scalar>(&mut self, sql: &str, args: &[Arg]) -> Vec<T> {
        sqlx::query_scalar_with(AssertSqlSafe(sql.to_string()), sqlite_arguments(args))
            .fetch_all(&mut *self.tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row of a query with no arguments, as text, sorted, as this
    /// transaction sees them.
    pub async fn text_rows(&mut self, sql: &str) -> TextRows {
        let found = sqlx::query(AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut *self.tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut out: TextRows = found.iter().map(text_of).collect();
        out.sort();
        out
    }

    pub async fn commit(self) {
        self.tx.commit().await.expect("committing");
    }

    pub async fn rollback(self) {
        self.tx.rollback().await.expect("rolling back");
    }
}
