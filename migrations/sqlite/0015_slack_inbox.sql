-- What Slack sends is written here before Keel acknowledges it (RELIABILITY.md
-- S5, R9), and marked handled only after its effect.
--
-- Until now an Events API event id was recorded as seen before the event was
-- handled: a crash or a timeout in between made Slack's retry look like a
-- duplicate, and the event was lost. Socket Mode acknowledged an envelope only
-- after handling it inline, one at a time, so one slow handler (a Web API call
-- with no answer) stopped every acknowledgement behind it.
--
-- Now each event (keyed by its event id) and each Socket Mode envelope (keyed by
-- its slash command's trigger id, or its envelope id) is a row. A duplicate of a
-- handled row is answered at once and changes nothing; an unhandled one is
-- handled, by whoever claims it (claimed_until, a lease: two deliveries of the
-- same event are never handled at once). A row left unhandled by a crash or a
-- failure is handled again by the inbox's own loop after a restart.
CREATE TABLE slack_inbox (
    id             INTEGER PRIMARY KEY,
    dedupe_key     TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    team_id        TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    received_at    TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_until  TEXT,
    handled_at     TEXT,
    last_error     TEXT
);
CREATE INDEX slack_inbox_unhandled ON slack_inbox (id) WHERE handled_at IS NULL;
CREATE INDEX slack_inbox_by_time ON slack_inbox (received_at);

-- The inbox keeps handled event ids for the same two days.
DROP TABLE slack_events_seen;
