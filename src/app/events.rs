//! `event create | list | show | rsvp | checkin | attend | edit | cancel` (issue
//! 19 §1), and the reminders `keel run` sends before events. Replies name an
//! event `#12`; its check-in code appears in private replies to organisers only.
//! Each change of an event's answers or terms is shown on its public card
//! (`event_card`); `event show` and a yes or maybe carry it as a calendar file
//! (`event_calendar`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::command::{EventChanges, NewEvent};
use crate::domain::contribution::Recorded;
use crate::domain::contribution::validate::check_day;
use crate::domain::events::{
    Answer, CheckInCode, EventDuration, Reminder, attendance_amount, attendance_open,
    check_in_open, check_start, in_zone, local, not_found,
};
use crate::domain::milestones::ordinal;
use crate::domain::reply::Line;
use crate::domain::text::{Reason, format_number};
use crate::domain::{Actor, CommunityId, EventId, MemberRef, Reply, UserError};
use crate::error::Result;
use crate::store::events::{Answers, Attendance, AttendedBy, Attendee, Event, NewEventRow, Rsvp};

use super::App;
use super::event_calendar::calendar_file;
use super::event_card::card;

/// How many events `event list` shows.
const LIST_LIMIT: i64 = 25;

/// Events whose reminders are queued in one round of the due-work loop.
const REMINDER_BATCH: i64 = 100;

/// The community's time zone, in which times are typed and refusals shown.
pub(super) async fn zone(app: &App, community: CommunityId) -> Result<Tz> {
    let community = app.store().community(community).await?;
    Ok(community.timezone.parse().unwrap_or(Tz::UTC))
}

async fn find(app: &App, actor: &Actor, id: EventId) -> Result<Event> {
    Ok(app
        .store()
        .event(actor.community, id)
        .await?
        .ok_or_else(|| not_found(id))?)
}

/// An event in one line's words: `#12 Planting day`.
pub(super) fn named(event: &Event) -> String {
    format!("#{} {}", event.id, event.title)
}

/// When: start – end (duration).
pub(super) fn when(event: &Event) -> Line {
    Line::new()
        .text("When: ")
        .time(event.starts_at)
        .text(" – ")
        .time(event.ends_at)
        .text(format!(" ({})", event.duration()))
}

/// A cancelled event takes no more answers, check-ins or changes.
fn not_cancelled(event: &Event) -> std::result::Result<(), UserError> {
    match &event.cancelled {
        Some(cancelled) => Err(UserError::invalid(
            format!("Event {} was cancelled: {}", named(event), cancelled.reason),
            "`event list` shows the events ahead.",
        )),
        None => Ok(()),
    }
}

/// Attendance is dated the event's day, which the contribution rules must
/// take.
fn dated(event: &Event, now: DateTime<Utc>) -> std::result::Result<(), UserError> {
    check_day(event.starts_at.date_naive(), now.date_naive())
}

