-- The record's audit trail (issue 18 §3): every correction keeps what was there
-- before, who changed it, when and why. `member_id` is whose record it is (their
-- entries go with them at forget-me); `actor_id` who changed it (NULL once they
-- are forgotten: "a former member"). Neither is a foreign key: a merge renumbers
-- them and an erasure takes them out explicitly (`store/sql/forget.rs`), before
-- the member row goes. `before` and `after` are JSON, NULL where there is none
-- (a removal has no after, an approval no before).
CREATE TABLE record_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    subject       TEXT    NOT NULL
        CHECK (subject IN ('contribution', 'goal', 'milestone', 'kudos', 'achievement')),
    subject_id    INTEGER NOT NULL,
    action        TEXT    NOT NULL
        CHECK (action IN ('edit', 'remove', 'approve', 'reject', 'retract', 'reopen')),
    member_id     INTEGER,
    actor_id      INTEGER,
    before        TEXT,
    after         TEXT,
    reason        TEXT,
    created_at    TEXT    NOT NULL
);
CREATE INDEX record_changes_by_time ON record_changes (community_id, created_at);
CREATE INDEX record_changes_by_member ON record_changes (member_id);
CREATE INDEX record_changes_by_actor ON record_changes (actor_id);
