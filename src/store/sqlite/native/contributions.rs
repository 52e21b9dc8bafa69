//! SQLite's own statements for the contribution writer: a batch's contributions
//! and the counters they add to, each from one JSON array (rows as
//! `store::contributions` writes them).

/// The batch's contributions, from one JSON array, numbered in its order (a row
/// with an id, an approved or edited contribution, keeps it: a NULL id is the
/// next number).
pub const INSERT_CONTRIBUTIONS: &str = "INSERT INTO contributions (id, community_id, member_id, description,
        amount, unit, goal_id, value_name, platform, happened_on, created_at)
     SELECT value->>'id', value->>'community', value->>'member', value->>'description', value->>'amount',
        value->>'unit', value->>'goal', value->>'value', value->>'platform', value->>'day', value->>'at'
     FROM jsonb_each(?) ORDER BY key";

/// Members' amounts by unit (`stats me`), from one JSON array of {member, unit, amount}.
pub const ADD_UNIT_AMOUNTS: &str = "INSERT INTO member_unit_amounts (member_id, unit, amount)
     SELECT value->>'member', value->>'unit', value->>'amount' FROM jsonb_each(?) WHERE true
     ON CONFLICT (member_id, unit) DO UPDATE SET amount = amount + excluded.amount";

/// Goals' progress by day, from one JSON array of {goal, day, n, amount}.
pub const ADD_GOAL_DAYS: &str = "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
     SELECT value->>'goal', value->>'day', value->>'n', value->>'amount' FROM jsonb_each(?) WHERE true
     ON CONFLICT (goal_id, day) DO UPDATE SET contributions = contributions + excluded.contributions,
        amount = amount + excluded.amount";

/// Members' counters, from one JSON array of {member, n}; returns the counts after.
pub const COUNT_MEMBERS: &str = "UPDATE members SET contribution_count = contribution_count + d.n
     FROM (SELECT value->>'member' AS member, value->>'n' AS n FROM jsonb_each(?)) AS d
     WHERE members.id = d.member RETURNING id, contribution_count";

/// Members whose first contributions these are (their count is just this batch's)
/// stop counting as newcomers yet to contribute (migration 0004); same JSON as
/// [`COUNT_MEMBERS`], after it.
pub const FIRST_CONTRIBUTIONS: &str = "UPDATE community_daily_members SET silent = silent - f.n
     FROM (SELECT m.community_id, substr(m.joined_at, 1, 10) AS day, count(*) AS n
           FROM jsonb_each(?) AS d JOIN members AS m ON m.id = d.value->>'member'
           WHERE m.contribution_count = d.value->>'n' GROUP BY 1, 2) AS f
     WHERE community_daily_members.community_id = f.community_id
       AND community_daily_members.day = f.day";

/// Communities' counters, from one JSON array of {community, n}; returns the counts after.
pub const COUNT_COMMUNITIES: &str =
    "UPDATE communities SET contribution_count = contribution_count + d.n
     FROM (SELECT value->>'community' AS community, value->>'n' AS n FROM jsonb_each(?)) AS d
     WHERE communities.id = d.community RETURNING id, contribution_count";

/// Goals' progress, from one JSON array of {goal, n, amount}; returns the progress after.
pub const COUNT_GOALS: &str = "UPDATE goals SET progress = round(progress + d.amount, 6),
        contribution_count = contribution_count + d.n
     FROM (SELECT value->>'goal' AS goal, value->>'n' AS n, value->>'amount' AS amount
           FROM jsonb_each(?)) AS d
     WHERE goals.id = d.goal RETURNING id, progress";

/// Takes the next contribution id without storing a contribution (one waiting
/// for review): the row of `sqlite_sequence` is made first if no contribution
/// was ever stored, then moved on by one.
pub const RESERVE_ID: &[&str] = &[
    "INSERT INTO sqlite_sequence (name, seq)
     SELECT 'contributions', COALESCE((SELECT MAX(id) FROM contributions), 0)
     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'contributions')",
    "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'contributions' RETURNING seq",
];
