-- Keel's core schema. Ids never come back after a row is erased (AUTOINCREMENT), so
-- a forgotten member's id cannot be handed to someone else.
-- Keel's core schema. Every row that belongs to a tenant carries community_id (or
-- reaches it through a parent row), so every query can be scoped by community (T1).
-- Times are UTC RFC 3339 text; days are 'YYYY-MM-DD' text, which sort as dates.

-- The tenant. Counters here are kept by the single writer in the same transaction as
-- the rows they count; they exist so milestone crossings are found without scanning.
CREATE TABLE communities (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    timezone            TEXT    NOT NULL DEFAULT 'UTC',
    inactive_days       INTEGER NOT NULL DEFAULT 30 CHECK (inactive_days > 0),
    -- below this share of contributions linked to a goal or value, stats warn of drift
    alignment_threshold INTEGER NOT NULL DEFAULT 50 CHECK (alignment_threshold BETWEEN 0 AND 100),
    contribution_count  INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT    NOT NULL
);

-- A platform workspace (Discord guild, Slack team, console community) joined to a
-- community. One community may own several, so it can span Discord and Slack.
-- Channel and role are platform IDs, so they live here rather than on the community.
CREATE TABLE workspaces (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id      INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    platform          TEXT    NOT NULL CHECK (platform IN ('console', 'discord', 'slack')),
    external_id       TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    announce_channel  TEXT,
    organiser_role    TEXT,
    created_at        TEXT    NOT NULL,
    UNIQUE (platform, external_id)
);
CREATE INDEX workspaces_by_community ON workspaces (community_id);

-- A person within one community. Display names are for replies only; identity is
-- the identities table.
CREATE TABLE members (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id        INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    display_name        TEXT    NOT NULL,
    joined_at           TEXT    NOT NULL,
    left_at             TEXT,
    away_since          TEXT,
    contribution_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX members_by_community_name ON members (community_id, display_name COLLATE NOCASE);
CREATE INDEX members_by_joined ON members (community_id, joined_at);
CREATE INDEX members_by_contributions ON members (community_id, contribution_count DESC);

-- A platform user ID in one workspace, pointing at a member. One member may have
-- several (a Discord and a Slack identity joined with `link`).
CREATE TABLE identities (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_user_id  TEXT    NOT NULL,
    member_id         INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    UNIQUE (workspace_id, external_user_id)
);
CREATE INDEX identities_by_member ON identities (member_id);

-- The mission never changes in place: each change is a new version, so its history
-- (author, reason, time) is kept. value_names is a JSON array of strings.
CREATE TABLE mission_versions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id      INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    statement         TEXT    NOT NULL,
    value_names       TEXT    NOT NULL DEFAULT '[]',
    author_member_id  INTEGER REFERENCES members(id) ON DELETE SET NULL,
    reason            TEXT,
    created_at        TEXT    NOT NULL,
    UNIQUE (community_id, version)
);

CREATE TABLE goals (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id        INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    slug                TEXT    NOT NULL,
    title               TEXT    NOT NULL,
    target              REAL    NOT NULL CHECK (target > 0),
    unit                TEXT,
    deadline            TEXT,
    status              TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    progress            REAL    NOT NULL DEFAULT 0,
    contribution_count  INTEGER NOT NULL DEFAULT 0,
    -- first time progress reached target; goal-achievement rate compares it to deadline
    met_at              TEXT,
    created_by          INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at          TEXT    NOT NULL,
    closed_at           TEXT,
    UNIQUE (community_id, slug)
);

CREATE TABLE contributions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    description   TEXT    NOT NULL,
    amount        REAL,
    unit          TEXT,
    goal_id       INTEGER REFERENCES goals(id) ON DELETE SET NULL,
    value_name    TEXT,
    platform      TEXT    NOT NULL,
    happened_on   TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX contributions_by_member ON contributions (member_id, id);
CREATE INDEX contributions_by_community ON contributions (community_id, id);
CREATE INDEX contributions_by_goal ON contributions (goal_id) WHERE goal_id IS NOT NULL;

