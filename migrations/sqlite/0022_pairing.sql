-- Introductions (issue 19 §2): members opt into pairing; on the community's
-- schedule, or when an organiser asks, a round groups them (never with a member
-- either asked to avoid, and not again with anyone met in the last rounds) and
-- introduces each group in a conversation of its own (`store/sql/pairing.rs`).
--
-- `pairing_size` is how many a group holds (those left over join groups).
-- A workspace's `pairing_channel` is where Discord's private threads are made.
ALTER TABLE communities ADD COLUMN pairing_size INTEGER NOT NULL DEFAULT 2;
ALTER TABLE workspaces ADD COLUMN pairing_channel TEXT;

-- A delivery to a group of members: their user ids on its workspace, as a JSON
-- array (Slack opens a group DM with them; Discord a private thread in the
-- delivery's channel, or a DM to each).
ALTER TABLE announcement_deliveries ADD COLUMN recipients TEXT;

-- "Yes, we met" counts as activity (PRODUCT.md "Activity"): a member's day
-- counts their confirmed introductions beside their contributions and kudos.
ALTER TABLE member_daily_activity ADD COLUMN introductions INTEGER NOT NULL DEFAULT 0;

-- The community's round schedule (`setup pairing`), and when it next runs.
CREATE TABLE pairing_schedules (
    community_id   INTEGER PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    spec           TEXT    NOT NULL,
    next_round_at  TEXT    NOT NULL
);
CREATE INDEX pairing_schedules_due ON pairing_schedules (next_round_at);

-- Members opted in (`pair join`), until they leave it.
CREATE TABLE pairing_members (
    member_id     INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    joined_at     TEXT    NOT NULL
);
CREATE INDEX pairing_members_by_community ON pairing_members (community_id);

-- `pair avoid @member`: never grouped together, whoever asked. Private.
CREATE TABLE pairing_avoids (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    avoided_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (member_id, avoided_id)
);
CREATE INDEX pairing_avoids_by_avoided ON pairing_avoids (avoided_id);

-- A round. `period` is the scheduled moment it ran for (NULL for `pair now`):
-- one round per period, however many processes see it fall due.
CREATE TABLE pairing_rounds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    ran_at        TEXT    NOT NULL,
    period        TEXT,
    UNIQUE (community_id, period)
);
CREATE INDEX pairing_rounds_by_community ON pairing_rounds (community_id, id);

-- A group of a round, in one workspace: `introduction_id` is the announcement
-- that introduced them; `follow_up_at` is when they are asked "Did you meet?",
-- NULL once asked.
CREATE TABLE pairing_groups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id         INTEGER NOT NULL REFERENCES pairing_rounds(id) ON DELETE CASCADE,
    community_id     INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    workspace_id     INTEGER REFERENCES workspaces(id) ON DELETE SET NULL,
    follow_up_at     TEXT,
    introduction_id  INTEGER
);
CREATE INDEX pairing_groups_by_round ON pairing_groups (round_id);
CREATE INDEX pairing_groups_follow_up ON pairing_groups (follow_up_at)
    WHERE follow_up_at IS NOT NULL;

-- A group's members, and each one's answer to "Did you meet?" (1 yes, 0 no).
CREATE TABLE pairing_group_members (
    group_id     INTEGER NOT NULL REFERENCES pairing_groups(id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    met          INTEGER CHECK (met IN (0, 1)),
    answered_at  TEXT,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX pairing_group_members_by_member ON pairing_group_members (member_id);
