-- Events (issue 19 §1): an activity the community plans, with RSVPs, a waitlist,
-- reminders and attendance that counts as a contribution (`store/sql/events.rs`).
--
-- Times are RFC 3339 UTC text, as everywhere; `ends_at` is kept beside
-- `starts_at` so check-in's window and "upcoming" read one row. `checkin_code`
-- is shown to organisers only, in private replies. `day_reminders_at` and
-- `hour_reminders_at` say when the reminders' sweep of the event was made: a
-- member who answers after a reminder's moment is not owed that reminder, so
-- one sweep per kind is enough and a swept event is not read again. A change of
-- time clears both (and the event's reminders), so the new time is reminded.
-- `card_announcement_id` is the event card posted for it, once the platforms
-- post one.
CREATE TABLE events (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    community_id         INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    title                TEXT    NOT NULL,
    starts_at            TEXT    NOT NULL,
    ends_at              TEXT    NOT NULL,
    place                TEXT,
    goal_id              INTEGER REFERENCES goals(id) ON DELETE SET NULL,
    amount               REAL CHECK (amount IS NULL OR amount > 0),
    capacity             INTEGER CHECK (capacity IS NULL OR capacity > 0),
    checkin_code         TEXT    NOT NULL,
    created_by           INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at           TEXT    NOT NULL,
    cancelled_at         TEXT,
    cancel_reason        TEXT,
    day_reminders_at     TEXT,
    hour_reminders_at    TEXT,
    card_announcement_id INTEGER
);
-- `event list` reads the few events near now, past thousands of old ones.
CREATE INDEX events_by_start ON events (community_id, starts_at);
-- The reminders' sweep, across communities: events about to start.
CREATE INDEX events_to_remind ON events (starts_at) WHERE cancelled_at IS NULL;
CREATE INDEX events_by_creator ON events (created_by) WHERE created_by IS NOT NULL;
CREATE INDEX events_by_goal ON events (goal_id) WHERE goal_id IS NOT NULL;

-- One answer per member and event, replaced when they answer again. Places go
-- in the order of `yes_at` (when their current yes was given); past capacity a
-- yes is `waitlisted` until a place frees up.
CREATE TABLE event_rsvps (
    event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    answer       TEXT    NOT NULL CHECK (answer IN ('yes', 'no', 'maybe')),
    answered_at  TEXT    NOT NULL,
    yes_at       TEXT,
    waitlisted   INTEGER NOT NULL DEFAULT 0 CHECK (waitlisted IN (0, 1)),
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX event_rsvps_by_answer ON event_rsvps (event_id, answer, waitlisted, yes_at);
CREATE INDEX event_rsvps_by_member ON event_rsvps (member_id);

-- Who attended, once per member and event: by the check-in code, recorded by an
-- organiser, or both. `counted_at` is when their one contribution for it was
-- written (`contribution_id`, NULL again if that contribution is removed, which
-- does not count them a second time).
CREATE TABLE event_attendance (
    event_id         INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    member_id        INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    checked_in_at    TEXT,
    recorded_by      INTEGER REFERENCES members(id) ON DELETE SET NULL,
    recorded_at      TEXT,
    contribution_id  INTEGER REFERENCES contributions(id) ON DELETE SET NULL,
    counted_at       TEXT,
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX event_attendance_by_member ON event_attendance (member_id);
CREATE INDEX event_attendance_by_recorder ON event_attendance (recorded_by)
    WHERE recorded_by IS NOT NULL;
CREATE INDEX event_attendance_by_contribution ON event_attendance (contribution_id)
    WHERE contribution_id IS NOT NULL;

-- Reminders queued, once per event, member and kind: written in the transaction
-- that queues the message, so a restart never sends one twice.
CREATE TABLE event_reminders (
    event_id   INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('day', 'hour')),
    sent_at    TEXT    NOT NULL,
    PRIMARY KEY (event_id, member_id, kind)
);
CREATE INDEX event_reminders_by_member ON event_reminders (member_id);
