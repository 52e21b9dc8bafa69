-- Slack: installations (one per enterprise and team, tokens sealed with a key kept
-- outside the database), the install flow's one-time states, and the Events API
-- event ids already handled (a retried event is processed once).

CREATE TABLE slack_installations (
    id                INTEGER PRIMARY KEY,
    -- '' when the workspace is not part of an Enterprise Grid
    enterprise_id     TEXT    NOT NULL DEFAULT '',
    team_id           TEXT    NOT NULL,
    team_name         TEXT    NOT NULL,
    bot_user_id       TEXT,
    -- AES-256-GCM: 12-byte nonce then ciphertext; associated data 'slack:<enterprise>:<team>'
    bot_token_sealed  BLOB    NOT NULL,
    installer_user_id TEXT,
    scopes            TEXT    NOT NULL DEFAULT '',
    installed_at      TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    UNIQUE (enterprise_id, team_id)
);

-- Only hashes are stored: the state travels in the URL, the browser key in a cookie.
CREATE TABLE slack_oauth_states (
    state_hash    TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);

CREATE TABLE slack_events_seen (
    event_id  TEXT PRIMARY KEY,
    team_id   TEXT NOT NULL,
    seen_at   TEXT NOT NULL
);
CREATE INDEX slack_events_seen_by_time ON slack_events_seen (seen_at);

-- A workspace whose app was uninstalled (or bot removed) is purged after a grace
-- period the operator sets.
ALTER TABLE workspaces ADD COLUMN purge_after TEXT;
