-- Population counts (issue 5, performance): what `stats`, `health` and the digest
-- used to count member by member, or contribution by contribution, kept per
-- community so each of them reads a handful of rows however large the community
-- (PRODUCT.md, "Metric definitions"). Each table is filled in below from the rows
-- it summarises, and then kept by triggers in the same statement (so the same
-- transaction) as every change to those rows, wherever it comes from: the
-- contribution writer, forget-me, merges, moving a workspace, window rollover, a
-- bulk load, or a column set by hand. The triggers fire per changed member,
-- signal, window total or achievement row, never per contribution, and run inside
-- SQLite (no round trip). Triggers only ever insert rows for a community through
-- an upsert on an addition, and only update on a removal, so a community being
-- deleted (its rows cascade) never gets a row recreated.

-- Members per contribution total in a kept rolling window (member_window_totals,
-- members with none left out): Gini and the contributor absence factor over the
-- window read the distinct totals, not every contributor. Rows may hold 0 members.
CREATE TABLE member_window_histogram (
    community_id   INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    window_days    INTEGER NOT NULL,
    contributions  INTEGER NOT NULL,
    members        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, window_days, contributions)
) WITHOUT ROWID;

INSERT INTO member_window_histogram (community_id, window_days, contributions, members)
SELECT community_id, window_days, contributions, count(*) FROM member_window_totals
WHERE contributions > 0 GROUP BY 1, 2, 3;

CREATE TRIGGER member_window_histogram_insert AFTER INSERT ON member_window_totals
WHEN new.contributions > 0
BEGIN
    INSERT INTO member_window_histogram (community_id, window_days, contributions, members)
    VALUES (new.community_id, new.window_days, new.contributions, 1)
    ON CONFLICT (community_id, window_days, contributions) DO UPDATE SET members = members + 1;
END;

CREATE TRIGGER member_window_histogram_delete AFTER DELETE ON member_window_totals
WHEN old.contributions > 0
BEGIN
    UPDATE member_window_histogram SET members = members - 1
    WHERE community_id = old.community_id AND window_days = old.window_days
      AND contributions = old.contributions;
END;

CREATE TRIGGER member_window_histogram_update AFTER UPDATE ON member_window_totals
WHEN old.contributions IS NOT new.contributions OR old.community_id IS NOT new.community_id
  OR old.window_days IS NOT new.window_days
BEGIN
    UPDATE member_window_histogram SET members = members - 1
    WHERE old.contributions > 0 AND community_id = old.community_id
      AND window_days = old.window_days AND contributions = old.contributions;
    INSERT INTO member_window_histogram (community_id, window_days, contributions, members)
    SELECT new.community_id, new.window_days, new.contributions, 1 WHERE new.contributions > 0
    ON CONFLICT (community_id, window_days, contributions) DO UPDATE SET members = members + 1;
END;

