-- Each run of a schedule, by the period it was for (issue 20 §2): the key makes
-- a digest or mission reminder go once per period whichever of several Keel
-- processes gets there first, and says when each went. Written in the same
-- transaction as the schedule's move and the post it queues.
CREATE TABLE schedule_runs (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    ran_at        TEXT    NOT NULL,
    PRIMARY KEY (community_id, kind, period)
);