-- Custom milestones organisers add. The built-in ladders live in code
-- (domain::milestones); both are recorded in milestone_achievements.
CREATE TABLE milestones (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    goal_id       INTEGER REFERENCES goals(id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    threshold     REAL    NOT NULL CHECK (threshold > 0),
    created_by    INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX milestones_by_community ON milestones (community_id);

-- The unique key is what makes "each milestone is reached and announced at most
-- once" true even under concurrent writers: the second insert does nothing.
CREATE TABLE milestone_achievements (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id     INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    milestone_key    TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    member_id        INTEGER REFERENCES members(id) ON DELETE CASCADE,
    goal_id          INTEGER REFERENCES goals(id) ON DELETE CASCADE,
    contribution_id  INTEGER REFERENCES contributions(id) ON DELETE SET NULL,
    achieved_at      TEXT    NOT NULL,
    UNIQUE (community_id, milestone_key, subject)
);

CREATE TABLE kudos (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id    INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    from_member_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    to_member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    reason          TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    CHECK (from_member_id <> to_member_id)
);
CREATE INDEX kudos_by_from ON kudos (from_member_id);
CREATE INDEX kudos_by_to ON kudos (to_member_id);
CREATE INDEX kudos_by_community ON kudos (community_id, id);

-- Daily rollup per member: counts only, never message text (P1). Statistics read
-- this, so their cost grows with the window asked, not with the history.
CREATE TABLE member_daily_activity (
    community_id    INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day             TEXT    NOT NULL,
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    contributions   INTEGER NOT NULL DEFAULT 0,
    kudos_given     INTEGER NOT NULL DEFAULT 0,
    kudos_received  INTEGER NOT NULL DEFAULT 0,
    messages        INTEGER NOT NULL DEFAULT 0,
    reactions       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day, member_id)
) WITHOUT ROWID;
CREATE INDEX member_daily_activity_by_member ON member_daily_activity (member_id, day);

-- Daily rollup per community, so statistics read a row per day. dau/wau/mau are
-- the members active on the day / in the 7 / 28 days ending on it (PRODUCT.md);
-- they are kept exact by adding each member's share (domain::activity), and rows
-- exist ahead of today because today's activity counts in the coming windows.
CREATE TABLE community_daily_activity (
    community_id   INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    day            TEXT    NOT NULL,
    dau            INTEGER NOT NULL DEFAULT 0,
    wau            INTEGER NOT NULL DEFAULT 0,
    mau            INTEGER NOT NULL DEFAULT 0,
    contributions  INTEGER NOT NULL DEFAULT 0,
    kudos          INTEGER NOT NULL DEFAULT 0,
    -- contributions linked to a goal or a value (alignment, PRODUCT.md)
    aligned        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

-- Each member's totals over the rolling windows stats offers most (7, 28, 30 and
-- 90 days ending on as_of), so "top contributors" reads five rows, not a window's
-- worth of days. Rolled forward a day at a time from member_daily_activity, and
-- caught up with new contributions and kudos from community_window_marks.
CREATE TABLE member_window_totals (
    community_id    INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    window_days     INTEGER NOT NULL,
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    contributions   INTEGER NOT NULL DEFAULT 0,
    kudos_received  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, window_days, member_id)
) WITHOUT ROWID;
CREATE INDEX member_window_totals_ranked
    ON member_window_totals (community_id, window_days, contributions DESC, kudos_received DESC, member_id);
CREATE INDEX member_window_totals_by_member ON member_window_totals (member_id);

CREATE TABLE community_windows (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    window_days   INTEGER NOT NULL,
    as_of         TEXT    NOT NULL,
    PRIMARY KEY (community_id, window_days)
) WITHOUT ROWID;

-- How far the window totals have read: contributions and kudos with ids up to
-- these are counted. The totals catch up off the write path (a background job,
-- and any stats read that needs them exact), so recording stays cheap.
CREATE TABLE community_window_marks (
    community_id     INTEGER PRIMARY KEY REFERENCES communities(id) ON DELETE CASCADE,
    contribution_id  INTEGER NOT NULL DEFAULT 0,
    kudos_id         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE goal_daily_progress (
    goal_id        INTEGER NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    day            TEXT    NOT NULL,
    contributions  INTEGER NOT NULL DEFAULT 0,
    amount         REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (goal_id, day)
) WITHOUT ROWID;

-- One-time codes for `link`. Only a hash of the code is stored.
CREATE TABLE link_codes (
    code_hash     TEXT    PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('workspace', 'identity')),
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    member_id     INTEGER REFERENCES members(id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    used_at       TEXT
);

-- The outbox. An announcement is written in the same transaction as what caused it
-- (an achievement, a due schedule), with one delivery row per workspace; the
-- deliverer marks each delivered, so a restart neither loses nor repeats one.
-- body is the platform-neutral Reply as JSON.
CREATE TABLE announcements (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id     INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('milestone', 'digest', 'mission_reminder')),
    achievement_id   INTEGER UNIQUE REFERENCES milestone_achievements(id) ON DELETE CASCADE,
    about_member_id  INTEGER REFERENCES members(id) ON DELETE SET NULL,
    body             TEXT    NOT NULL,
    created_at       TEXT    NOT NULL
);
CREATE INDEX announcements_by_community ON announcements (community_id, id);

CREATE TABLE announcement_deliveries (
    announcement_id  INTEGER NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    delivered_at     TEXT,
    last_error       TEXT,
    PRIMARY KEY (announcement_id, workspace_id)
);
CREATE INDEX announcement_deliveries_due ON announcement_deliveries (status, next_attempt_at);

-- Recurring jobs live here, not in sleeping tasks, so they survive restarts and run
-- once per period: the row's next_run_at moves forward in the same transaction that
-- writes the announcement.
CREATE TABLE schedules (
    community_id  INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('digest', 'mission_reminder')),
    spec          TEXT    NOT NULL,
    next_run_at   TEXT,
    last_run_at   TEXT,
    PRIMARY KEY (community_id, kind)
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
