//! The door for tests and benchmarks into the database behind the store: their
//! own SQL, to check the rows an operation left or to set up what no operation
//! writes. Keel's own code never uses it; it goes through the named operations.

use sqlx::{PgPool, Postgres, SqlitePool, Transaction};

use super::{Engine, Store, WriteTransaction};
use crate::error::Result;

/// The database to read, whichever engine it is.
#[doc(hidden)]
pub enum Inspect<'a> {
    /// The read pool: read-only connections beside the writer.
    Sqlite(&'a SqlitePool),
    /// The pool, which writes share.
    Postgres(&'a PgPool),
}

/// A write transaction outside the named operations, whichever engine it is: for
/// a test that writes what no command does, or holds the writer so others queue.
/// Commit it or roll it back; dropped, it is rolled back.
#[doc(hidden)]
pub enum InspectWrite {
    Sqlite(WriteTransaction),
    Postgres(Transaction<'static, Postgres>),
}

impl Store {
    /// The database, to read with a test's own SQL.
    #[doc(hidden)]
    pub fn inspect(&self) -> Inspect<'_> {
        match &self.engine {
            Engine::Sqlite(b) => Inspect::Sqlite(&b.read),
            Engine::Postgres(b) => Inspect::Postgres(&b.read),
        }
    }

    /// A write transaction for a test's own SQL; it waits for the writer like any.
    #[doc(hidden)]
    pub async fn inspect_write(&self) -> Result<InspectWrite> {
        Ok(match &self.engine {
            Engine::Sqlite(b) => InspectWrite::Sqlite(b.begin_write().await?),
            Engine::Postgres(b) => InspectWrite::Postgres(b.read.begin().await?),
        })
    }
}
