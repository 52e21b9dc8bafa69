-- A change may concern two members' records; see
-- migrations/sqlite/0019_record_changes_other_member.sql.
ALTER TABLE record_changes ADD COLUMN other_member_id BIGINT;
CREATE INDEX record_changes_by_other_member ON record_changes (other_member_id);
