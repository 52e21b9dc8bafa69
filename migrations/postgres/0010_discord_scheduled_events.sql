-- Discord's own scheduled events (issue 19 §1); see
-- migrations/sqlite/0023_discord_scheduled_events.sql for what the table is for.
-- The same table and keys, in PostgreSQL's types.
CREATE TABLE discord_scheduled_events (
    event_id            BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    workspace_id        BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    scheduled_event_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (event_id, workspace_id)
);
CREATE INDEX discord_scheduled_events_by_workspace ON discord_scheduled_events (workspace_id);

-- The notifier finds the event a card delivery shows by its announcement.
CREATE INDEX events_by_card ON events (card_announcement_id)
    WHERE card_announcement_id IS NOT NULL;
