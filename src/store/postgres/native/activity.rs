//! The activity writer's statements, which the contribution writer shares: each
//! adds to members' days and the community rollup from one JSON array (rows as
//! `store::activity` writes them), and what days became active is settled in a
//! script of such statements (see `store/sql/activity.rs`). PostgreSQL reads the
//! array's rows with `jsonb_to_recordset`, typed as the columns they go to.

/// The rows of a JSON array of `DayRow`, as `d`.
macro_rules! day_rows {
    () => {
        "jsonb_to_recordset($1::jsonb) AS d(community BIGINT, day TEXT, member BIGINT,
            contributions BIGINT, kudos_given BIGINT, kudos_received BIGINT, messages BIGINT,
            reactions BIGINT, introductions BIGINT)"
    };
}

/// Adds counts to members' days, from one JSON array of `DayRow` (one per member
/// and day); returns each day's total after, so the caller can tell which days
/// became active.
pub const ADD_DAYS: &str = concat!(
    "INSERT INTO member_daily_activity AS t
        (community_id, day, member_id, contributions, kudos_given, kudos_received, messages, reactions,
         introductions)
     SELECT community, day, member, contributions, kudos_given, kudos_received, messages, reactions,
        introductions
     FROM ",
    day_rows!(),
    " ON CONFLICT (community_id, day, member_id) DO UPDATE SET
        contributions = t.contributions + excluded.contributions,
        kudos_given = t.kudos_given + excluded.kudos_given,
        kudos_received = t.kudos_received + excluded.kudos_received,
        messages = t.messages + excluded.messages,
        reactions = t.reactions + excluded.reactions,
        introductions = t.introductions + excluded.introductions
     RETURNING community_id, member_id, day,
        contributions + kudos_given + kudos_received + messages + reactions + introductions"
);

/// Adds to the community rollup, from one JSON array of `RollupRow` (one per
/// community and day).
pub const ADD_ROLLUP: &str = "INSERT INTO community_daily_activity AS t
        (community_id, day, dau, wau, mau, contributions, kudos)
     SELECT community, day, dau, wau, mau, contributions, kudos
     FROM jsonb_to_recordset($1::jsonb) AS d(community BIGINT, day TEXT, dau BIGINT, wau BIGINT,
        mau BIGINT, contributions BIGINT, kudos BIGINT)
     ON CONFLICT (community_id, day) DO UPDATE SET
        dau = t.dau + excluded.dau, wau = t.wau + excluded.wau, mau = t.mau + excluded.mau,
        contributions = t.contributions + excluded.contributions, kudos = t.kudos + excluded.kudos";

/// Counts contributions linked to a goal or value (negative to take back), from one
/// JSON array of {community, day, n}; the day's rollup row exists once any activity
/// was recorded for it.
pub const ADD_ALIGNED: &str =
    "UPDATE community_daily_activity SET aligned = GREATEST(0, aligned + a.n)
     FROM jsonb_to_recordset($1::jsonb) AS a(community BIGINT, day TEXT, n BIGINT)
     WHERE community_daily_activity.community_id = a.community
       AND community_daily_activity.day = a.day";

/// Run right after [`ADD_DAYS`], on the same JSON: for each member it gave a newly
/// active day (as `fresh_days` tells them), their active days within 31 days of
/// their new ones (the widest window, and whole weeks and months for the retention
/// cohorts) and the first active day they had before.
pub const FRESH_NEAR: &str = concat!(
    "WITH fresh AS (
        SELECT t.member_id AS member, min(t.day) AS lo, max(t.day) AS hi
        FROM ",
    day_rows!(),
    " JOIN member_daily_activity AS t ON t.community_id = d.community
            AND t.member_id = d.member AND t.day = d.day
        WHERE t.contributions + t.kudos_given + t.kudos_received + t.messages + t.reactions
              + t.introductions
            = d.contributions + d.kudos_given + d.kudos_received + d.messages + d.reactions
              + d.introductions
        GROUP BY t.member_id)
     SELECT f.member, n.day, m.first_active_on FROM fresh AS f
     JOIN members AS m ON m.id = f.member
     JOIN member_daily_activity AS n ON n.member_id = f.member
         AND n.day BETWEEN to_char(f.lo::date - 31, 'YYYY-MM-DD')
                       AND to_char(f.hi::date + 31, 'YYYY-MM-DD')"
);