pub async fn create(app: &App, actor: &Actor, new: NewEvent) -> Result<Reply> {
    let now = app.now();
    let tz = zone(app, actor.community).await?;
    let starts_at = in_zone(new.starts, tz)?;
    check_start(starts_at, now, tz)?;
    let duration = new.duration.unwrap_or(EventDuration::DEFAULT);
    let amount = new.amount.map(|a| a.get());
    let goal = match &new.goal {
        Some(slug) => {
            let goal = super::goals::by_slug(app, actor, slug).await?;
            if !goal.open {
                return Err(UserError::invalid(
                    format!("The goal `{slug}` is closed."),
                    format!(
                        "Reopen it with `goal reopen {slug}`, or choose an open one (`goal list`)."
                    ),
                )
                .into());
            }
            let counts = attendance_amount(amount, duration, goal.unit.as_deref());
            if let (Some(counts), Some(max)) = (counts, goal.max_amount)
                && counts > max
            {
                return Err(UserError::invalid(
                    format!(
                        "Attending would add {} to `{slug}`, more than its max of {} per contribution.",
                        format_number(counts),
                        format_number(max)
                    ),
                    "Give a smaller amount=, or raise the goal's max with `goal edit`.",
                )
                .into());
            }
            Some(goal)
        }
        None => None,
    };
    let code = CheckInCode::generate();
    let ends_at = starts_at + duration.as_duration();
    let event = app
        .store()
        .create_event(
            actor.community,
            &NewEventRow {
                title: new.title.as_str(),
                starts_at,
                ends_at,
                place: new.place.as_ref().map(|p| p.as_str()),
                goal: goal.as_ref().map(|g| g.id),
                amount,
                capacity: new.capacity.map(|c| i64::from(c.get())),
                check_in_code: code.as_str(),
                created_by: actor.member,
            },
            now,
            |event, answers| card(event, answers, now),
        )
        .await?;
    let id = event.id;
    if event.card.is_some() {
        app.outbox_signal().notify_one();
    }
    let mut reply = Reply::public(format!("Event {} planned", named(&event))).line(when(&event));
    reply = details(reply, &event);
    if starts_at <= now {
        reply = reply.line(
            Line::new()
                .text("It has started: members check in with its code (organisers see it with ")
                .code(format!("event show #{id}"))
                .text("), and organisers record who came with ")
                .code(format!("event attend #{id} @member")),
        );
    } else {
        reply = reply.line(
            Line::new()
                .text("Answer with ")
                .code(format!("event rsvp #{id} yes|no|maybe")),
        );
    }
    if event.card.is_some() {
        reply = reply.line("Its card, with buttons to answer, goes to the announcement channel.");
    }
    Ok(reply)
}

