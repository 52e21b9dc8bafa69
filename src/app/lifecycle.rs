//! What happens around commands: a platform adds or removes Keel, newcomers
//! arrive, members write messages and react. Adapters report these events; what
//! they mean for a community is decided here, the same for every platform.

use chrono::Duration;

use super::App;
use crate::domain::reply::Reply;
use crate::domain::{Actor, Envelope, Platform, UserError};
use crate::error::Result;
use crate::store::activity::Counts;

/// Something a member did that counts as activity (counts only, never text: P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Message,
    Reaction,
}

impl App {
    /// Keel was added to a guild or team: finds or creates its community, and
    /// cancels a purge scheduled when Keel was last removed.
    pub async fn workspace_joined(
        &self,
        platform: Platform,
        external_id: &str,
        name: &str,
    ) -> Result<()> {
        self.store()
            .add_workspace(platform, external_id, name, self.now())
            .await
    }

    /// Keel was removed from a guild or team: its data is purged after `grace`,
    /// unless Keel is added back first.
    pub async fn workspace_removed(
        &self,
        platform: Platform,
        external_id: &str,
        grace: Duration,
    ) -> Result<()> {
        let purge_at = self.now() + grace;
        self.store()
            .schedule_workspace_purge(platform, external_id, purge_at)
            .await?;
        tracing::info!(%platform, %purge_at, "Keel was removed; data purge scheduled");
        Ok(())
    }

    /// Adds one message or reaction to the member's daily counts. Workspaces Keel
    /// does not serve are ignored. An envelope whose name is the user id does not
    /// know it (Slack's events carry only ids): `ask_name` finds it, and is asked
    /// only for a newcomer or a member Keel knows only by their id, never for a
    /// member Keel can already name.
    pub async fn record_activity(
        &self,
        envelope: &Envelope,
        activity: Activity,
        ask_name: impl AsyncFnOnce() -> Option<String>,
    ) -> Result<()> {
        let store = self.store();
        let Some(workspace) = store
            .workspace_by_external(envelope.platform, &envelope.workspace_id)
            .await?
        else {
            return Ok(());
        };
        let member = match store
            .member_by_identity(workspace.id, &envelope.user_id)
            .await?
        {
            Some(m) if !unnamed(&m.display_name, &envelope.user_id) => m.id,
            // A newcomer, or one stored under their id: named now if the name is known.
            _ => {
                let envelope = named(envelope, None, ask_name).await;
                match self.actor(&envelope).await {
                    Ok(actor) => actor.member,
                    Err(_) => return Ok(()),
                }
            }
        };
        let counts = match activity {
            Activity::Message => Counts {
                messages: 1,
                ..Counts::default()
            },
            Activity::Reaction => Counts {
                reactions: 1,
                ..Counts::default()
            },
        };
        store
            .record_activity(workspace.community_id, member, self.today(), counts)
            .await
    }

    /// Like [`App::actor`], for an event whose envelope may not know the member's
    /// name (its name is the user id): a member Keel knows keeps the name they
    /// have; `ask_name` names a newcomer or a member known only by their id.
    pub async fn actor_of_event(
        &self,
        envelope: &Envelope,
        ask_name: impl AsyncFnOnce() -> Option<String>,
    ) -> Result<Actor, UserError> {
        let stored = async {
            let store = self.store();
            let Some(workspace) = store
                .workspace_by_external(envelope.platform, &envelope.workspace_id)
                .await?
            else {
                return Ok(None);
            };
            Ok(store
                .member_by_identity(workspace.id, &envelope.user_id)
                .await?
                .map(|m| m.display_name))
        }
        .await
        .map_err(|e| self.report(e, "looking up a member"))?;
        let envelope = named(envelope, stored, ask_name).await;
        self.actor(&envelope).await
    }

    /// A person joined a workspace Keel serves: they become a member now (growth's
    /// joins), or, if they had left, are a member again.
    pub async fn member_joined(&self, envelope: &Envelope) -> Result<()> {
        if self
            .store()
            .workspace_by_external(envelope.platform, &envelope.workspace_id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let Ok(actor) = self.actor(envelope).await else {
            return Ok(());
        };
        let returned = self
            .store()
            .mark_member_returned(actor.community, actor.member)
            .await?;
        if returned {
            tracing::info!(platform = %envelope.platform, "a member who had left is back");
        }
        Ok(())
    }

    /// A person left a workspace Keel serves (growth's leaves). Their contributions
    /// stay; `forget-me` is how a member erases them.
    pub async fn member_left(
        &self,
        platform: Platform,
        external_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let Some(workspace) = self
            .store()
            .workspace_by_external(platform, external_id)
            .await?
        else {
            return Ok(());
        };
        self.store()
            .mark_member_left(workspace.id, user_id, self.now())
            .await?;
        Ok(())
    }

    /// The welcome a newcomer gets: the mission, if the community has one.
    pub async fn welcome(&self, platform: Platform, external_id: &str) -> Result<Option<Reply>> {
        let store = self.store();
        let Some(workspace) = store.workspace_by_external(platform, external_id).await? else {
            return Ok(None);
        };
        let Some(version) = store.current_mission(workspace.community_id).await? else {
            return Ok(None);
        };
        let mut card = super::mission_card(&version);
        card.title = Some("Welcome! This is what we are here for".into());
        Ok(Some(card))
    }
}

/// Whether `name` stands in for a name not known: empty, or the user id itself.
fn unnamed(name: &str, user_id: &str) -> bool {
    name.trim().is_empty() || name == user_id
}

/// `envelope` with the member's name: the one it carries, else `stored` (what
/// Keel has), else what `ask_name` finds; the user id stands in for none.
async fn named(
    envelope: &Envelope,
    stored: Option<String>,
    ask_name: impl AsyncFnOnce() -> Option<String>,
) -> Envelope {
    let user_id = &envelope.user_id;
    let user_name = if !unnamed(&envelope.user_name, user_id) {
        envelope.user_name.clone()
    } else if let Some(stored) = stored.filter(|n| !unnamed(n, user_id)) {
        stored
    } else {
        ask_name()
            .await
            .filter(|n| !unnamed(n, user_id))
            .unwrap_or_else(|| user_id.clone())
    };
    Envelope {
        user_name,
        ..envelope.clone()
    }
}
