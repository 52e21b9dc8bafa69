-- While a platform asks a workspace to wait (a 429's Retry-After, or the backoff
-- after a failure), every announcement for that workspace waits until then,
-- including those queued meanwhile: its deliveries are moved to that time, and
-- new ones are queued for it.
ALTER TABLE workspaces ADD COLUMN announcements_held_until TEXT;
