//! PostgreSQL's own statements for achievements: the contribution writer's batch.

/// Achievements from one JSON array of {community, key, subject, title, member,
/// goal, contribution, at}, in its order; returns (community, key, subject) of
/// those recorded now, the first time they were reached.
pub const RECORD_CROSSED: &str = "INSERT INTO milestone_achievements
        (community_id, milestone_key, subject, title, member_id, goal_id, contribution_id, achieved_at)
     SELECT community, key, subject, title, member, goal, contribution, at
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (community BIGINT, key TEXT, subject TEXT,
        title TEXT, member BIGINT, goal BIGINT, contribution BIGINT, at TEXT))
        WITH ORDINALITY AS j(community, key, subject, title, member, goal, contribution, at, place)
     ORDER BY place
     ON CONFLICT (community_id, milestone_key, subject) DO NOTHING
     RETURNING community_id, milestone_key, subject";
