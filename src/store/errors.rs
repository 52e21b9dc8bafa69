//! The database's errors as Keel's: each one is an internal fault, logged in full,
//! except the few the store reads as answers (a unique key already taken, the
//! write lock held by another process).

use crate::error::Error;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal("database", e)
    }
}

/// The database's error inside `e`, if that is what it is.
pub(crate) fn database(e: &Error) -> Option<&sqlx::Error> {
    match e {
        Error::Internal { source, .. } => source.downcast_ref(),
        Error::User(_) => None,
    }
}

/// Whether a database error is a unique-constraint violation: the database decided a
/// race or a duplicate (a slug taken), which is the user's news, not a fault.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