-- Joins and leaves per UTC day (PRODUCT.md "Growth"): members whose joined_at,
-- and whose left_at, falls on the day; and of those who joined on the day, how
-- many have not contributed yet (`health`'s newcomers). Members who used
-- forget-me are gone. `silent` changes when a member's first contribution is
-- written: the contribution writer takes those out, one statement per batch.
CREATE TABLE community_daily_members (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day           TEXT    NOT NULL,
    joins         INTEGER NOT NULL DEFAULT 0,
    leaves        INTEGER NOT NULL DEFAULT 0,
    silent        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

INSERT INTO community_daily_members (community_id, day, joins, leaves, silent)
SELECT community_id, day, SUM(joins), SUM(leaves), SUM(silent) FROM (
    SELECT community_id, substr(joined_at, 1, 10) AS day, 1 AS joins, 0 AS leaves,
           contribution_count = 0 AS silent FROM members
    UNION ALL
    SELECT community_id, substr(left_at, 1, 10), 0, 1, 0 FROM members WHERE left_at IS NOT NULL
) GROUP BY 1, 2;

-- Members not gone, by their last active day, and how many of them are away
-- (PRODUCT.md "Inactive": now − last activity > the interval).
CREATE TABLE community_last_active (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day           TEXT    NOT NULL,
    members       INTEGER NOT NULL DEFAULT 0,
    away          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

INSERT INTO community_last_active (community_id, day, members, away)
SELECT community_id, last_active_on, count(*), SUM(away_since IS NOT NULL) FROM members
WHERE last_active_on IS NOT NULL AND left_at IS NULL GROUP BY 1, 2;

-- First-time contributors by the day of their first contribution, and how many
-- made a 2nd and a 4th within 90 days of it (PRODUCT.md "Newcomer conversion").
CREATE TABLE community_conversion (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day           TEXT    NOT NULL,
    newcomers     INTEGER NOT NULL DEFAULT 0,
    second        INTEGER NOT NULL DEFAULT 0,
    fourth        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

INSERT INTO community_conversion (community_id, day, newcomers, second, fourth)
SELECT community_id, first_contribution_on, count(*),
       COALESCE(SUM(second_contribution_on <= date(first_contribution_on, '+90 days')), 0),
       COALESCE(SUM(fourth_contribution_on <= date(first_contribution_on, '+90 days')), 0)
FROM members WHERE first_contribution_on IS NOT NULL GROUP BY 1, 2;

-- The three above follow the member rows.
CREATE TRIGGER members_counted_insert AFTER INSERT ON members
BEGIN
    INSERT INTO community_daily_members (community_id, day, joins, leaves, silent)
    VALUES (new.community_id, substr(new.joined_at, 1, 10), 1, 0, new.contribution_count = 0)
    ON CONFLICT (community_id, day) DO UPDATE SET joins = joins + 1, silent = silent + excluded.silent;
    INSERT INTO community_daily_members (community_id, day, joins, leaves)
    SELECT new.community_id, substr(new.left_at, 1, 10), 0, 1 WHERE new.left_at IS NOT NULL
    ON CONFLICT (community_id, day) DO UPDATE SET leaves = leaves + 1;
    INSERT INTO community_last_active (community_id, day, members, away)
    SELECT new.community_id, new.last_active_on, 1, new.away_since IS NOT NULL
    WHERE new.last_active_on IS NOT NULL AND new.left_at IS NULL
    ON CONFLICT (community_id, day) DO UPDATE SET
        members = members + 1, away = away + excluded.away;
    INSERT INTO community_conversion (community_id, day, newcomers, second, fourth)
    SELECT new.community_id, new.first_contribution_on, 1,
           COALESCE(new.second_contribution_on <= date(new.first_contribution_on, '+90 days'), 0),
           COALESCE(new.fourth_contribution_on <= date(new.first_contribution_on, '+90 days'), 0)
    WHERE new.first_contribution_on IS NOT NULL
    ON CONFLICT (community_id, day) DO UPDATE SET newcomers = newcomers + 1,
        second = second + excluded.second, fourth = fourth + excluded.fourth;
END;

-- A member's signal rows go first, while the member row still says whether they
-- are away (a cascade runs after the row is gone).
CREATE TRIGGER members_counted_delete_signals BEFORE DELETE ON members
BEGIN
    DELETE FROM member_signals WHERE member_id = old.id;
END;

CREATE TRIGGER members_counted_delete AFTER DELETE ON members
BEGIN
    UPDATE community_daily_members SET joins = joins - 1, silent = silent - (old.contribution_count = 0)
    WHERE community_id = old.community_id AND day = substr(old.joined_at, 1, 10);
    UPDATE community_daily_members SET leaves = leaves - 1
    WHERE old.left_at IS NOT NULL AND community_id = old.community_id AND day = substr(old.left_at, 1, 10);
    UPDATE community_last_active SET members = members - 1, away = away - (old.away_since IS NOT NULL)
    WHERE old.last_active_on IS NOT NULL AND old.left_at IS NULL
      AND community_id = old.community_id AND day = old.last_active_on;
    UPDATE community_conversion SET newcomers = newcomers - 1,
        second = second - COALESCE(old.second_contribution_on <= date(old.first_contribution_on, '+90 days'), 0),
        fourth = fourth - COALESCE(old.fourth_contribution_on <= date(old.first_contribution_on, '+90 days'), 0)
    WHERE old.first_contribution_on IS NOT NULL AND community_id = old.community_id
      AND day = old.first_contribution_on;
END;

-- Fires only for statements that set one of these columns, so not for the
-- contribution writer's count updates; a statement that sets one of them and the
-- contribution count too (a merge) moves the member's `silent` share with it.
CREATE TRIGGER members_counted_joins AFTER UPDATE OF community_id, joined_at, left_at ON members
WHEN old.community_id IS NOT new.community_id OR old.joined_at IS NOT new.joined_at
  OR old.left_at IS NOT new.left_at OR (old.contribution_count = 0) <> (new.contribution_count = 0)
BEGIN
    UPDATE community_daily_members SET joins = joins - 1, silent = silent - (old.contribution_count = 0)
    WHERE community_id = old.community_id AND day = substr(old.joined_at, 1, 10);
    UPDATE community_daily_members SET leaves = leaves - 1
    WHERE old.left_at IS NOT NULL AND community_id = old.community_id AND day = substr(old.left_at, 1, 10);
    INSERT INTO community_daily_members (community_id, day, joins, leaves, silent)
    VALUES (new.community_id, substr(new.joined_at, 1, 10), 1, 0, new.contribution_count = 0)
    ON CONFLICT (community_id, day) DO UPDATE SET joins = joins + 1, silent = silent + excluded.silent;
    INSERT INTO community_daily_members (community_id, day, joins, leaves)
    SELECT new.community_id, substr(new.left_at, 1, 10), 0, 1 WHERE new.left_at IS NOT NULL
    ON CONFLICT (community_id, day) DO UPDATE SET leaves = leaves + 1;
END;

CREATE TRIGGER members_counted_last_active AFTER UPDATE OF community_id, last_active_on, left_at, away_since ON members
WHEN old.community_id IS NOT new.community_id OR old.last_active_on IS NOT new.last_active_on
  OR (old.left_at IS NULL) <> (new.left_at IS NULL) OR (old.away_since IS NULL) <> (new.away_since IS NULL)
BEGIN
    UPDATE community_last_active SET members = members - 1, away = away - (old.away_since IS NOT NULL)
    WHERE old.last_active_on IS NOT NULL AND old.left_at IS NULL
      AND community_id = old.community_id AND day = old.last_active_on;
    INSERT INTO community_last_active (community_id, day, members, away)
    SELECT new.community_id, new.last_active_on, 1, new.away_since IS NOT NULL
    WHERE new.last_active_on IS NOT NULL AND new.left_at IS NULL
    ON CONFLICT (community_id, day) DO UPDATE SET
        members = members + 1, away = away + excluded.away;
END;

CREATE TRIGGER members_counted_conversion
AFTER UPDATE OF community_id, first_contribution_on, second_contribution_on, fourth_contribution_on ON members
WHEN old.community_id IS NOT new.community_id OR old.first_contribution_on IS NOT new.first_contribution_on
  OR old.second_contribution_on IS NOT new.second_contribution_on
  OR old.fourth_contribution_on IS NOT new.fourth_contribution_on
BEGIN
    UPDATE community_conversion SET newcomers = newcomers - 1,
        second = second - COALESCE(old.second_contribution_on <= date(old.first_contribution_on, '+90 days'), 0),
        fourth = fourth - COALESCE(old.fourth_contribution_on <= date(old.first_contribution_on, '+90 days'), 0)
    WHERE old.first_contribution_on IS NOT NULL AND community_id = old.community_id
      AND day = old.first_contribution_on;
    INSERT INTO community_conversion (community_id, day, newcomers, second, fourth)
    SELECT new.community_id, new.first_contribution_on, 1,
           COALESCE(new.second_contribution_on <= date(new.first_contribution_on, '+90 days'), 0),
           COALESCE(new.fourth_contribution_on <= date(new.first_contribution_on, '+90 days'), 0)
    WHERE new.first_contribution_on IS NOT NULL
    ON CONFLICT (community_id, day) DO UPDATE SET newcomers = newcomers + 1,
        second = second + excluded.second, fourth = fourth + excluded.fourth;
END;

-- Members showing each health signal, away members left out (the counts `health`
-- and the digest show; the names are read a page at a time from member_signals).
CREATE TABLE community_signal_counts (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    signal        TEXT    NOT NULL,
    members       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, signal)
) WITHOUT ROWID;

INSERT INTO community_signal_counts (community_id, signal, members)
SELECT s.community_id, s.signal, count(*) FROM member_signals s JOIN members m ON m.id = s.member_id
WHERE m.away_since IS NULL GROUP BY 1, 2;

CREATE TRIGGER member_signals_counted_insert AFTER INSERT ON member_signals
BEGIN
    INSERT INTO community_signal_counts (community_id, signal, members)
    SELECT new.community_id, new.signal, 1 FROM members
    WHERE id = new.member_id AND away_since IS NULL
    ON CONFLICT (community_id, signal) DO UPDATE SET members = members + 1;
END;

CREATE TRIGGER member_signals_counted_delete AFTER DELETE ON member_signals
BEGIN
    UPDATE community_signal_counts SET members = members - 1
    WHERE community_id = old.community_id AND signal = old.signal
      AND EXISTS (SELECT 1 FROM members WHERE id = old.member_id AND away_since IS NULL);
END;

CREATE TRIGGER member_signals_counted_away AFTER UPDATE OF away_since ON members
WHEN (old.away_since IS NULL) <> (new.away_since IS NULL)
BEGIN
    INSERT INTO community_signal_counts (community_id, signal, members)
    SELECT community_id, signal, CASE WHEN new.away_since IS NULL THEN 1 ELSE -1 END
    FROM member_signals WHERE member_id = new.id
    ON CONFLICT (community_id, signal) DO UPDATE SET members = members + excluded.members;
END;

-- Milestones reached, per distinct moment (the digest counts those of a period;
-- an achievement's time is when it was recorded, so moments are few and a bulk
-- load's share one).
CREATE TABLE community_milestone_moments (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    achieved_at   TEXT    NOT NULL,
    reached       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, achieved_at)
) WITHOUT ROWID;

INSERT INTO community_milestone_moments (community_id, achieved_at, reached)
SELECT community_id, achieved_at, count(*) FROM milestone_achievements GROUP BY 1, 2;

CREATE TRIGGER milestone_moments_insert AFTER INSERT ON milestone_achievements
BEGIN
    INSERT INTO community_milestone_moments (community_id, achieved_at, reached)
    VALUES (new.community_id, new.achieved_at, 1)
    ON CONFLICT (community_id, achieved_at) DO UPDATE SET reached = reached + 1;
END;

CREATE TRIGGER milestone_moments_delete AFTER DELETE ON milestone_achievements
BEGIN
    UPDATE community_milestone_moments SET reached = reached - 1
    WHERE community_id = old.community_id AND achieved_at = old.achieved_at;
END;

CREATE TRIGGER milestone_moments_update AFTER UPDATE OF community_id, achieved_at ON milestone_achievements
WHEN old.community_id IS NOT new.community_id OR old.achieved_at IS NOT new.achieved_at
BEGIN
    UPDATE community_milestone_moments SET reached = reached - 1
    WHERE community_id = old.community_id AND achieved_at = old.achieved_at;
    INSERT INTO community_milestone_moments (community_id, achieved_at, reached)
    VALUES (new.community_id, new.achieved_at, 1)
    ON CONFLICT (community_id, achieved_at) DO UPDATE SET reached = reached + 1;
END;

-- A member's amounts by unit (`stats me`), kept by the contribution writer in the
-- batch's transaction (one multi-row statement per batch), recomputed for a member
-- whose contributions move (merge); erased with the member.
CREATE TABLE member_unit_amounts (
    member_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    unit       TEXT    NOT NULL,
    amount     REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, unit)
) WITHOUT ROWID;

INSERT INTO member_unit_amounts (member_id, unit, amount)
SELECT member_id, unit, SUM(amount) FROM contributions
WHERE amount IS NOT NULL AND unit IS NOT NULL GROUP BY 1, 2;

-- The inactive list (away and gone members left out), most recently active first,
-- read a page at a time.
CREATE INDEX members_inactive_list ON members (community_id, last_active_on DESC, id)
    WHERE left_at IS NULL AND away_since IS NULL AND last_active_on IS NOT NULL;

