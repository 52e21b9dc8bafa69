-- The window histogram (0004) moved members between buckets with a trigger on every
-- update of member_window_totals: two more row writes per member and window, in the
-- transactions that hold the one write lock, which cost Slack's signed contribute
-- about a fifth of its throughput. The windows code now moves them itself, one
-- statement per batch (src/store/windows.rs); inserts and deletes keep their triggers.
DROP TRIGGER member_window_histogram_update;
