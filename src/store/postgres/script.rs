//! Several statements run in turn on one connection, with the API of SQLite's
//! script (store/sqlite/script.rs), so the code that assembles a batch's
//! statements is written once. PostgreSQL answers each statement in its own
//! round trip, which on a local socket is a small part of a batch's time.

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::postgres::{PgArguments, PgQueryResult, PgRow};
use sqlx::{Arguments, Either, Executor, PgConnection};

use crate::error::{Error, Result};
use crate::store::built;

/// Statements to run, in order, each with its own arguments.
#[derive(Default)]
pub struct Script {
    /// None for a statement with no rows to read: it would do nothing, so it
    /// costs no round trip (a batch's statements are often half empty).
    statements: Vec<Option<(String, PgArguments)>>,
}

/// What one statement of a script did.
pub struct Outcome {
    pub rows: Vec<PgRow>,
    pub result: PgQueryResult,
}

/// A statement's place in its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step(usize);

impl Script {
    /// Adds a statement whose `$1`, `$2`… take `arguments`, in order; each is
    /// JSON text, which the statement casts to `jsonb` where it reads rows.
    pub fn push(&mut self, sql: &str, arguments: &[&str]) -> Result<Step> {
        if !arguments.is_empty() && arguments.iter().all(|a| *a == "[]") {
            self.statements.push(None);
            return Ok(Step(self.statements.len() - 1));
        }
        let mut bound = PgArguments::default();
        for argument in arguments {
            bound
                .add(argument.to_string())
                .map_err(|e| Error::internal("binding a script argument", e))?;
        }
        self.statements.push(Some((sql.to_string(), bound)));
        Ok(Step(self.statements.len() - 1))
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
        self.statements.is_empty()
    }

    /// Runs every statement, if any, for their effect alone.
    pub async fn execute(self, conn: &mut PgConnection) -> Result<()> {
        if !self.is_empty() {
            self.run(conn, |_| {}).await?;
        }
        Ok(())
    }

    /// Runs every statement in turn, calling `landed` with each step as it
    /// finishes; stops at the first that fails.
    pub async fn run(
        self,
        conn: &mut PgConnection,
        mut landed: impl FnMut(Step),
    ) -> Result<Outcomes> {
        let mut outcomes = Vec::with_capacity(self.statements.len());
        for statement in self.statements {
            let Some((sql, arguments)) = statement else {
                outcomes.push(Outcome {
                    rows: Vec::new(),
                    result: PgQueryResult::default(),
                });
                landed(Step(outcomes.len() - 1));
                continue;
            };
            let mut stream = conn.fetch_many(sqlx::query_with(built(sql), arguments));
            let mut rows = Vec::new();
            let mut result = PgQueryResult::default();
            while let Some(step) = stream.try_next().await? {
                match step {
                    Either::Right(row) => rows.push(row),
                    Either::Left(done) => result.extend([done]),
                }
            }
            outcomes.push(Outcome { rows, result });
            landed(Step(outcomes.len() - 1));
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
        T: for<'r> sqlx::FromRow<'r, PgRow>,
    {
        Ok(self
            .get(step)
            .rows
            .iter()
            .map(T::from_row)
            .collect::<std::result::Result<_, _>>()?)
    }
}
