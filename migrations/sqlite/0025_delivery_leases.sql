-- Which worker delivers a workspace's announcements now (issue 20 §2): one at a
-- time across every Keel process, so their order, the platform's rate limits and
-- Slack's history budget stay with one worker. A lease is a row rather than a
-- lock held open: a worker holds it across many transactions and platform calls,
-- renews it with each attempt it begins, and gives it back when done. A worker
-- that dies stops renewing, and another takes the workspace over once the lease
-- has expired.
CREATE TABLE delivery_leases (
    workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    holder        TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
