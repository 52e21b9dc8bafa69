//! `help [command]`.

use crate::domain::help::{USAGES, Usage, matching};
use crate::domain::reply::Line;
use crate::domain::{Actor, Reply};

fn entry(u: &Usage) -> Line {
    let mut line = Line::new().code(u.form).text(" · ").text(u.summary);
    if u.organiser_only {
        line = line.text(" (organisers)");
    }
    line
}

pub fn help(actor: &Actor, topic: Option<&str>) -> Reply {
    if let Some(topic) = topic {
        let found = matching(topic);
        if !found.is_empty() {
            return found
                .into_iter()
                .fold(Reply::private(format!("Help: {topic}")), |r, u| {
                    r.line(entry(u))
                });
        }
    }
    let mut reply = Reply::private("Keel commands");
    if let Some(topic) = topic {
        reply = reply.line(format!(
            "No command matches “{topic}”. Here is every command:"
        ));
    }
    for u in USAGES
        .iter()
        .filter(|u| actor.is_organiser() || !u.organiser_only)
    {
        reply = reply.line(entry(u));
    }
    reply.line("Options go anywhere as key=value; put text with spaces in double quotes: reason=\"first draft\".")
}
