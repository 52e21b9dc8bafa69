-- Review requests (`store/sql/review.rs`): a delivery may go to a channel of its
-- own rather than the workspace's announcement channel (the review channel, as it
-- was set when the contribution began to wait), and an announcement may concern
-- one contribution, so deciding it updates the requests already posted.
ALTER TABLE announcement_deliveries ADD COLUMN channel TEXT;
ALTER TABLE announcements ADD COLUMN contribution_id BIGINT;
CREATE INDEX announcements_by_contribution ON announcements (contribution_id)
    WHERE contribution_id IS NOT NULL;
