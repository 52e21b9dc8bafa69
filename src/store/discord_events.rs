//! Discord's own scheduled events beside Keel's events (issue 19 §1, migrations
//! sqlite 0023 / postgres 0010): which native scheduled event mirrors which Keel
//! event in each server, so the notifier edits the one it made, and a member's
//! "Interested" on it finds the Keel event they answer.

use chrono::{DateTime, Utc};

use super::events::Event;
use crate::domain::{AnnouncementId, CommunityId, EventId, WorkspaceId};
use crate::error::Result;

impl super::Store {
    /// The event of `community` whose public card is `announcement`.
    pub async fn event_of_card(
        &self,
        community: CommunityId,
        announcement: AnnouncementId,
    ) -> Result<Option<Event>> {
        on_engine!(self, e => sql::events::find_by_card(&e.read, community, announcement).await)
    }

    /// The id of the scheduled event mirroring `event` in `workspace`, if one was made.
    pub async fn discord_scheduled_event(
        &self,
        event: EventId,
        workspace: WorkspaceId,
    ) -> Result<Option<String>> {
        on_engine!(self, e => sql::discord_events::scheduled_event(&e.read, event, workspace).await)
    }

    /// Records that the scheduled event `scheduled` mirrors `event` in `workspace`.
    pub async fn record_discord_scheduled_event(
        &self,
        community: CommunityId,
        event: EventId,
        workspace: WorkspaceId,
        scheduled: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::discord_events::record(conn, event, workspace, scheduled, now).await
            })
            .await)
    }

    /// The Keel event that scheduled event `scheduled` of server `guild` mirrors.
    pub async fn event_of_discord_scheduled_event(
        &self,
        guild: &str,
        scheduled: &str,
    ) -> Result<Option<EventId>> {
        on_engine!(self, e => sql::discord_events::event_of(&e.read, guild, scheduled).await)
    }
}

impl super::Store {
    /// Reserves the window in which `shards` shards, one per `spacing`, may
    /// connect to Discord, across every process on this database; returns
    /// when it starts (now, or when the window reserved before it ends).
    pub async fn reserve_discord_identify(
        &self,
        shards: u32,
        spacing: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::discord_events::reserve_identify(conn, shards, spacing, now).await
            })
            .await)
    }
}
