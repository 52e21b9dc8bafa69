-- Discord's own scheduled events (issue 19 §1): each Keel event whose card went
-- to a Discord server is also a native scheduled event there, when Keel may
-- manage events. One row per event and server, written when the notifier made
-- it, so that each later change of the card edits that one instead of making
-- another, and members marking "Interested" on it (a gateway event naming only
-- the scheduled event) find the Keel event they answer.
CREATE TABLE discord_scheduled_events (
    event_id            INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    scheduled_event_id  TEXT    NOT NULL UNIQUE,
    created_at          TEXT    NOT NULL,
    PRIMARY KEY (event_id, workspace_id)
);
CREATE INDEX discord_scheduled_events_by_workspace ON discord_scheduled_events (workspace_id);

-- The notifier finds the event a card delivery shows by its announcement.
CREATE INDEX events_by_card ON events (card_announcement_id)
    WHERE card_announcement_id IS NOT NULL;
