-- Delivery that says what it knows (RELIABILITY.md R3, R9).
--
-- Until now a delivery was marked done only after the platform answered, so a post
-- that went through while its answer was lost (a timeout, a dropped connection, a
-- crash) was posted again after a restart: two messages in the channel. Now the
-- attempt is recorded before the post and cleared by its answer. A delivery still
-- pending with an attempt on record is *uncertain*: before posting it again the
-- deliverer asks the platform whether it went through (Slack: the message metadata
-- naming the announcement, in the channel's recent history; Discord: the nonce, then
-- the channel's recent messages). Every post's channel and message id (Slack's ts)
-- is kept, so a later redaction can edit it.
--
-- The outbox also sends private messages to one member (recipient: their user id on
-- the workspace's platform), and an announcement that has outlived its use expires
-- instead of posting: expires_at for digests and reminders (the next period), a
-- configured age for milestones.
--
-- The CHECK constraints on announcements.kind and announcement_deliveries.status are
-- widened in place, the way SQLite documents for changes that leave what is on disk
-- valid (sqlite.org/lang_altertable.html#otheralter): every stored value still
-- passes. The kind is now checked in code, where new kinds are added. RESET makes
-- this connection read the definitions again; the ALTERs below tell every other.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql,
    'kind             TEXT    NOT NULL CHECK (kind IN (''milestone'', ''digest'', ''mission_reminder'')),',
    'kind             TEXT    NOT NULL,')
WHERE type = 'table' AND name = 'announcements';
UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''delivered'', ''failed''))',
    'CHECK (status IN (''pending'', ''delivered'', ''failed'', ''expired''))')
WHERE type = 'table' AND name = 'announcement_deliveries';
PRAGMA writable_schema = RESET;

ALTER TABLE announcements ADD COLUMN expires_at TEXT;

ALTER TABLE announcement_deliveries ADD COLUMN recipient TEXT;
ALTER TABLE announcement_deliveries ADD COLUMN attempt_started_at TEXT;
ALTER TABLE announcement_deliveries ADD COLUMN uncertain_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE announcement_deliveries ADD COLUMN posted_channel TEXT;
ALTER TABLE announcement_deliveries ADD COLUMN posted_message TEXT;

-- Due deliveries are fetched per workspace, in order, by one worker at a time.
CREATE INDEX announcement_deliveries_due_by_workspace
    ON announcement_deliveries (workspace_id, next_attempt_at, announcement_id)
    WHERE status = 'pending';
