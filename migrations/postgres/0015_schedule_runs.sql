-- Each run of a schedule, by the period it was for (issue 20 §2); see
-- migrations/sqlite/0027_schedule_runs.sql.
CREATE TABLE schedule_runs (
    community_id  BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind          TEXT COLLATE "C" NOT NULL,
    period        TEXT COLLATE "C" NOT NULL,
    ran_at        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (community_id, kind, period)
);
