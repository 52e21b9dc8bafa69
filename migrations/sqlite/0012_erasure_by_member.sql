-- Erasure that is complete and bounded (RELIABILITY.md R6, R8).
--
-- Announcements record the members they name. Until now forget-me found the lines
-- to remove by the member's current display name, so an announcement written before
-- a rename kept its text, and a digest (which names no member in about_member_id)
-- kept "… logged their first contribution!" for good. Bodies now carry member
-- references (a `Member` span with the member's id), and this table says which
-- announcements name whom; erasure redacts by member id, in the database and, through
-- the outbox, in the messages already posted.
CREATE TABLE announcement_members (
    announcement_id  INTEGER NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    member_id        INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    -- 1: the announcement is about them (their own milestone, a message to them) and
    -- is redacted whole; 0: some of its lines name them, and only those lines go.
    whole            INTEGER NOT NULL CHECK (whole IN (0, 1)),
    PRIMARY KEY (announcement_id, member_id)
) WITHOUT ROWID;
CREATE INDEX announcement_members_by_member ON announcement_members (member_id, announcement_id);

-- What earlier Keel recorded: the member a milestone announcement is about (whole
-- when it is their own milestone), and the members whose milestones a digest listed
-- (found by the "• <title>" line the digest wrote, within the month before it). These
-- bodies carry no member references, so redaction replaces them whole.
INSERT INTO announcement_members (announcement_id, member_id, whole)
SELECT a.id, a.about_member_id,
       a.achievement_id IS NULL OR EXISTS (SELECT 1 FROM milestone_achievements m
                                           WHERE m.id = a.achievement_id AND m.member_id = a.about_member_id)
FROM announcements a
WHERE a.about_member_id IS NOT NULL AND EXISTS (SELECT 1 FROM members WHERE id = a.about_member_id);

INSERT OR IGNORE INTO announcement_members (announcement_id, member_id, whole)
SELECT a.id, m.member_id, 0
FROM announcements a
JOIN milestone_achievements m ON m.community_id = a.community_id AND m.member_id IS NOT NULL
    AND m.achieved_at < a.created_at AND m.achieved_at >= date(a.created_at, '-31 days')
WHERE a.kind = 'digest' AND instr(a.body, json_quote('• ' || m.title)) > 0;

-- A body changed after it was fetched for posting (a redaction) is known by its
-- revision: the post that went out with the older one is then edited.
ALTER TABLE announcements ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- What a delivery does: post the announcement, or edit the message a post made
-- (posted_channel, posted_message) to show the current body. An edit can be made
-- again safely, so it needs no record of uncertain attempts, and it never expires.
ALTER TABLE announcement_deliveries ADD COLUMN action TEXT NOT NULL DEFAULT 'post'
    CHECK (action IN ('post', 'edit'));

-- Erasures under way. forget-me confirm deleted everything of a member in one write
-- transaction and then rebuilt the community's rolling-window totals: in a demo
-- community of 1,000,000 contributions it held the write lock 1.3 s for a member
-- with 6,991 contributions, and 0.83 s for one with none, and every tenant waited.
-- Now a request removes the member's identities at once (nothing more can be
-- recorded for them), and their rows go in transactions of 250, each adjusting the
-- counts by what it removes (src/store/forget.rs): at most 19 ms at a time for that
-- member, 1 ms for one with none (`cargo bench --bench erasure`). The row keeps the
-- work across restarts; it goes once the member is gone and the WAL no longer holds
-- their text (erased_at marks the time between).
CREATE TABLE erasures (
    -- Not a foreign key: the member row goes first.
    member_id     INTEGER PRIMARY KEY,
    reason        TEXT    NOT NULL CHECK (reason IN ('forget-me', 'purge')),
    requested_at  TEXT    NOT NULL,
    erased_at     TEXT
);

-- Merges under way (`link`: one member's account joined to another's). Their
-- member-level rows (identities, active days, totals, kudos) merge at once; their
-- contributions move a few hundred per transaction, found by id, since moving all
-- of them at once held the lock for as long as rewriting them took (341 ms for
-- 2,880 contributions in a community of 1,000,000; now at most 29 ms at a time). The
-- row keeps the work across restarts; the merged member's row goes when it is done.
CREATE TABLE merges (
    -- Not foreign keys: the merged member's row goes first.
    from_member_id  INTEGER PRIMARY KEY,
    into_member_id  INTEGER NOT NULL,
    requested_at    TEXT    NOT NULL
);
