//! The platform-free core: commands and their parser, validated values, rules,
//! milestones and replies. Nothing here knows Discord, Slack or SQL.

pub mod activity;
pub mod actor;
pub mod announce;
pub mod clock;
pub mod cohorts;
pub mod command;
pub mod command_table;
pub mod contribution;
pub mod diff;
pub mod error;
pub mod events;
pub mod limits;
pub mod metrics;
pub mod milestones;
pub mod pairing;
pub mod parse;
pub mod reply;
pub mod schedule;
pub mod text;

pub use actor::{
    Actor, AnnouncementId, CommunityId, ContributionId, Envelope, EventId, GoalId, MemberId,
    MemberRef, PairingGroupId, Platform, Role, WorkspaceId,
};
pub use command::Command;
pub use error::UserError;
pub use reply::{Line, Reply, Visibility};
