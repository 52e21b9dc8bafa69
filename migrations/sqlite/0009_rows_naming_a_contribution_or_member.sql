-- Deleting a contribution or a member (forget-me, merges) makes SQLite look for the
-- rows that name it, to clear or delete them, and with no index led by the naming
-- column each deleted row scanned the whole table. Erasing a member with 3,130
-- contributions in a community with 135,000 milestone achievements took 55 s, with
-- the write lock held all that time (2.8 s with these indexes). Announcements are looked up by the member they
-- are about the same way, and by forget-me itself. (A partial index would be
-- smaller, but SQLite uses only a full one for these lookups.)
CREATE INDEX milestone_achievements_by_contribution ON milestone_achievements (contribution_id);
CREATE INDEX milestone_achievements_by_member ON milestone_achievements (member_id);
CREATE INDEX announcements_by_member ON announcements (about_member_id);
