//! Exports: a community's data (organisers, for accounting and moving away) or one
//! member's own data (P2), as CSV (contributions, one row each) or JSON (everything).

use serde_json::json;
use sqlx::SqlitePool;

use super::{communities, contributions, goals, kudos, mission};
use crate::domain::command::ExportFormat;
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};

pub struct ExportFile {
    pub filename: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    pub contributions: usize,
}

pub async fn export(
    db: &SqlitePool,
    community: CommunityId,
    member: Option<MemberId>,
    format: ExportFormat,
) -> Result<ExportFile> {
    let rows = contributions::all(db, community, member).await?;
    let stem = match member {
        Some(m) => format!("keel-member-{m}"),
        None => format!("keel-community-{community}"),
    };
    let count = rows.len();
    match format {
        ExportFormat::Csv => {
            let mut out = csv::Writer::from_writer(Vec::new());
            out.write_record([
                "id",
                "member",
                "day",
                "description",
                "amount",
                "unit",
                "goal",
                "value",
                "platform",
                "created_at",
            ])
            .map_err(|e| Error::internal("csv export", e))?;
            for r in &rows {
                out.write_record([
                    r.id.to_string(),
                    neutralise_formula(&r.member),
                    r.day.to_string(),
                    neutralise_formula(&r.description),
                    r.amount.map(|a| a.to_string()).unwrap_or_default(),
                    neutralise_formula(r.unit.as_deref().unwrap_or_default()),
                    r.goal.clone().unwrap_or_default(),
                    neutralise_formula(r.value.as_deref().unwrap_or_default()),
                    r.platform.clone(),
                    super::ts(r.created_at),
                ])
                .map_err(|e| Error::internal("csv export", e))?;
            }
            let bytes = out
                .into_inner()
                .map_err(|e| Error::internal("csv export", e.to_string()))?;
            Ok(ExportFile {
                filename: format!("{stem}-contributions.csv"),
                media_type: "text/csv",
                bytes,
                contributions: count,
            })
        }
        ExportFormat::Json => {
            let c = communities::community(db, community).await?;
            let contributions: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id.0, "member": r.member, "day": r.day, "description": r.description,
                        "amount": r.amount, "unit": r.unit, "goal": r.goal, "value": r.value,
                        "platform": r.platform, "created_at": r.created_at,
                    })
                })
                .collect();
            let kudos: Vec<_> = kudos::all(db, community, member)
                .await?
                .into_iter()
                .map(|k| json!({"from": k.from, "to": k.to, "reason": k.reason, "created_at": k.created_at}))
                .collect();
            let mut doc = json!({
                "community": c.name,
                "contributions": contributions,
                "kudos": kudos,
            });
            match member {
                Some(m) => {
                    let me = communities::member(db, community, m).await?;
                    let identities: Vec<(String, String)> = sqlx::query_as(
                        "SELECT w.platform, i.external_user_id FROM identities i JOIN workspaces w ON w.id = i.workspace_id
                         WHERE i.member_id = ? ORDER BY i.id",
                    )
                    .bind(m)
                    .fetch_all(db)
                    .await?;
                    doc["member"] = json!({
                        "display_name": me.as_ref().map(|m| m.display_name.clone()),
                        "joined_at": me.as_ref().map(|m| m.joined_at.clone()),
                        "away_since": me.as_ref().and_then(|m| m.away_since.clone()),
                        "identities": identities.iter().map(|(p, id)| json!({"platform": p, "user_id": id})).collect::<Vec<_>>(),
                    });
                }
                None => {
                    let versions: Vec<_> = mission::history(db, community)
                        .await?
                        .into_iter()
                        .map(|v| {
                            json!({"version": v.version, "statement": v.statement, "values": v.values,
                                   "author": v.author, "reason": v.reason, "created_at": v.created_at})
                        })
                        .collect();
                    let goals: Vec<_> = goals::list(db, community, true)
                        .await?
                        .into_iter()
                        .map(|g| {
                            json!({"slug": g.slug, "title": g.title, "target": g.target, "unit": g.unit,
                                   "deadline": g.deadline, "open": g.open, "progress": g.progress,
                                   "contributions": g.contribution_count, "met_at": g.met_at})
                        })
                        .collect();
                    doc["mission_versions"] = json!(versions);
                    doc["goals"] = json!(goals);
                }
            }
            Ok(ExportFile {
                filename: format!("{stem}.json"),
                media_type: "application/json",
                bytes: serde_json::to_vec_pretty(&doc)?,
                contributions: count,
            })
        }
    }
}

/// Spreadsheets run cells that start with = + - @ as formulas; a leading
/// apostrophe keeps a member's text as text (CSV injection).
fn neutralise_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
