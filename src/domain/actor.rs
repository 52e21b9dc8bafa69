//! Who is asking. Adapters build an `Envelope` from what the platform verified
//! (guild or team, user); the app turns it into an `Actor` scoped to one community.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($name:ident),*) => {$(
        // Stored as the integer they wrap (store/ids.rs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    CommunityId,
    WorkspaceId,
    MemberId,
    GoalId,
    ContributionId,
    AnnouncementId,
    EventId,
    PairingGroupId
);

/// How Keel names a member who is gone: authorship that outlives them, and a
/// member being erased, whose name goes first.
pub const FORMER_MEMBER: &str = "a former member";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Console,
    Discord,
    Slack,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Discord => "discord",
            Platform::Slack => "slack",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "console" => Some(Platform::Console),
            "discord" => Some(Platform::Discord),
            "slack" => Some(Platform::Slack),
            _ => None,
        }
    }
}

impl Platform {
    /// The largest file Keel sends with a reply here, as the platform documents
    /// it; an adapter that learns a precise figure (Discord's
    /// `attachment_size_limit` on each interaction) uses that instead. None: no
    /// limit (the console writes to disk).
    pub fn upload_limit(self) -> Option<u64> {
        match self {
            Platform::Console => None,
            // "Max request size": 25 MiB, files and message together.
            Platform::Discord => Some(25 * 1024 * 1024),
            // files.getUploadURLExternal: files up to 1 GB.
            Platform::Slack => Some(1_000_000_000),
        }
    }

    /// The platform's name in a sentence.
    pub fn title(self) -> &'static str {
        match self {
            Platform::Console => "the console",
            Platform::Discord => "Discord",
            Platform::Slack => "Slack",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Member,
    Organiser,
}

/// What an adapter knows for certain about a request: the workspace and user come
/// from the platform's verified envelope (guild_id, team_id), never from user input.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub platform: Platform,
    pub workspace_id: String,
    pub workspace_name: String,
    pub user_id: String,
    pub user_name: String,
    /// Whether the platform says this user organises (Manage Server, the
    /// community's organiser role, `--organiser` on the console).
    pub role: Role,
}

/// A member acting in their community. Every command runs as one.
#[derive(Debug, Clone)]
pub struct Actor {
    pub community: CommunityId,
    pub workspace: WorkspaceId,
    pub member: MemberId,
    pub display_name: String,
    pub platform: Platform,
    pub role: Role,
    /// The largest file a reply to this actor may carry, in bytes (see
    /// [`Platform::upload_limit`]); None: any size.
    pub upload_limit: Option<u64>,
}

impl Actor {
    pub fn is_organiser(&self) -> bool {
        self.role == Role::Organiser
    }

    /// The same actor, where replies may carry files of at most `bytes`.
    pub fn with_upload_limit(self, bytes: u64) -> Actor {
        Actor {
            upload_limit: Some(bytes),
            ..self
        }
    }
}

/// A member named in a command: `@bob` (a name or console user), or a platform
/// mention such as Slack's `<@U123|bob>` or Discord's `<@123>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Me,
    Name(String),
    PlatformUser { id: String, name: Option<String> },
}

impl MemberRef {
    /// Reads `@bob`, `<@U123>`, `<@U123|bob>`, `<@!123>` or `me`.
    pub fn parse(token: &str) -> Option<Self> {
        let t = token.trim();
        if t.eq_ignore_ascii_case("me") {
            return Some(MemberRef::Me);
        }
        if let Some(inner) = t.strip_prefix("<@").and_then(|r| r.strip_suffix('>')) {
            let inner = inner.strip_prefix('!').unwrap_or(inner);
            let (id, name) = match inner.split_once('|') {
                Some((id, name)) => (id, Some(name.to_string())),
                None => (inner, None),
            };
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            return Some(MemberRef::PlatformUser {
                id: id.to_string(),
                name,
            });
        }
        let name = t.strip_prefix('@')?;
        (!name.is_empty() && !name.chars().any(char::is_control))
            .then(|| MemberRef::Name(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_refs() {
        assert_eq!(
            MemberRef::parse("@bob"),
            Some(MemberRef::Name("bob".into()))
        );
        assert_eq!(
            MemberRef::parse("<@U123|bob>"),
            Some(MemberRef::PlatformUser {
                id: "U123".into(),
                name: Some("bob".into())
            })
        );
        assert_eq!(
            MemberRef::parse("<@!42>"),
            Some(MemberRef::PlatformUser {
                id: "42".into(),
                name: None
            })
        );
        assert_eq!(MemberRef::parse("bob"), None);
        assert_eq!(MemberRef::parse("@"), None);
        assert_eq!(MemberRef::parse("ME"), Some(MemberRef::Me));
    }
}
