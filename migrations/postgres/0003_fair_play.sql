-- Fair play (issue 18 §4); see migrations/sqlite/0017_fair_play.sql.
ALTER TABLE communities ADD COLUMN kudos_per_week BIGINT NOT NULL DEFAULT 10
    CHECK (kudos_per_week > 0);
DROP INDEX kudos_by_from;
CREATE INDEX kudos_by_from ON kudos (from_member_id, created_at);

ALTER TABLE goals ADD COLUMN max_amount DOUBLE PRECISION CHECK (max_amount > 0);
ALTER TABLE goals ADD COLUMN review_above DOUBLE PRECISION CHECK (review_above > 0);
ALTER TABLE goals ADD CONSTRAINT goals_review_within_max
    CHECK (max_amount IS NULL OR review_above IS NULL OR review_above <= max_amount);
