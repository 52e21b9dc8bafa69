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
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("json", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
