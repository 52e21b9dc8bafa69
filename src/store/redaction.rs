//! Redacting the announcements that name an erased member (R8), found by the
//! member's id in `announcement_members` (migration 0012), never by their name.
//!
//! An announcement about them (their own milestone, a message to them) is replaced
//! whole; one that names them in some lines (a digest's list, the line quoting the
//! contribution that reached a community milestone) loses those lines. A body stored
//! before bodies carried member references is replaced whole. Messages already
//! posted are edited through the outbox, at the channel and message id each post
//! kept; pending posts go out redacted, and those of an announcement that has
//! nothing left to say are dropped unless an attempt may have posted them.

/// What a redaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redacted {
    pub announcements: u64,
    /// Posted messages now due to be edited.
    pub edits: u64,
}
