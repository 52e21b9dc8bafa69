//! The two kinds of failure: what the user did wrong (shown to them as it is) and
//! what went wrong inside (logged in full, shown as a short apology with a reference).

use thiserror::Error;

use crate::domain::UserError;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("{context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Internal {
            context,
            source: source.into(),
        }
    }

    /// The database's error, if that is what this is.
    pub fn database(&self) -> Option<&sqlx::Error> {
        match self {
            Error::Internal { source, .. } => source.downcast_ref(),
            Error::User(_) => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal("database", e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("json", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a database error is a unique-constraint violation: the database decided a
/// race or a duplicate (a slug taken), which is the user's news, not a fault.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
