-- A change may concern two members' records (a removed kudos: its receiver in
-- member_id, its giver here): the entry goes at either one's forget-me, and a
-- merge renumbers it, as member_id (`store/sql/corrections.rs`).
ALTER TABLE record_changes ADD COLUMN other_member_id INTEGER;
CREATE INDEX record_changes_by_other_member ON record_changes (other_member_id);
