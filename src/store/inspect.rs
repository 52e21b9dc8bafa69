//! The door for tests and benchmarks into the database behind the store: their
//! own SQL, to check the rows an operation left or to set up what no operation
//! writes. Keel's own code never uses it; it goes through the named operations.

use sqlx::SqlitePool;

use super::{Store, WriteTransaction};
use crate::error::Result;

/// The database to read, whichever engine it is.
#[doc(hidden)]
pub enum Inspect<'a> {
    /// The read pool: read-only connections beside the writer.
    Sqlite(&'a SqlitePool),
}

/// A write transaction outside the named operations, whichever engine it is: for
/// a test that writes what no command does, or holds the writer so others queue.
/// Commit it or roll it back; dropped, it is rolled back.
#[doc(hidden)]
pub enum InspectWrite {
    Sqlite(WriteTransaction),
}

impl Store {
    /// The database, to read with a test's own SQL.
    #[doc(hidden)]
    pub fn inspect(&self) -> Inspect<'_> {
        Inspect::Sqlite(&self.sqlite().read)
    }

    /// A write transaction for a test's own SQL; it waits for the writer like any.
    #[doc(hidden)]
    pub async fn inspect_write(&self) -> Result<InspectWrite> {
        Ok(InspectWrite::Sqlite(self.sqlite().begin_write().await?))
    }
}
