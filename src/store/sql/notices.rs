//! Where a member is told something privately.

use super::Conn;
use crate::domain::MemberId;
use crate::error::Result;

/// The identity to reach `member` at: theirs in `workspace` if they have one
/// there, else their first; None when they have none left.
pub async fn reach_in(
    conn: &mut Conn,
    member: MemberId,
    workspace: i64,
) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, external_user_id FROM identities WHERE member_id = $1
         ORDER BY CASE WHEN workspace_id = $2 THEN 0 ELSE 1 END, id LIMIT 1",
    )
    .bind(member)
    .bind(workspace)
    .fetch_optional(conn)
    .await?)
}
