//! PostgreSQL's contribution writer (placeholder while it is written).

use sqlx::PgPool;

use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::error::{Error, Result};
use crate::store::milestones::CustomHint;

#[derive(Clone)]
pub struct Writer {
    _pool: PgPool,
}

impl Writer {
    pub(in crate::store) fn start(pool: PgPool, _custom: CustomHint) -> Writer {
        Writer { _pool: pool }
    }

    pub async fn record(&self, _request: ContributionRequest) -> Result<Recorded> {
        Err(Error::internal(
            "contribution writer",
            "not yet on PostgreSQL",
        ))
    }

    pub async fn close(&self) {}
}
