-- Fair play (issue 18 §4).
--
-- Kudos allowance: a giver may give at most kudos_per_week kudos over any rolling
-- 7 days, and thank the same member at most once in 24 hours. Both are checked
-- when kudos is given, from the giver's recent kudos: the index by giver now
-- carries the time, so the check reads only the giver's last week.
ALTER TABLE communities ADD COLUMN kudos_per_week INTEGER NOT NULL DEFAULT 10
    CHECK (kudos_per_week > 0);
DROP INDEX kudos_by_from;
CREATE INDEX kudos_by_from ON kudos (from_member_id, created_at);

-- Goal caps: the most one contribution may add to the goal (max_amount; bigger
-- is refused), and above what it waits for an organiser's review (review_above,
-- stored and shown until the review queue comes; never above max_amount).
ALTER TABLE goals ADD COLUMN max_amount REAL CHECK (max_amount > 0);
ALTER TABLE goals ADD COLUMN review_above REAL
    CHECK (review_above > 0 AND (max_amount IS NULL OR review_above <= max_amount));
