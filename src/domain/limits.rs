//! How much one community may keep open at once. Each contribution batch reads the
//! pending custom milestones of every community in it under the write lock, and
//! goal lists, charts and the App Home show every open goal, so these bound that
//! work whatever a community does (RELIABILITY.md R6, R7).

/// Open goals in one community; closed goals do not count.
pub const MAX_OPEN_GOALS: i64 = 100;

/// Custom milestones still to be reached in one community: on its contribution
/// count or on an open goal. Reached ones, and those of closed goals, do not count.
pub const MAX_PENDING_MILESTONES: i64 = 200;
