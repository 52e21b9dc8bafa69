-- A catch-up of the window totals counts the rows written since the marks on a read
-- snapshot, before it takes the write lock, which that count held for over 100 ms
-- under load (src/store/windows.rs). It may apply what it counted only if the totals
-- were not rebuilt in between (erasure, merges and moves rebuild them from the daily
-- rows, which can leave the marks where they were): every rebuild adds one here.
ALTER TABLE community_window_marks ADD COLUMN rebuilds INTEGER NOT NULL DEFAULT 0;
