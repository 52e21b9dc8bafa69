-- When the next Discord shard may connect (issue 20 §1). Discord lets a bot
-- identify one shard per 5 s (max_concurrency 1); serenity paces the shards of
-- one process but knows nothing of other processes. A process starting its
-- shards first reserves a window from here for all of them, and waits for it.
CREATE TABLE discord_identify_turns (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    free_at  TEXT    NOT NULL
);
INSERT INTO discord_identify_turns (id, free_at) VALUES (1, '1970-01-01T00:00:00.000Z');
