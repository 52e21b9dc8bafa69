-- Wakes the jobs workers of every Keel process when a delivery is queued or
-- falls due again (issue 20): a Slack or Discord process queues an
-- announcement, and a jobs process elsewhere hears of it at once through
-- LISTEN keel_outbox instead of at its next look (30 s at most). NOTIFY goes
-- out when the transaction commits, once per transaction however many rows.
-- SQLite has one process, which wakes its worker in memory.
CREATE FUNCTION keel_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keel_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER announcement_deliveries_notify
    AFTER INSERT OR UPDATE OF next_attempt_at ON announcement_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION keel_outbox_notify();
