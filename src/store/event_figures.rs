//! Event figures as `stats`, the digest and `health` read them: events held in a
//! window, their answers and attendance, and members who answer yes and never
//! come. Definitions: `domain::metrics` ("Events").

use chrono::{DateTime, Utc};

use super::health::{Listed, Page};
use crate::domain::CommunityId;
use crate::error::Result;

impl super::Store {
    /// Figures over the events held in `[from, to)`, as of `now`.
    pub async fn event_figures(
        &self,
        community: CommunityId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EventFigures> {
        on_engine!(self, e => sql::event_figures::figures(&e.read, community, from, to, now).await)
    }

    /// Members still here and not away who answered yes, with a place, to at
    /// least `at_least` events held in `[from, now)` and attended none of them:
    /// a page of names, and how many in all.
    pub async fn members_yes_never_attending(
        &self,
        community: CommunityId,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        at_least: i64,
        page: Page,
    ) -> Result<Listed> {
        on_engine!(self, e => {
            sql::event_figures::yes_never_attending(
                &e.read, community, from, now, at_least, page.limit, page.offset,
            )
            .await
        })
    }
}

/// Over the events held in a window (started in it, over, not cancelled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFigures {
    pub held: i64,
    /// Answers yes with a place (the waitlisted were never expected).
    pub yes: i64,
    pub maybe: i64,
    /// Attendees, however recorded, whatever they answered.
    pub attended: i64,
    /// Attendees who had answered yes with a place.
    pub yes_attended: i64,
}
