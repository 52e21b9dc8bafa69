-- Contributions are written far more often than a member's whole history is read,
-- and an index led by member_id cost every contribution batch a page per member in
-- it: under load about 11 of a batch's 25 WAL pages, each written, synced and
-- checkpointed. The community index now carries member_id, so a member's
-- contributions are found by filtering their community's entries inside the index
-- (erasure, merges, `contributions @member`, `export me`: all rare), and the index
-- by member goes.
--
-- A foreign key needs an index led by its column to find a deleted parent's rows;
-- without one every deleted member would scan the whole table. So the member key
-- leaves the schema and its rule is kept in code: a member's contributions are
-- deleted (forget-me) or moved (merges) before the member is, and a community's
-- contributions go with it (community_id still cascades). The key is removed the way
-- SQLite documents for dropping a FOREIGN KEY constraint, by rewriting the table's
-- definition in place (sqlite.org/lang_altertable.html#otheralter), which changes
-- nothing on disk; RESET makes this connection read the definition again, and the
-- index changes below tell every other connection to.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql,
    'member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,',
    'member_id     INTEGER NOT NULL,')
WHERE type = 'table' AND name = 'contributions';
PRAGMA writable_schema = RESET;

DROP INDEX contributions_by_member;
DROP INDEX contributions_by_community;
CREATE INDEX contributions_by_community ON contributions (community_id, id, member_id);