/// Where, what attending counts, and how many places.
pub(super) fn details(mut reply: Reply, event: &Event) -> Reply {
    if let Some(place) = &event.place {
        reply = reply.line(format!("Where: {place}"));
    }
    if let Some(goal) = &event.goal {
        let counts = attendance_amount(event.amount, event.duration(), event.goal_unit.as_deref());
        let what = match counts {
            Some(n) => format!(
                "{} {}",
                format_number(n),
                event.goal_unit.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
            None => "one contribution".to_string(),
        };
        reply = reply.line(format!("Attending counts {what} towards the goal {goal}."));
    } else if let Some(amount) = event.amount {
        reply = reply.line(format!(
            "Attending counts as a contribution of {}.",
            format_number(amount)
        ));
    }
    if let Some(capacity) = event.capacity {
        reply = reply.line(format!("Places: {capacity}"));
    }
    reply
}

/// How many answered what: "3 of 20 going · 1 waiting · 2 maybe".
pub(super) fn answers_text(event: &Event, a: &Answers) -> String {
    let mut parts = vec![match event.capacity {
        Some(capacity) => format!("{} of {capacity} going", a.going),
        None => format!("{} going", a.going),
    }];
    if a.waitlisted > 0 {
        parts.push(format!("{} waiting", a.waitlisted));
    }
    if a.maybe > 0 {
        parts.push(format!("{} maybe", a.maybe));
    }
    parts.join(" · ")
}

pub async fn list(app: &App, actor: &Actor) -> Result<Reply> {
    let events = app
        .store()
        .upcoming_events(actor.community, app.now(), LIST_LIMIT)
        .await?;
    let mut reply = Reply::public("Upcoming events");
    if events.is_empty() {
        return Ok(reply.line("None planned yet."));
    }
    for (event, answers) in &events {
        let mut line = Line::new()
            .text(format!("#{} · ", event.id))
            .time(event.starts_at)
            .text(" · ")
            .strong(&event.title);
        if let Some(place) = &event.place {
            line = line.text(format!(" · {place}"));
        }
        reply = reply.line(line.text(format!(" · {}", answers_text(event, answers))));
    }
    if events.len() as i64 == LIST_LIMIT {
        reply = reply.line(format!("The next {LIST_LIMIT} only."));
    }
    Ok(reply.line(
        Line::new()
            .text("Details and your answer: ")
            .code("event show #id"),
    ))
}

pub async fn show(app: &App, actor: &Actor, id: EventId) -> Result<Reply> {
    let event = find(app, actor, id).await?;
    let store = app.store();
    let (answers, attended) = store.event_answers(id).await?;
    let mine = store.rsvp_of(id, actor.member).await?;
    // Private: it says the member's own answer, and organisers' holds the code.
    let mut reply = Reply::private(format!("Event {}", named(&event))).line(when(&event));
    if let Some(cancelled) = &event.cancelled {
        reply = reply.line(format!("Cancelled: {}", cancelled.reason));
    }
    reply = details(reply, &event);
    let mut counts = answers_text(&event, &answers);
    if answers.no > 0 {
        counts.push_str(&format!(" · {} not going", answers.no));
    }
    reply = reply.line(format!("Answers: {counts}"));
    if attended > 0 {
        reply = reply.line(format!("Attended: {attended}"));
    }
    reply = reply.line(your_answer(id, mine.as_ref()));
    if actor.is_organiser() {
        reply = reply
            .line(format!("Check-in code: {}", event.check_in_code))
            .line(
                Line::new()
                    .text("Members check in during the event, or up to 12 hours after, with ")
                    .code(format!("event checkin #{id} code={}", event.check_in_code)),
            );
    }
    Ok(reply.attach(calendar_file(&event, &described(&event), app.now())))
}

/// What an event's calendar file says of it in words: why it was cancelled,
/// or what attending counts and how to answer. Never its check-in code.
fn described(event: &Event) -> String {
    let mut lines: Vec<String> = Vec::new();
    if let Some(cancelled) = &event.cancelled {
        lines.push(format!("Cancelled: {}", cancelled.reason));
    }
    lines.extend(
        details(Reply::private(""), event)
            .lines
            .iter()
            .filter(|line| !line.plain().starts_with("Where: "))
            .map(Line::plain),
    );
    if event.cancelled.is_none() {
        lines.push(format!(
            "Answer in Keel: event rsvp #{} yes|no|maybe",
            event.id
        ));
    }
    lines.join("\n")
}

fn your_answer(id: EventId, rsvp: Option<&Rsvp>) -> Line {
    match rsvp {
        None => Line::new()
            .text("You have not answered: ")
            .code(format!("event rsvp #{id} yes|no|maybe")),
        Some(Rsvp {
            in_line: Some(n), ..
        }) => Line::new().text(format!(
            "Your answer: yes, on the waitlist ({} in line).",
            ordinal(*n)
        )),
        Some(rsvp) => Line::new().text(format!("Your answer: {}.", rsvp.answer)),
    }
}

/// What a member moved up from the waitlist is told.
pub(super) fn promoted_notice(event: &Event) -> Reply {
    Reply::private(format!(
        "A place freed up: you are going to {}",
        named(event)
    ))
    .line(when(event))
    .line(
        Line::new()
            .text("If you cannot come after all, give the place on: ")
            .code(format!("event rsvp #{} no", event.id)),
    )
}

/// A calendar elsewhere (Discord's scheduled events) says the member is
/// interested, or no longer: interest is a yes; interest taken back is a no,
/// but only over a yes, so a maybe or no given on Keel's card stands. None when
/// nothing changes.
pub async fn interest(
    app: &App,
    actor: &Actor,
    id: EventId,
    interested: bool,
) -> Result<Option<Reply>> {
    if !interested {
        let yes = app
            .store()
            .rsvp_of(id, actor.member)
            .await?
            .is_some_and(|r| r.answer == Answer::Yes);
        if !yes {
            return Ok(None);
        }
    }
    let answer = if interested { Answer::Yes } else { Answer::No };
    rsvp(app, actor, id, answer).await.map(Some)
}

pub async fn rsvp(app: &App, actor: &Actor, id: EventId, answer: Answer) -> Result<Reply> {
    let now = app.now();
    let answered = app
        .store()
        .answer_event(
            actor.community,
            id,
            actor.member,
            answer,
            now,
            |event| {
                not_cancelled(event)?;
                if now >= event.ends_at {
                    return Err(UserError::invalid(
                        format!("Event {} is over: it takes no more answers.", named(event)),
                        "`event list` shows the events ahead.",
                    ));
                }
                Ok(())
            },
            promoted_notice,
            |event, answers| card(event, answers, now),
        )
        .await??;
    if answered.promoted > 0 || answered.event.card.is_some() {
        app.outbox_signal().notify_one();
    }
    let event = &answered.event;
    let mut reply = match (answer, answered.waitlisted) {
        (Answer::Yes, false) => Reply::private(format!("You are going to {}", named(event))),
        (Answer::Yes, true) => {
            let line = app
                .store()
                .rsvp_of(id, actor.member)
                .await?
                .and_then(|r| r.in_line)
                .map(|n| format!(" ({} in line)", ordinal(n)))
                .unwrap_or_default();
            Reply::private(format!(
                "You are on the waitlist for {}{line}",
                named(event)
            ))
            .line("Its places are taken; you are told privately when one frees up.")
        }
        (Answer::Maybe, _) => Reply::private(format!("Maybe for {}", named(event)))
            .line("A maybe takes no place; you get its reminders all the same."),
        (Answer::No, _) => Reply::private(format!("Not going to {}", named(event))),
    };
    reply = reply.line(when(event));
    // For their calendar, the first time they mean to come; a change between
    // yes and maybe is the same event in it.
    if answer.is_interested() && !answered.before.is_some_and(Answer::is_interested) {
        reply = reply.attach(calendar_file(event, &described(event), now));
    }
    if answered.promoted > 0 {
        reply = reply.line(format!(
            "Your place went to the next on the waitlist{}, who is told privately.",
            if answered.promoted > 1 {
                " (and more)"
            } else {
                ""
            }
        ));
    }
    Ok(reply)
}

pub async fn check_in(app: &App, actor: &Actor, id: EventId, code: CheckInCode) -> Result<Reply> {
    let now = app.now();
    let tz = zone(app, actor.community).await?;
    let attendee = Attendee {
        member: actor.member,
        name: actor.display_name.clone(),
        platform: actor.platform,
    };
    let attended = app
        .store()
        .record_attendance(
            actor.community,
            id,
            std::slice::from_ref(&attendee),
            AttendedBy::CheckIn,
            now,
            |event| {
                not_cancelled(event)?;
                check_in_open(event.starts_at, event.ends_at, now, tz)?;
                if !code.matches(&event.check_in_code) {
                    return Err(UserError::invalid(
                        format!("That is not the check-in code of {}.", named(event)),
                        "Check the code the organisers show at the event and try again.",
                    ));
                }
                dated(event, now)
            },
        )
        .await??;
    let event = &attended.event;
    let mut reply = Reply::private(format!("Checked in to {}", named(event)));
    for one in &attended.attendance {
        reply = attendance_lines(app, reply, one, true);
    }
    Ok(reply)
}

/// What attendance recorded for one member says: their contribution for it, or
/// that it was counted before.
fn attendance_lines(app: &App, mut reply: Reply, one: &Attendance, own: bool) -> Reply {
    let whose = if own {
        "your".to_string()
    } else {
        format!("{}'s", one.name)
    };
    match &one.recorded {
        Some(recorded) => {
            if !recorded.milestones.is_empty() {
                app.outbox_signal().notify_one();
            }
            reply = reply.line(counted_line(recorded, &whose));
            reply = super::contribute::counted_for(reply, recorded);
        }
        None => {
            let how = match (one.checked_in_before, one.recorded_before) {
                (true, _) => "checked in",
                (false, true) => "recorded by an organiser",
                (false, false) => "counted",
            };
            let who = if own {
                "You".to_string()
            } else {
                one.name.clone()
            };
            reply = reply.line(format!(
                "{who}: already {how}; the attendance counts once, as {whose} contribution then."
            ));
        }
    }
    reply
}

/// "Counted as Ann's 3rd contribution, #41: 2 hours."
fn counted_line(recorded: &Recorded, whose: &str) -> Line {
    let mut line = Line::new().text(format!(
        "Counted as {whose} {} contribution, #{}",
        ordinal(recorded.member_count),
        recorded.id
    ));
    if let Some(goal) = &recorded.goal
        && goal.counted > 0.0
    {
        line = line.text(
            format!(
                ": {} {}",
                format_number(goal.counted),
                goal.unit.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
        );
    }
    line.text(".")
}

pub async fn attend(
    app: &App,
    actor: &Actor,
    id: EventId,
    members: Vec<MemberRef>,
) -> Result<Reply> {
    let now = app.now();
    let tz = zone(app, actor.community).await?;
    let mut attendees = Vec::with_capacity(members.len());
    for reference in &members {
        let member = app.member_by_ref(actor, reference, true).await?;
        if attendees.iter().any(|a: &Attendee| a.member == member.id) {
            continue;
        }
        attendees.push(Attendee {
            member: member.id,
            name: member.display_name,
            platform: actor.platform,
        });
    }
    let attended = app
        .store()
        .record_attendance(
            actor.community,
            id,
            &attendees,
            AttendedBy::Organiser(actor.member),
            now,
            |event| {
                not_cancelled(event)?;
                attendance_open(event.starts_at, now, tz)?;
                dated(event, now)
            },
        )
        .await??;
    let mut reply = Reply::private(format!("Attendance of {}", named(&attended.event)));
    for one in &attended.attendance {
        reply = attendance_lines(app, reply, one, one.member == actor.member);
    }
    Ok(reply)
}

pub async fn edit(app: &App, actor: &Actor, id: EventId, changes: EventChanges) -> Result<Reply> {
    let now = app.now();
    let tz = zone(app, actor.community).await?;
    let starts_at = changes.starts.map(|s| in_zone(s, tz)).transpose()?;
    if let Some(starts_at) = starts_at {
        check_start(starts_at, now, tz)?;
    }
    let editor = actor.display_name.clone();
    let edited = app
        .store()
        .edit_event(
            actor.community,
            id,
            actor.member,
            now,
            |before| {
                not_cancelled(before)?;
                let starts_at = starts_at.unwrap_or(before.starts_at);
                let duration = changes.duration.unwrap_or_else(|| before.duration());
                Ok(Event {
                    title: changes
                        .title
                        .as_ref()
                        .map_or_else(|| before.title.clone(), |t| t.as_str().to_string()),
                    starts_at,
                    ends_at: starts_at + duration.as_duration(),
                    place: match &changes.place {
                        Some(place) => place.as_ref().map(|p| p.as_str().to_string()),
                        None => before.place.clone(),
                    },
                    capacity: match changes.capacity {
                        Some(capacity) => capacity.map(|c| i64::from(c.get())),
                        None => before.capacity,
                    },
                    ..before.clone()
                })
            },
            |before, after| change_notice(before, after, &editor),
            promoted_notice,
            |event, answers| card(event, answers, now),
        )
        .await??;
    if edited.told > 0 || edited.promoted > 0 || edited.after.card.is_some() {
        app.outbox_signal().notify_one();
    }
    let after = &edited.after;
    let mut reply = Reply::private(format!("Event {} changed", named(after)));
    for line in changes_lines(&edited.before, after) {
        reply = reply.line(line);
    }
    if changes.moves_time_or_place() {
        reply = reply.line(format!(
            "{} who answered yes or maybe {} told privately.",
            members(edited.told),
            if edited.told == 1 { "is" } else { "are" }
        ));
    }
    if edited.promoted > 0 {
        reply = reply.line(format!(
            "{} moved up from the waitlist, told privately.",
            members(edited.promoted)
        ));
    }
    Ok(reply)
}

/// "1 member", "3 members".
fn members(n: usize) -> String {
    if n == 1 {
        "1 member".to_string()
    } else {
        format!("{n} members")
    }
}

/// What changed, a line each: the new value, with the old.
fn changes_lines(before: &Event, after: &Event) -> Vec<Line> {
    let mut lines = Vec::new();
    if before.title != after.title {
        lines.push(Line::new().text(format!("Title: {} (was {})", after.title, before.title)));
    }
    if before.starts_at != after.starts_at || before.ends_at != after.ends_at {
        lines.push(
            when(after)
                .text(" (was ")
                .time(before.starts_at)
                .text(" – ")
                .time(before.ends_at)
                .text(")"),
        );
    }
    if before.place != after.place {
        let shown = |p: &Option<String>| p.clone().unwrap_or_else(|| "not set".to_string());
        lines.push(Line::new().text(format!(
            "Where: {} (was {})",
            shown(&after.place),
            shown(&before.place)
        )));
    }
    if before.capacity != after.capacity {
        let shown = |c: Option<i64>| c.map_or_else(|| "no limit".to_string(), |c| c.to_string());
        lines.push(Line::new().text(format!(
            "Places: {} (was {})",
            shown(after.capacity),
            shown(before.capacity)
        )));
    }
    lines
}

/// What members who answered yes or maybe are told of a new time or place.
fn change_notice(before: &Event, after: &Event, editor: &str) -> Reply {
    let mut reply = Reply::private(format!("Event {} has changed", named(after)));
    for line in changes_lines(before, after) {
        reply = reply.line(line);
    }
    reply
        .line(Line::new().text("Changed by ").strong(editor))
        .line(
            Line::new()
                .text("If you can no longer come: ")
                .code(format!("event rsvp #{} no", after.id)),
        )
}

pub async fn cancel(app: &App, actor: &Actor, id: EventId, reason: Reason) -> Result<Reply> {
    let now = app.now();
    let canceller = actor.display_name.clone();
    let cancelled = app
        .store()
        .cancel_event(
            actor.community,
            id,
            actor.member,
            reason.as_str(),
            now,
            |event| {
                not_cancelled(event)?;
                if now >= event.ends_at {
                    return Err(UserError::invalid(
                        format!("Event {} is over: there is nothing to cancel.", named(event)),
                        "Its attendance stays as recorded; correct a contribution with `contribution remove`.",
                    ));
                }
                Ok(())
            },
            |event| {
                Reply::private(format!("Event {} is cancelled", named(event)))
                    .line(when(event))
                    .line(
                        Line::new()
                            .text("Cancelled by ")
                            .strong(&canceller)
                            .text(format!(": {}", reason.as_str())),
                    )
            },
            |event, answers| card(event, answers, now),
        )
        .await??;
    if cancelled.told > 0 || cancelled.event.card.is_some() {
        app.outbox_signal().notify_one();
    }
    Ok(
        Reply::private(format!("Event {} cancelled", named(&cancelled.event)))
            .line(format!("Reason: {reason}"))
            .line(format!(
                "{} who answered yes or maybe {} told privately, with the reason.",
                members(cancelled.told),
                if cancelled.told == 1 { "is" } else { "are" }
            )),
    )
}

/// What a member who answered yes or maybe is reminded, a day or an hour
/// before.
fn reminder_body(event: &Event, reminder: Reminder, waitlisted: bool, tz: Tz) -> Reply {
    let soon = match reminder {
        Reminder::DayBefore => "tomorrow",
        Reminder::HourBefore => "in an hour",
    };
    let mut reply = Reply::private(format!("Reminder: {} starts {soon}", named(event)))
        .line(when(event))
        .line(format!(
            "In the community's time: {}",
            local(event.starts_at, tz)
        ));
    if let Some(place) = &event.place {
        reply = reply.line(format!("Where: {place}"));
    }
    if waitlisted {
        reply = reply.line("You are on the waitlist: you are told privately if a place frees up.");
    }
    reply.line(
        Line::new()
            .text("At the event, check in with the code the organisers show: ")
            .code(format!("event checkin #{} code=…", event.id)),
    )
}

/// Queues the reminders due at the app's `now`, a day and an hour before each
/// event, to the members who answered yes or maybe; each goes once, even across
/// restarts. Returns how many were queued. `keel run` calls this from its
/// due-work loop; tests call it with their clock.
pub async fn run_due_event_reminders(app: &App) -> Result<usize> {
    let now = app.now();
    let store = app.store();
    let mut zones: HashMap<CommunityId, Tz> = HashMap::new();
    let mut queued = 0;
    // Each event swept is marked, so the next batch holds the events after it.
    for _ in 0..10 {
        let events = store.events_to_remind(now, REMINDER_BATCH).await?;
        for event in &events {
            let Some(reminder) = Reminder::due(event.starts_at, now) else {
                continue;
            };
            let tz = match zones.get(&event.community) {
                Some(tz) => *tz,
                None => {
                    let tz = zone(app, event.community).await?;
                    zones.insert(event.community, tz);
                    tz
                }
            };
            queued += store
                .send_event_reminders(
                    event.community,
                    event.id,
                    reminder,
                    now,
                    |event, waitlisted| reminder_body(event, reminder, waitlisted, tz),
                )
                .await?;
        }
        if (events.len() as i64) < REMINDER_BATCH {
            break;
        }
    }
    if queued > 0 {
        app.outbox_signal().notify_one();
    }
    Ok(queued)
}
