-- When the next Discord shard may connect (issue 20 §1); see
-- migrations/sqlite/0026_discord_identify_turns.sql.
CREATE TABLE discord_identify_turns (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    free_at  TEXT COLLATE "C" NOT NULL
);
INSERT INTO discord_identify_turns (id, free_at) VALUES (1, '1970-01-01T00:00:00.000Z');
