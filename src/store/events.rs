//! Events (issue 19 §1, migrations sqlite 0021 / postgres 0008): what the
//! community plans, who answered, who attended, and the reminders sent.
//!
//! Each change is one write transaction that reads the event first, asks the
//! caller's rule whether it may go ahead (`check`, `apply`: the rules are the
//! app's and the domain's, the store has none), and queues whatever members must
//! be told through the outbox in the same transaction; a change of its answers
//! or terms re-renders its public card (`card`, the app's too) there as well, and
//! queues the edit of each message it was posted as. Attending writes the
//! member's one contribution for the event through the contribution writer's own
//! writes (`sql::corrections::put_in`), confirmed: it skips the goal's review.

use chrono::{DateTime, Utc};

use crate::domain::contribution::Recorded;
use crate::domain::events::{Answer, EventDuration, Reminder, not_found};
use crate::domain::{
    AnnouncementId, CommunityId, EventId, GoalId, MemberId, Platform, Reply, UserError,
};
use crate::error::{Error, Result};

type Refusable<T> = std::result::Result<T, UserError>;

/// Events, as the application plans, answers and attends them.
impl super::Store {
    /// Stores a new event; its goal, if any, was checked by the caller. One
    /// still ahead gets its public card (`card`), queued to each workspace with
    /// an announcement channel; one that has started is being recorded, not
    /// planned, and gets none.
    pub async fn create_event(
        &self,
        community: CommunityId,
        new: &NewEventRow<'_>,
        now: DateTime<Utc>,
        card: impl Fn(&Event, &Answers) -> Reply + Send,
    ) -> Result<Event> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let id = sql::events::create(conn, community, new, now).await?;
                let event = sql::events::find(&mut *conn, community, id)
                    .await?
                    .ok_or_else(|| Error::internal("an event just stored", id.to_string()))?;
                let card = if event.starts_at > now {
                    sql::events::post_card(conn, &event, &card(&event, &Answers::default()), now)
                        .await?
                } else {
                    None
                };
                Ok(Event { card, ..event })
            })
            .await)
    }

    /// Event `id` of `community`, cancelled or not.
    pub async fn event(&self, community: CommunityId, id: EventId) -> Result<Option<Event>> {
        on_engine!(self, e => sql::events::find(&e.read, community, id).await)
    }

    /// The community's events not over yet (under way or ahead), soonest first,
    /// with their answers; cancelled ones left out.
    pub async fn upcoming_events(
        &self,
        community: CommunityId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Event, Answers)>> {
        on_engine!(self, e => {
            let events = sql::events::upcoming(&e.read, community, now, limit).await?;
            let ids: Vec<EventId> = events.iter().map(|ev| ev.id).collect();
            let mut answers = sql::events::answers(&e.read, &ids).await?;
            Ok(events
                .into_iter()
                .map(|ev| {
                    let counted = answers.remove(&ev.id).unwrap_or_default();
                    (ev, counted)
                })
                .collect())
        })
    }

    /// How members answered event `id`, and how many attended.
    pub async fn event_answers(&self, id: EventId) -> Result<(Answers, i64)> {
        on_engine!(self, e => {
            let answers = sql::events::answers(&e.read, &[id]).await?.remove(&id);
            let attended = sql::events::attended_count(&e.read, id).await?;
            Ok((answers.unwrap_or_default(), attended))
        })
    }

    /// A member's answer to event `id`, with their place in line if waitlisted.
    pub async fn rsvp_of(&self, id: EventId, member: MemberId) -> Result<Option<Rsvp>> {
        on_engine!(self, e => sql::events::rsvp_of(&e.read, id, member).await)
    }

    /// Records `member`'s answer to event `id` if `check` lets it; places that
    /// free up go to the waitlist in order, and each member promoted is sent
    /// `promoted` privately. Its card shows the new counts.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_event(
        &self,
        community: CommunityId,
        id: EventId,
        member: MemberId,
        answer: Answer,
        now: DateTime<Utc>,
        check: impl Fn(&Event) -> Refusable<()> + Send,
        promoted: impl Fn(&Event) -> Reply + Send,
        card: impl Fn(&Event, &Answers) -> Reply + Send,
    ) -> Result<Refusable<Answered>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let Some(event) = sql::events::find(&mut *conn, community, id).await? else {
                    return Ok(Err(not_found(id)));
                };
                if let Err(refused) = check(&event) {
                    return Ok(Err(refused));
                }
                let (before, waitlisted) =
                    sql::events::answer(conn, &event, member, answer, now).await?;
                let moved_up = sql::events::fill_places(conn, &event).await?;
                sql::events::tell(conn, community, &moved_up, &promoted(&event), None, now).await?;
                sql::events::refresh_card(conn, &event, &card, now).await?;
                Ok(Ok(Answered {
                    event,
                    before,
                    waitlisted,
                    promoted: moved_up.len(),
                }))
            })
            .await)
    }

    /// Records that `attendees` attended event `id` (by its check-in code, or
    /// recorded by an organiser) if `check` lets it. Each attendee not counted
    /// for it yet gets one contribution, "Attended <title>", towards the event's
    /// goal, confirmed (it skips the goal's review). A refusal by the
    /// contribution rules (a closed goal, its max) refuses it all.
    pub async fn record_attendance(
        &self,
        community: CommunityId,
        id: EventId,
        attendees: &[Attendee],
        by: AttendedBy,
        now: DateTime<Utc>,
        check: impl Fn(&Event) -> Refusable<()> + Send,
    ) -> Result<Refusable<Attended>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let Some(event) = sql::events::find(&mut *conn, community, id).await? else {
                    return Ok(Err(not_found(id)));
                };
                if let Err(refused) = check(&event) {
                    return Ok(Err(refused));
                }
                let mut attendance = Vec::with_capacity(attendees.len());
                for attendee in attendees {
                    match sql::events::attend(conn, &e.custom_milestones, &event, attendee, by, now)
                        .await?
                    {
                        Ok(one) => attendance.push(one),
                        Err(refused) => return Ok(Err(refused)),
                    }
                }
                Ok(Ok(Attended { event, attendance }))
            })
            .await)
    }

    /// Changes event `id` to what `apply` makes of it (or refuses). A new time
    /// or place is sent to every member who answered yes or maybe (but `by`) as
    /// `notice`; a new time is reminded of again; places a new capacity frees go
    /// to the waitlist in order, each member promoted sent `promoted`. Its card
    /// shows it as it is now.
    #[allow(clippy::too_many_arguments)]
    pub async fn edit_event(
        &self,
        community: CommunityId,
        id: EventId,
        by: MemberId,
        now: DateTime<Utc>,
        apply: impl Fn(&Event) -> Refusable<Event> + Send,
        notice: impl Fn(&Event, &Event) -> Reply + Send,
        promoted: impl Fn(&Event) -> Reply + Send,
        card: impl Fn(&Event, &Answers) -> Reply + Send,
    ) -> Result<Refusable<EventEdited>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let Some(before) = sql::events::find(&mut *conn, community, id).await? else {
                    return Ok(Err(not_found(id)));
                };
                let after = match apply(&before) {
                    Ok(after) => after,
                    Err(refused) => return Ok(Err(refused)),
                };
                sql::events::update(conn, &after).await?;
                let moved = before.starts_at != after.starts_at || before.ends_at != after.ends_at;
                if moved {
                    sql::events::remind_again(conn, id).await?;
                }
                let mut told = 0;
                if moved || before.place != after.place {
                    let members: Vec<MemberId> = sql::events::interested(conn, id)
                        .await?
                        .into_iter()
                        .filter(|m| *m != by)
                        .collect();
                    let body = notice(&before, &after);
                    told = sql::events::tell(conn, community, &members, &body, None, now).await?;
                }
                let moved_up = sql::events::fill_places(conn, &after).await?;
                sql::events::tell(conn, community, &moved_up, &promoted(&after), None, now).await?;
                sql::events::refresh_card(conn, &after, &card, now).await?;
                Ok(Ok(EventEdited {
                    before,
                    after,
                    told,
                    promoted: moved_up.len(),
                }))
            })
            .await)
    }

    /// Cancels event `id` with `reason` if `check` lets it; every member who
    /// answered yes or maybe (but `by`) is sent `notice` privately, and its card
    /// says it is cancelled.
    #[allow(clippy::too_many_arguments)]
    pub async fn cancel_event(
        &self,
        community: CommunityId,
        id: EventId,
        by: MemberId,
        reason: &str,
        now: DateTime<Utc>,
        check: impl Fn(&Event) -> Refusable<()> + Send,
        notice: impl Fn(&Event) -> Reply + Send,
        card: impl Fn(&Event, &Answers) -> Reply + Send,
    ) -> Result<Refusable<EventCancelled>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let Some(event) = sql::events::find(&mut *conn, community, id).await? else {
                    return Ok(Err(not_found(id)));
                };
                if let Err(refused) = check(&event) {
                    return Ok(Err(refused));
                }
                sql::events::cancel(conn, id, reason, now).await?;
                let event = Event {
                    cancelled: Some(Cancellation {
                        at: now,
                        reason: reason.to_string(),
                    }),
                    ..event
                };
                let members: Vec<MemberId> = sql::events::interested(conn, id)
                    .await?
                    .into_iter()
                    .filter(|m| *m != by)
                    .collect();
                let told =
                    sql::events::tell(conn, community, &members, &notice(&event), None, now)
                        .await?;
                sql::events::refresh_card(conn, &event, &card, now).await?;
                Ok(Ok(EventCancelled { event, told }))
            })
            .await)
    }

    /// Events, in every community, with a reminder's sweep due at `now`: they
    /// start within a day and that reminder has not been swept yet. Soonest
    /// first.
    pub async fn events_to_remind(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Event>> {
        on_engine!(self, e => sql::events::to_remind(&e.read, now, limit).await)
    }

    /// Queues `reminder` of event `id` for every member who answered yes or
    /// maybe before its moment and has not had it: `body` says it (given whether
    /// they are on the waitlist). Each is written with its queued message, once
    /// per event, member and kind, so a restart never sends one twice. The sweep
    /// is marked done (the day's too, if it is the hour's: a day's reminder is
    /// not sent late). Nothing is sent if the event was cancelled or moved so
    /// that `reminder` is no longer the one due. Returns how many were queued.
    pub async fn send_event_reminders(
        &self,
        community: CommunityId,
        id: EventId,
        reminder: Reminder,
        now: DateTime<Utc>,
        body: impl Fn(&Event, bool) -> Reply + Send,
    ) -> Result<usize> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let Some(event) = sql::events::find(&mut *conn, community, id).await? else {
                    return Ok(0);
                };
                if event.cancelled.is_some() || Reminder::due(event.starts_at, now) != Some(reminder)
                {
                    return Ok(0);
                }
                let queued = sql::events::remind(conn, &event, reminder, now, &body).await?;
                sql::events::mark_swept(conn, id, reminder, now).await?;
                Ok(queued)
            })
            .await)
    }
}

