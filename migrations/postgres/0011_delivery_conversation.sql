-- The conversation a delivery to a group opened (Discord's private thread for an
-- introduction), written as soon as it exists and before anything is posted in
-- it: an attempt that fails after the thread was made posts into that thread
-- when tried again, instead of making a second one, and a thread whose post is
-- uncertain is the place to look for it.
ALTER TABLE announcement_deliveries ADD COLUMN conversation TEXT;
