-- Insights (issue 5): what `stats`, `health`, charts and digests read, kept so each
-- reads a handful of rows however long the history (PRODUCT.md, "Metric definitions").
-- Everything here is derived from member_daily_activity, contributions and kudos, is
-- kept by the same writer transactions that change those, and is filled in below for
-- databases that already have history.

-- First and last day of any activity, and the days of a member's 1st, 2nd and 4th
-- contribution (newcomer conversion, CHAOSS). Inactive = now − last activity > the
-- community's interval; a member's retention cohort is the period of their first
-- activity.
ALTER TABLE members ADD COLUMN first_active_on TEXT;
ALTER TABLE members ADD COLUMN last_active_on TEXT;
ALTER TABLE members ADD COLUMN first_contribution_on TEXT;
ALTER TABLE members ADD COLUMN second_contribution_on TEXT;
ALTER TABLE members ADD COLUMN fourth_contribution_on TEXT;
-- Covering for the inactive count and list (left and away members are filtered out).
CREATE INDEX members_by_last_active ON members (community_id, last_active_on, away_since) WHERE left_at IS NULL;
-- Covering, so conversion over a window reads the index only.
CREATE INDEX members_by_first_contribution
    ON members (community_id, first_contribution_on, second_contribution_on, fourth_contribution_on)
    WHERE first_contribution_on IS NOT NULL;
-- Newcomers yet to contribute are found without reading every recent joiner.
CREATE INDEX members_not_contributed ON members (community_id, joined_at) WHERE contribution_count = 0;
CREATE INDEX members_by_left ON members (community_id, left_at) WHERE left_at IS NOT NULL;

-- Retention cohorts: members whose first activity fell in period `cohort` and who
-- were active in period `period` (period_kind 'week': Monday-started UTC weeks;
-- 'month': calendar months; both keyed by their first day). R(w,k) is the row for
-- (w, w+k) divided by the row for (w, w).
CREATE TABLE cohort_activity (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    period_kind   TEXT    NOT NULL CHECK (period_kind IN ('week', 'month')),
    cohort        TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    members       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, period_kind, cohort, period)
) WITHOUT ROWID;

-- Activity by UTC hour of the moment it was recorded (contributions and kudos), per
-- day, so the hour-of-day histogram over any window sums 24 rows a day.
CREATE TABLE community_hourly_activity (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day           TEXT    NOT NULL,
    hour          INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    events        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day, hour)
) WITHOUT ROWID;

-- Health signals (drop, overload by active days) as of a day, for the members who
-- show them. Computed once a day per community and then kept for the members whose
-- active days changed (member_signal_dirty), so `health` reads the flagged few.
CREATE TABLE member_signals (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    signal        TEXT    NOT NULL CHECK (signal IN ('drop', 'overload')),
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, signal, member_id)
) WITHOUT ROWID;
CREATE INDEX member_signals_by_member ON member_signals (member_id);

CREATE TABLE community_signal_marks (
    community_id  INTEGER PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    as_of         TEXT    NOT NULL
);

-- Members whose active days changed since their signals were computed.
CREATE TABLE member_signal_dirty (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, member_id)
) WITHOUT ROWID;
CREATE INDEX member_signal_dirty_by_member ON member_signal_dirty (member_id);

-- Milestones reached in a period (the digest counts and lists them).
CREATE INDEX milestone_achievements_by_time ON milestone_achievements (community_id, achieved_at);

-- A community may take milestones in its digest only, instead of one post each.
ALTER TABLE communities ADD COLUMN milestones_in_digest_only INTEGER NOT NULL DEFAULT 0
    CHECK (milestones_in_digest_only IN (0, 1));

-- Fill in what existing history implies.
UPDATE members SET
    first_active_on = (SELECT min(day) FROM member_daily_activity d WHERE d.member_id = members.id),
    last_active_on = (SELECT max(day) FROM member_daily_activity d WHERE d.member_id = members.id);

UPDATE members SET
    first_contribution_on = n.first, second_contribution_on = n.second, fourth_contribution_on = n.fourth
FROM (
    SELECT member_id,
           max(CASE WHEN nth = 1 THEN happened_on END) AS first,
           max(CASE WHEN nth = 2 THEN happened_on END) AS second,
           max(CASE WHEN nth = 4 THEN happened_on END) AS fourth
    FROM (SELECT member_id, happened_on,
                 row_number() OVER (PARTITION BY member_id ORDER BY happened_on, id) AS nth
          FROM contributions)
    WHERE nth IN (1, 2, 4)
    GROUP BY member_id
) AS n
WHERE members.id = n.member_id;

INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
SELECT a.community_id, 'week', date(m.first_active_on, 'weekday 0', '-6 days'), a.period, count(*)
FROM (SELECT DISTINCT community_id, member_id, date(day, 'weekday 0', '-6 days') AS period
      FROM member_daily_activity) AS a
JOIN members m ON m.id = a.member_id
GROUP BY 1, 3, 4;

INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
SELECT a.community_id, 'month', date(m.first_active_on, 'start of month'), a.period, count(*)
FROM (SELECT DISTINCT community_id, member_id, date(day, 'start of month') AS period
      FROM member_daily_activity) AS a
JOIN members m ON m.id = a.member_id
GROUP BY 1, 3, 4;

INSERT INTO community_hourly_activity (community_id, day, hour, events)
SELECT community_id, day, hour, sum(n) FROM (
    SELECT community_id, substr(created_at, 1, 10) AS day, CAST(substr(created_at, 12, 2) AS INTEGER) AS hour,
           count(*) AS n
    FROM contributions GROUP BY 1, 2, 3
    UNION ALL
    SELECT community_id, substr(created_at, 1, 10), CAST(substr(created_at, 12, 2) AS INTEGER), count(*)
    FROM kudos GROUP BY 1, 2, 3
) GROUP BY 1, 2, 3;
