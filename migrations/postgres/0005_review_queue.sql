-- The review queue (issue 18 §4); see migrations/sqlite/0018_review_queue.sql.
-- Ids come from the contributions' identity sequence (nextval of
-- pg_get_serial_sequence('contributions', 'id')).
CREATE TABLE pending_contributions (
    id            BIGINT PRIMARY KEY,
    community_id  BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id     BIGINT NOT NULL,
    description   TEXT COLLATE "C" NOT NULL,
    amount        DOUBLE PRECISION,
    unit          TEXT COLLATE "C",
    goal_id       BIGINT REFERENCES goals(id) ON DELETE SET NULL,
    value_name    TEXT COLLATE "C",
    platform      TEXT COLLATE "C" NOT NULL,
    happened_on   TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'rejected')),
    reviewer_id   BIGINT,
    reason        TEXT COLLATE "C",
    decided_at    TEXT COLLATE "C"
);
CREATE INDEX pending_contributions_waiting ON pending_contributions (community_id, status, id);
CREATE INDEX pending_contributions_by_member ON pending_contributions (member_id, id);

ALTER TABLE workspaces ADD COLUMN review_channel TEXT COLLATE "C";
