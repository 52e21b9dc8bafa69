//! SQLite's own statements for achievements: the contribution writer's batch.

/// Achievements from one JSON array of {community, key, subject, title, member,
/// goal, contribution, at}, in its order; returns (community, key, subject) of
/// those recorded now, the first time they were reached.
pub const RECORD_CROSSED: &str = "INSERT INTO milestone_achievements
        (community_id, milestone_key, subject, title, member_id, goal_id, contribution_id, achieved_at)
     SELECT value->>'community', value->>'key', value->>'subject', value->>'title', value->>'member',
        value->>'goal', value->>'contribution', value->>'at'
     FROM jsonb_each(?) WHERE true ORDER BY key
     ON CONFLICT (community_id, milestone_key, subject) DO NOTHING
     RETURNING community_id, milestone_key, subject";
