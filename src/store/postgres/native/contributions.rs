//! PostgreSQL's own statements for the contribution writer: a batch's contributions
//! and the counters they add to, each from one JSON array (rows as
//! `store::contributions` writes them), read with `jsonb_to_recordset`. Every
//! array holds one row per row it changes: PostgreSQL refuses to change a row
//! twice in one statement.

/// The batch's contributions, from one JSON array, with the ids the writer
/// reserved for them.
pub const INSERT_CONTRIBUTIONS: &str = "INSERT INTO contributions (id, community_id, member_id,
        description, amount, unit, goal_id, value_name, platform, happened_on, created_at)
     SELECT id, community, member, description, amount, unit, goal, value, platform, day, at
     FROM jsonb_to_recordset($1::jsonb) AS d(id BIGINT, community BIGINT, member BIGINT,
        description TEXT, amount DOUBLE PRECISION, unit TEXT, goal BIGINT, value TEXT,
        platform TEXT, day TEXT, at TEXT)";

/// Members' amounts by unit (`stats me`), from one JSON array of {member, unit, amount}.
pub const ADD_UNIT_AMOUNTS: &str = "INSERT INTO member_unit_amounts AS t (member_id, unit, amount)
     SELECT member, unit, amount
     FROM jsonb_to_recordset($1::jsonb) AS d(member BIGINT, unit TEXT, amount DOUBLE PRECISION)
     ON CONFLICT (member_id, unit) DO UPDATE SET amount = t.amount + excluded.amount";

/// Goals' progress by day, from one JSON array of {goal, day, n, amount}.
pub const ADD_GOAL_DAYS: &str =
    "INSERT INTO goal_daily_progress AS t (goal_id, day, contributions, amount)
     SELECT goal, day, n, amount
     FROM jsonb_to_recordset($1::jsonb) AS d(goal BIGINT, day TEXT, n BIGINT, amount DOUBLE PRECISION)
     ON CONFLICT (goal_id, day) DO UPDATE SET contributions = t.contributions + excluded.contributions,
        amount = t.amount + excluded.amount";

/// Members' counters, from one JSON array of {member, n}; returns the counts after.
pub const COUNT_MEMBERS: &str = "UPDATE members SET contribution_count = contribution_count + d.n
     FROM jsonb_to_recordset($1::jsonb) AS d(member BIGINT, n BIGINT)
     WHERE members.id = d.member RETURNING members.id, members.contribution_count";

/// Members whose first contributions these are (their count is just this batch's)
/// stop counting as newcomers yet to contribute (migration 0004); same JSON as
/// [`COUNT_MEMBERS`], after it.
pub const FIRST_CONTRIBUTIONS: &str = "UPDATE community_daily_members SET silent = silent - f.n
     FROM (SELECT m.community_id, substr(m.joined_at, 1, 10) AS day, count(*) AS n
           FROM jsonb_to_recordset($1::jsonb) AS d(member BIGINT, n BIGINT)
           JOIN members AS m ON m.id = d.member
           WHERE m.contribution_count = d.n GROUP BY 1, 2) AS f
     WHERE community_daily_members.community_id = f.community_id
       AND community_daily_members.day = f.day";

/// Communities' counters, from one JSON array of {community, n}; returns the counts after.
pub const COUNT_COMMUNITIES: &str =
    "UPDATE communities SET contribution_count = contribution_count + d.n
     FROM jsonb_to_recordset($1::jsonb) AS d(community BIGINT, n BIGINT)
     WHERE communities.id = d.community RETURNING communities.id, communities.contribution_count";

/// Goals' progress, from one JSON array of {goal, n, amount}; returns the progress
/// after, rounded to 6 decimals as SQLite's `round` does (PostgreSQL rounds
/// NUMERIC only).
pub const COUNT_GOALS: &str = "UPDATE goals SET
        progress = CAST(round(CAST(progress + d.amount AS NUMERIC), 6) AS DOUBLE PRECISION),
        contribution_count = contribution_count + d.n
     FROM jsonb_to_recordset($1::jsonb) AS d(goal BIGINT, n BIGINT, amount DOUBLE PRECISION)
     WHERE goals.id = d.goal RETURNING goals.id, goals.progress";

/// Takes the next contribution id without storing a contribution (one waiting
/// for review); the last statement returns it.
pub const RESERVE_ID: &[&str] = &["SELECT nextval(pg_get_serial_sequence('contributions', 'id'))"];
