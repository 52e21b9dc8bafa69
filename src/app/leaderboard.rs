//! `leaderboard [week|month|all|improved]`: members ask for boards that reset, so
//! newcomers can reach the top; kudos received show alongside contributions.

use chrono::Days;

use crate::domain::command::Board;
use crate::domain::reply::Line;
use crate::domain::{Actor, Reply};
use crate::error::Result;

use super::App;

const SHOWN: i64 = 10;

pub async fn leaderboard(app: &App, actor: &Actor, board: Board) -> Result<Reply> {
    let store = app.store();
    let today = app.today();
    let (title, rows): (&str, Vec<Line>) = match board {
        Board::Week | Board::Month => {
            let days: u64 = if board == Board::Week { 7 } else { 30 };
            let from = today - Days::new(days - 1);
            let top =
                super::stats::top_contributors(app, actor, from, today, days as i64, SHOWN).await?;
            let title = if board == Board::Week {
                "Leaderboard · last 7 days"
            } else {
                "Leaderboard · last 30 days"
            };
            (title, ranked(top))
        }
        Board::AllTime => (
            "Leaderboard · all time",
            ranked(store.top_all_time(actor.community, SHOWN).await?),
        ),
        Board::MostImproved => {
            let from = today - Days::new(29);
            let rows = store
                .most_improved(actor.community, from, today, SHOWN)
                .await?
                .into_iter()
                .enumerate()
                .map(|(i, (name, now, before))| {
                    Line::new()
                        .text(format!("{}. ", i + 1))
                        .text(name)
                        .text(format!(
                            " · {now} contributions, up from {before} in the 30 days before"
                        ))
                })
                .collect();
            ("Most improved · last 30 days against the 30 before", rows)
        }
    };
    let mut reply = Reply::public(title);
    if rows.is_empty() {
        return Ok(reply.line(
            Line::new()
                .text("Nobody yet. Be the first: ")
                .code("contribute <what you did>"),
        ));
    }
    for row in rows {
        reply = reply.line(row);
    }
    Ok(reply)
}

fn ranked(rows: Vec<(String, i64, i64)>) -> Vec<Line> {
    rows.into_iter()
        .enumerate()
        .map(|(i, (name, contributions, kudos))| {
            let kudos = if kudos > 0 {
                format!(" · {kudos} kudos")
            } else {
                String::new()
            };
            Line::new()
                .text(format!("{}. ", i + 1))
                .text(name)
                .text(format!(" · {contributions}{kudos}"))
        })
        .collect()
}
