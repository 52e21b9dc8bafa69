-- Fair play (issue 18 §4); see migrations/sqlite/0017_fair_play.sql.
ALTER TABLE communities ADD COLUMN kudos_per_week BIGINT NOT NULL DEFAULT 10
    CHECK (kudos_per_week > 0);
DROP INDEX kudos_by_from;
CREATE INDEX kudos_by_from ON kudos (from_member_id, created_at);
