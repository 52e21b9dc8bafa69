//! The activity writer's statements, which the contribution writer shares: each
//! adds to members' days and the community rollup from one JSON array (rows as
//! `store::activity` writes them), and what days became active is settled in a
//! script of such statements (see `store/sql/activity.rs`).

/// Adds counts to members' days, from one JSON array of `DayRow`; returns each
/// day's total after, so the caller can tell which days became active.
pub const ADD_DAYS: &str = "INSERT INTO member_daily_activity
        (community_id, day, member_id, contributions, kudos_given, kudos_received, messages, reactions,
         introductions)
     SELECT value->>'community', value->>'day', value->>'member', value->>'contributions',
        value->>'kudos_given', value->>'kudos_received', value->>'messages', value->>'reactions',
        value->>'introductions'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day, member_id) DO UPDATE SET
        contributions = contributions + excluded.contributions,
        kudos_given = kudos_given + excluded.kudos_given,
        kudos_received = kudos_received + excluded.kudos_received,
        messages = messages + excluded.messages,
        reactions = reactions + excluded.reactions,
        introductions = introductions + excluded.introductions
     RETURNING community_id, member_id, day,
        contributions + kudos_given + kudos_received + messages + reactions + introductions";

/// Adds to the community rollup, from one JSON array of `RollupRow`.
pub const ADD_ROLLUP: &str = "INSERT INTO community_daily_activity
        (community_id, day, dau, wau, mau, contributions, kudos)
     SELECT value->>'community', value->>'day', value->>'dau', value->>'wau', value->>'mau',
        value->>'contributions', value->>'kudos'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day) DO UPDATE SET
        dau = dau + excluded.dau, wau = wau + excluded.wau, mau = mau + excluded.mau,
        contributions = contributions + excluded.contributions, kudos = kudos + excluded.kudos";

/// Counts contributions linked to a goal or value (negative to take back), from one
/// JSON array of {community, day, n}; the day's rollup row exists once any activity
/// was recorded for it.
pub const ADD_ALIGNED: &str = "UPDATE community_daily_activity SET aligned = max(0, aligned + a.n)
     FROM (SELECT value->>'community' AS community_id, value->>'day' AS day, value->>'n' AS n
           FROM jsonb_each(?)) AS a
     WHERE community_daily_activity.community_id = a.community_id
       AND community_daily_activity.day = a.day";

/// Run right after [`ADD_DAYS`], on the same JSON: for each member it gave a newly
/// active day (as `fresh_days` tells them), their active days within 31 days of
/// their new ones (the widest window, and whole weeks and months for the retention
/// cohorts) and the first active day they had before.
pub const FRESH_NEAR: &str = "WITH fresh AS (
        SELECT t.member_id AS member, min(t.day) AS lo, max(t.day) AS hi
        FROM jsonb_each(?) AS j
        JOIN member_daily_activity AS t ON t.community_id = j.value->>'community'
            AND t.member_id = j.value->>'member' AND t.day = j.value->>'day'
        WHERE t.contributions + t.kudos_given + t.kudos_received + t.messages + t.reactions
              + t.introductions
            = (j.value->>'contributions') + (j.value->>'kudos_given') + (j.value->>'kudos_received')
              + (j.value->>'messages') + (j.value->>'reactions') + (j.value->>'introductions')
        GROUP BY t.member_id)
     SELECT f.member, d.day, m.first_active_on FROM fresh AS f
     JOIN members AS m ON m.id = f.member
     JOIN member_daily_activity AS d ON d.member_id = f.member
         AND d.day BETWEEN date(f.lo, '-31 days') AND date(f.hi, '+31 days')";
