-- The review queue (issue 18 §4): a contribution adding more to its goal than
-- the goal's review_above waits here for an organiser, counting nowhere until
-- approved. Its id comes from the contributions' own sequence (sqlite_sequence),
-- so approval stores it as a contribution under the #id its member was shown.
-- A rejected one stays, with who rejected it, when and why, until its member is
-- forgotten. `reviewer_id` is not a foreign key: a merge renumbers it and an
-- erasure clears it explicitly (`store/sql/forget.rs`), as in record_changes.
CREATE TABLE pending_contributions (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    description   TEXT    NOT NULL,
    amount        REAL,
    unit          TEXT,
    goal_id       INTEGER REFERENCES goals(id) ON DELETE SET NULL,
    value_name    TEXT,
    platform      TEXT    NOT NULL,
    happened_on   TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'rejected')),
    reviewer_id   INTEGER,
    reason        TEXT,
    decided_at    TEXT
);
CREATE INDEX pending_contributions_waiting ON pending_contributions (community_id, status, id);
CREATE INDEX pending_contributions_by_member ON pending_contributions (member_id, id);

-- Where a workspace's review requests are posted, with Approve / Reject buttons.
ALTER TABLE workspaces ADD COLUMN review_channel TEXT;
