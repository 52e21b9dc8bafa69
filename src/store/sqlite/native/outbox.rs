//! The outbox's statements for the contribution writer: announcing, from the
//! writer's JSON array of milestones crossed, the achievements it just recorded.

/// Which rows of `milestones::RECORD_CROSSED`'s JSON array (with `about`,
/// the member, and `body`, the announcement) it just recorded: only those name
/// the new contribution.
macro_rules! just_achieved {
    () => {
        "jsonb_each(?) AS j JOIN milestone_achievements AS a
         ON a.community_id = j.value->>'community' AND a.milestone_key = j.value->>'key'
            AND a.subject = j.value->>'subject' AND a.contribution_id = j.value->>'contribution'"
    };
}

/// Announces the achievements `milestones::RECORD_CROSSED` just recorded,
/// from the same JSON, except in communities that take milestones in the digest only.
pub const ANNOUNCE_CROSSED: &str = concat!(
    "INSERT INTO announcements (community_id, kind, achievement_id, about_member_id, body, created_at)
     SELECT a.community_id, 'milestone', a.id, j.value->>'about', j.value->>'body', j.value->>'at'
     FROM ",
    just_achieved!(),
    " JOIN communities AS c ON c.id = a.community_id AND c.milestones_in_digest_only = 0
     ORDER BY j.key"
);

/// Records the member each of [`ANNOUNCE_CROSSED`]'s announcements names (the
/// contributor): whole when it is their own milestone, else for the line quoting
/// their contribution.
pub const NAME_CROSSED: &str = concat!(
    "INSERT INTO announcement_members (announcement_id, member_id, whole)
     SELECT n.id, j.value->>'about', a.member_id IS NOT NULL FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     WHERE j.value->>'about' IS NOT NULL
     ON CONFLICT DO NOTHING"
);

/// When a delivery queued at `$at` for the workspace `$w` falls due: then, or once
/// the platform's hold on that workspace ends (see `sql::outbox::mark_retry`).
macro_rules! due_after_hold {
    ($at:literal, $w:literal) => {
        concat!(
            "max(",
            $at,
            ", COALESCE(",
            $w,
            "announcements_held_until, ''))"
        )
    };
}

/// Queues [`ANNOUNCE_CROSSED`]'s announcements for every workspace of their
/// community, each when its workspace is no longer held back (see `sql::outbox::mark_retry`).
pub const DELIVER_CROSSED: &str = concat!(
    "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
     SELECT n.id, w.id, ",
    due_after_hold!("j.value->>'at'", "w."),
    " FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     JOIN workspaces AS w ON w.community_id = n.community_id"
);

/// `n` fresh announcement ids for a batch queued by hand: above every id the
/// table ever had, so an erased announcement's id (a platform's dedupe marker)
/// is never handed out again. The caller holds the write lock, so no other
/// writer can take them meanwhile.
pub async fn take_announcement_ids(
    conn: &mut sqlx::SqliteConnection,
    n: usize,
) -> crate::error::Result<Vec<i64>> {
    let next = super::demo::next_id(conn, "announcements").await?;
    Ok((next..next + n as i64).collect())
}
