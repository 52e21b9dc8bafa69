//! The door for tests and benchmarks into the database behind the store: their
//! own SQL, to check the rows an operation left or to set up what no operation
//! writes. Keel's own code never uses it; it goes through the named operations.

use sqlx::{PgPool, Postgres, SqlitePool, Transaction};

use super::{Engine, Store, WriteTransaction};
use chrono::{DateTime, NaiveDate, Utc};

use super::forget::Reason;
use super::outbox::NewAnnouncement;
use super::windows::Counted;
use crate::domain::{AnnouncementId, CommunityId, MemberId, WorkspaceId};
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

/// Runs `$body` on the test's transaction, with `sql` and `native` the engine's.
macro_rules! on_transaction {
    ($write:expr, $tx:ident => $body:expr) => {
        match $write {
            InspectWrite::Sqlite($tx) => {
                #[allow(unused_imports)]
                use super::sqlite::{native, sql};
                $body
            }
            InspectWrite::Postgres($tx) => {
                #[allow(unused_imports)]
                use super::postgres::{native, sql};
                $body
            }
        }
    };
}

/// Steps of the named operations, inside a test's own transaction, for tests
/// that interleave them with other work (a step, then a restart).
#[doc(hidden)]
impl InspectWrite {
    /// Rebuilds a community's rollups and insights from its members' daily rows.
    pub async fn rebuild_rollups(&mut self, community: CommunityId) -> Result<()> {
        on_transaction!(self, tx => {
            sql::activity::rebuild(&mut *tx, community).await?;
            native::insights::rebuild(&mut *tx, community).await
        })
    }

    /// Requests a member's erasure as `forget-me confirm` does, without running it.
    pub async fn request_erasure(
        &mut self,
        member: MemberId,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        on_transaction!(self, tx => sql::forget::request(&mut *tx, member, reason, now).await)
    }

    /// Begins merging `from` into `into`, as linking identities does, without
    /// moving anything yet.
    pub async fn begin_merge(
        &mut self,
        community: CommunityId,
        from: MemberId,
        into: MemberId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_transaction!(self, tx => sql::links::begin_merge(&mut *tx, community, from, into, now).await)
    }

    /// Queues a direct message to `recipient` in `workspace`.
    pub async fn enqueue_direct(
        &mut self,
        new: &NewAnnouncement<'_>,
        workspace: WorkspaceId,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<AnnouncementId> {
        on_transaction!(self, tx => {
            sql::outbox::enqueue_direct(&mut *tx, new, workspace, recipient, now).await
        })
    }

    /// Applies window counts made earlier (see [`Store::count_windows_since_marks`]).
    pub async fn catch_up_counted(
        &mut self,
        community: CommunityId,
        today: NaiveDate,
        counted: Option<Counted>,
    ) -> Result<()> {
        on_transaction!(self, tx => {
            sql::windows::catch_up_counted(&mut *tx, community, today, counted).await
        })
    }
}

#[doc(hidden)]
impl Store {
    /// Counts a community's new window rows on a read snapshot, the first half of
    /// [`Store::catch_up_windows`].
    pub async fn count_windows_since_marks(
        &self,
        community: CommunityId,
    ) -> Result<Option<Counted>> {
        on_engine!(self, e => sql::windows::count_since_marks(&e.read, community).await)
    }
}
