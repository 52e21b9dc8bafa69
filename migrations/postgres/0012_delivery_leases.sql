-- Which worker delivers a workspace's announcements now (issue 20 §2); see
-- migrations/sqlite/0025_delivery_leases.sql for what the table is for. The
-- same table, in PostgreSQL's types.
CREATE TABLE delivery_leases (
    workspace_id  BIGINT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    holder        TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);
