//! `help [command]`: the command table, as a reply.

use crate::domain::command_table::{Access, Entry, TABLE, matching};
use crate::domain::reply::Line;
use crate::domain::{Actor, Reply};

fn entry(e: &Entry) -> Line {
    let mut line = Line::new().code(e.form).text(" · ").text(e.summary);
    if e.organisers_only() {
        line = line.text(" (organisers)");
    } else if let Access::OrganisersFor(what) = e.access {
        line = line.text(format!(" (organisers, for {what})"));
    }
    line
}

pub fn help(actor: &Actor, topic: Option<&str>) -> Reply {
    if let Some(topic) = topic {
        let found = matching(topic);
        if !found.is_empty() {
            return found
                .into_iter()
                .fold(Reply::private(format!("Help: {topic}")), |r, e| {
                    r.line(entry(e))
                });
        }
    }
    let mut reply = Reply::private("Keel commands");
    if let Some(topic) = topic {
        reply = reply.line(format!(
            "No command matches “{topic}”. Here is every command:"
        ));
    }
    let mut group = None;
    for e in TABLE
        .iter()
        .filter(|e| actor.is_organiser() || !e.organisers_only())
    {
        if group != Some(e.group) {
            group = Some(e.group);
            reply = reply.line(Line::new().strong(e.group.title()));
        }
        reply = reply.line(entry(e));
    }
    reply.line("Options go anywhere as key=value; put text with spaces in double quotes: reason=\"first draft\".")
}
