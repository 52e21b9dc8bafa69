//! The outbox's statements for the contribution writer: announcing, from the
//! writer's JSON array of milestones crossed, the achievements it just recorded.

/// Which rows of `milestones::RECORD_CROSSED`'s JSON array (with `about`,
/// the member, and `body`, the announcement) it just recorded: only those name
/// the new contribution. `place` is a row's place in the array.
macro_rules! just_achieved {
    () => {
        "ROWS FROM (jsonb_to_recordset($1::jsonb) AS (community BIGINT, key TEXT, subject TEXT,
            contribution BIGINT, about BIGINT, at TEXT, body TEXT))
            WITH ORDINALITY AS j(community, key, subject, contribution, about, at, body, place)
         JOIN milestone_achievements AS a
         ON a.community_id = j.community AND a.milestone_key = j.key
            AND a.subject = j.subject AND a.contribution_id = j.contribution"
    };
}

/// Announces the achievements `milestones::RECORD_CROSSED` just recorded,
/// from the same JSON, except in communities that take milestones in the digest only.
pub const ANNOUNCE_CROSSED: &str = concat!(
    "INSERT INTO announcements (community_id, kind, achievement_id, about_member_id, body, created_at)
     SELECT a.community_id, 'milestone', a.id, j.about, j.body, j.at
     FROM ",
    just_achieved!(),
    " JOIN communities AS c ON c.id = a.community_id AND c.milestones_in_digest_only = 0
     ORDER BY j.place"
);

/// Records the member each of [`ANNOUNCE_CROSSED`]'s announcements names (the
/// contributor): whole when it is their own milestone, else for the line quoting
/// their contribution.
pub const NAME_CROSSED: &str = concat!(
    "INSERT INTO announcement_members (announcement_id, member_id, whole)
     SELECT n.id, j.about, CAST(a.member_id IS NOT NULL AS INTEGER) FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     WHERE j.about IS NOT NULL
     ON CONFLICT DO NOTHING"
);

/// Queues [`ANNOUNCE_CROSSED`]'s announcements for every workspace of their
/// community, each when its workspace is no longer held back (see
/// `sql::outbox::mark_retry`): then, or once the platform's hold on that
/// workspace ends.
pub const DELIVER_CROSSED: &str = concat!(
    "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
     SELECT n.id, w.id, GREATEST(j.at, COALESCE(w.announcements_held_until, '')) FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     JOIN workspaces AS w ON w.community_id = n.community_id"
);

/// `n` fresh announcement ids for a batch queued by hand, taken from the
/// table's sequence: safe beside other processes queuing their own.
pub async fn take_announcement_ids(
    conn: &mut sqlx::PgConnection,
    n: usize,
) -> crate::error::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('announcements', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(conn)
    .await?)
}
