-- Starting an install (GET /slack/install, which anyone may request) wrote a row
-- into slack_oauth_states and first ran a DELETE of expired rows that no index
-- served, both under the one write lock. 10,000 requests grew the database and its
-- WAL by 12 MB; 1,000,000 grew the database to 280 MB, and a member's contribution
-- waited 533 ms behind them.
--
-- The state is now signed, carries its own expiry and is bound to the browser's
-- cookie (src/slack/install_state.rs), so starting an install writes nothing. Only
-- a callback whose state and cookie verify writes, here: the state's hash, so that
-- it is refused if it comes again. A row is useless once its state has expired
-- (ten minutes); the Slack upkeep loop deletes those through the index on expiry,
-- off any request's path.
--
-- States issued before this migration were rows of the table dropped here: an
-- install started before the upgrade and finished after it has to start again.
DROP TABLE slack_oauth_states;

CREATE TABLE slack_install_states_used (
    -- hex SHA-256 of the state
    state_hash  TEXT PRIMARY KEY,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX slack_install_states_used_by_expiry ON slack_install_states_used (expires_at);
