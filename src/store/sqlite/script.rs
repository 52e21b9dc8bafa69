//! Several statements sent to SQLite's thread in one trip.
//!
//! sqlx runs each connection on its own thread, and every statement is a round
//! trip to it: a wake-up there and one back. On a busy machine each trip waits for
//! a CPU (a few hundred microseconds under load), which came to most of the
//! contribution writer's time. A script holds the writer's fixed statements, each
//! reading its rows from one JSON argument, so a batch is one trip whatever its
//! size, and the script's text is the same every time, so SQLite prepares it once
//! per connection.
//!
//! It relies on sqlx's SQLite driver running every statement of a query (sqlx
//! binds each statement's `?` in turn). That is SQLite-only behaviour sqlx calls
//! deprecated for general use (launchbadge/sqlx#3108); the tests of the
//! contribution writer cover it, so an upgrade that drops it fails them.

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::sqlite::{SqliteArguments, SqliteQueryResult, SqliteRow};
use sqlx::{Arguments, Either, Executor, SqliteConnection};

use super::built;
use crate::error::{Error, Result};

/// Statements to run in one trip, in order, each with its own arguments.
#[derive(Default)]
pub struct Script {
    sql: String,
    arguments: SqliteArguments,
    statements: usize,
}

/// What one statement of a script did.
pub struct Outcome {
    pub rows: Vec<SqliteRow>,
    pub result: SqliteQueryResult,
}

/// A statement's place in its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step(usize);

impl Script {
    /// Adds a statement whose `?` placeholders take `arguments`, in order.
    pub fn push(&mut self, sql: &str, arguments: &[&str]) -> Result<Step> {
        debug_assert_eq!(sql.matches('?').count(), arguments.len());
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        for argument in arguments {
            self.arguments
                .add(argument.to_string())
                .map_err(|e| Error::internal("binding a script argument", e))?;
        }
        self.statements += 1;
        Ok(Step(self.statements - 1))
    }

    /// Adds a statement that reads its rows from one JSON array, unless there are
    /// none.
    pub fn push_rows<T: Serialize>(&mut self, sql: &str, rows: &[T]) -> Result<()> {
        if !rows.is_empty() {
            self.push(sql, &[&serde_json::to_string(rows)?])?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.statements == 0
    }

    /// Runs every statement, if any, for their effect alone.
    pub async fn execute(self, conn: &mut SqliteConnection) -> Result<()> {
        if !self.is_empty() {
            self.run(conn, |_| {}).await?;
        }
        Ok(())
    }

    /// Runs every statement, calling `landed` with each step as soon as SQLite has
    /// finished it, while the statements after it still run; stops at the first
    /// that fails.
    pub async fn run(
        self,
        conn: &mut SqliteConnection,
        mut landed: impl FnMut(Step),
    ) -> Result<Outcomes> {
        let expected = self.statements;
        let query = sqlx::query_with(built(self.sql), self.arguments);
        let mut stream = conn.fetch_many(query);
        let mut outcomes = Vec::with_capacity(expected);
        let mut rows = Vec::new();
        while let Some(step) = stream.try_next().await? {
            match step {
                Either::Right(row) => rows.push(row),
                Either::Left(result) => {
                    outcomes.push(Outcome {
                        rows: std::mem::take(&mut rows),
                        result,
                    });
                    landed(Step(outcomes.len() - 1));
                }
            }
        }
        if outcomes.len() != expected {
            return Err(Error::internal(
                "running a script",
                format!("{} of its {expected} statements answered", outcomes.len()),
            ));
        }
        Ok(Outcomes(outcomes))
    }
}

/// Each statement's outcome, by its step.
pub struct Outcomes(Vec<Outcome>);

impl Outcomes {
    pub fn get(&self, step: Step) -> &Outcome {
        &self.0[step.0]
    }

    /// The rows a statement returned, decoded.
    pub fn rows<T>(&self, step: Step) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow>,
    {
        Ok(self
            .get(step)
            .rows
            .iter()
            .map(T::from_row)
            .collect::<std::result::Result<_, _>>()?)
    }
}