/// An event as stored, with its goal's slug and unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub community: CommunityId,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place: Option<String>,
    /// The goal attending counts towards: its slug and unit.
    pub goal: Option<String>,
    pub goal_unit: Option<String>,
    /// What attending counts, if set.
    pub amount: Option<f64>,
    pub capacity: Option<i64>,
    /// Shown to organisers only, in private replies.
    pub check_in_code: String,
    pub cancelled: Option<Cancellation>,
    /// Its public card with RSVP buttons, if one was queued.
    pub card: Option<AnnouncementId>,
}

impl Event {
    pub fn duration(&self) -> EventDuration {
        EventDuration::between(self.starts_at, self.ends_at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cancellation {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// How members answered an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    /// Yes, with a place.
    pub going: i64,
    /// Yes, waiting for a place.
    pub waitlisted: i64,
    pub maybe: i64,
    pub no: i64,
}

/// One member's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rsvp {
    pub answer: Answer,
    pub answered_at: DateTime<Utc>,
    /// Their place in the waitlist, 1 for the next to move up; None with a place
    /// or another answer.
    pub in_line: Option<i64>,
}

pub struct NewEventRow<'a> {
    pub title: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place: Option<&'a str>,
    pub goal: Option<GoalId>,
    pub amount: Option<f64>,
    pub capacity: Option<i64>,
    pub check_in_code: &'a str,
    pub created_by: MemberId,
}

/// An answer recorded.
#[derive(Debug, Clone)]
pub struct Answered {
    pub event: Event,
    /// Their answer before, if any.
    pub before: Option<Answer>,
    /// Their yes waits for a place.
    pub waitlisted: bool,
    /// How many members moved up from the waitlist.
    pub promoted: usize,
}

/// A member who attended, as their contribution names them.
#[derive(Debug, Clone)]
pub struct Attendee {
    pub member: MemberId,
    pub name: String,
    /// Where their attendance was recorded.
    pub platform: Platform,
}

/// How attendance was made known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttendedBy {
    /// The member checked in with the event's code.
    CheckIn,
    /// An organiser recorded it.
    Organiser(MemberId),
}

/// Attendance recorded for one member.
#[derive(Debug, Clone)]
pub struct Attendance {
    pub member: MemberId,
    pub name: String,
    /// Their contribution for it, written now; None if it was counted before.
    pub recorded: Option<Recorded>,
    /// They had checked in before.
    pub checked_in_before: bool,
    /// An organiser had recorded them before.
    pub recorded_before: bool,
}

#[derive(Debug, Clone)]
pub struct Attended {
    pub event: Event,
    pub attendance: Vec<Attendance>,
}

#[derive(Debug, Clone)]
pub struct EventEdited {
    pub before: Event,
    pub after: Event,
    /// Members told of a new time or place.
    pub told: usize,
    /// Members moved up from the waitlist.
    pub promoted: usize,
}

#[derive(Debug, Clone)]
pub struct EventCancelled {
    pub event: Event,
    pub told: usize,
}
