//! Every command Keel understands, as typed values. The text parser
//! (`domain::parse`) builds these from a line; the Discord adapter builds them from
//! slash-command options. Either way the values inside are already valid.

use chrono::NaiveDate;

use super::actor::MemberRef;
use super::command_table::{Entry, entry};
use super::error::UserError;
use super::events::{Answer, CheckInCode, EventDuration};
use super::text::{
    Amount, Capacity, Description, InactiveDays, KudosPerWeek, Name, PageNumber, PairingSize,
    Percent, Place, PlatformRef, Reason, Slug, Statement, Title, Unit, ValueName,
};
use super::{ContributionId, EventId, PairingGroupId};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help {
        topic: Option<String>,
    },
    MissionShow,
    MissionSet {
        statement: Statement,
        reason: Option<Reason>,
    },
    MissionHistory,
    MissionValueAdd {
        name: ValueName,
    },
    MissionValueRemove {
        name: ValueName,
    },
    Contribute(NewContribution),
    /// A contribution logged from a member's message (Slack's message shortcut,
    /// Discord's message menu): the author's. A member logs their own; an
    /// organiser may log anyone's, and the author is told privately.
    ContributeFor {
        author: MemberRef,
        new: NewContribution,
    },
    Contributions {
        member: MemberRef,
    },
    ContributionRemove {
        id: ContributionId,
        reason: Reason,
    },
    ContributionEdit {
        id: ContributionId,
        change: ContributionChanges,
        reason: Reason,
    },
    /// The contributions waiting for an organiser's review.
    Review,
    ReviewApprove {
        id: ContributionId,
    },
    ReviewReject {
        id: ContributionId,
        reason: Reason,
    },
    /// The audit trail, of one member's record or all, over a window.
    Audit {
        member: Option<MemberRef>,
        window: Window,
    },
    GoalCreate(NewGoal),
    GoalList,
    GoalShow {
        slug: Slug,
    },
    GoalClose {
        slug: Slug,
    },
    GoalEdit {
        slug: Slug,
        changes: GoalChanges,
    },
    GoalReopen {
        slug: Slug,
    },
    MilestoneAdd(NewMilestone),
    MilestoneList,
    /// A custom milestone, by the id `milestone list` shows.
    MilestoneRemove {
        id: i64,
    },
    Kudos {
        to: MemberRef,
        reason: Option<Reason>,
    },
    /// Kudos taken out of the record, by the id its receipt shows.
    KudosRemove {
        id: i64,
        reason: Reason,
    },
    Stats {
        window: Window,
    },
    StatsMe,
    /// Charts of the community's stats over a window, as PNG attachments.
    StatsChart {
        window: Window,
    },
    /// A goal's progress as a PNG chart.
    GoalChart {
        slug: Slug,
    },
    Away {
        on: bool,
    },
    LinkStart {
        kind: LinkKind,
    },
    LinkRedeem {
        code: String,
    },
    Export {
        scope: ExportScope,
        format: ExportFormat,
    },
    ForgetMe {
        confirmed: bool,
    },
    Setup(Setup),
    /// The health lists, a page of names each.
    Health {
        page: PageNumber,
    },
    Leaderboard {
        board: Board,
    },
    EventCreate(NewEvent),
    /// Upcoming events (and those under way), with their answers.
    EventList,
    EventShow {
        id: EventId,
    },
    EventRsvp {
        id: EventId,
        answer: Answer,
    },
    /// A member at the event, with the code its organisers show there.
    EventCheckIn {
        id: EventId,
        code: CheckInCode,
    },
    /// Organisers record who attended.
    EventAttend {
        id: EventId,
        members: Vec<MemberRef>,
    },
    EventEdit {
        id: EventId,
        changes: EventChanges,
    },
    EventCancel {
        id: EventId,
        reason: Reason,
    },
    /// Opt into the pairing rounds, or out.
    PairJoin,
    PairLeave,
    /// Your group in the latest round, and when the next round is.
    PairStatus,
    /// Never be grouped with this member (private).
    PairAvoid {
        member: MemberRef,
    },
    /// Organisers run a round now.
    PairNow,
    /// Answers "Did you meet?" for your group in the latest round.
    PairMet {
        met: bool,
        /// The group a follow-up's button asked about; typed, the latest.
        group: Option<PairingGroupId>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub title: Title,
    /// When it starts, in the community's time zone (the app makes it UTC).
    pub starts: chrono::NaiveDateTime,
    pub duration: Option<EventDuration>,
    pub place: Option<Place>,
    /// The goal attending counts towards.
    pub goal: Option<Slug>,
    /// What attending counts; without it, the hours attended towards a goal
    /// counted in hours.
    pub amount: Option<Amount>,
    pub capacity: Option<Capacity>,
}

/// What `event edit` changes; None leaves a field as it is, Some(None) clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventChanges {
    pub title: Option<Title>,
    /// In the community's time zone.
    pub starts: Option<chrono::NaiveDateTime>,
    pub duration: Option<EventDuration>,
    pub place: Option<Option<Place>>,
    pub capacity: Option<Option<Capacity>>,
}

impl EventChanges {
    pub fn is_empty(&self) -> bool {
        *self == EventChanges::default()
    }

    /// Whether members who answered yes or maybe must hear of it.
    pub fn moves_time_or_place(&self) -> bool {
        self.starts.is_some() || self.duration.is_some() || self.place.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewContribution {
    pub description: Description,
    pub amount: Option<Amount>,
    pub unit: Option<Unit>,
    pub goal: Option<Slug>,
    pub value: Option<ValueName>,
    /// The day it happened, if not today. Checked against the clock by the app.
    pub day: Option<NaiveDate>,
}

/// What `contribution edit` changes; None leaves it as it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContributionChanges {
    pub description: Option<Description>,
    pub amount: Option<Amount>,
    pub unit: Option<Unit>,
    /// Some(None): no goal any more (`goal=-`).
    pub goal: Option<Option<Slug>>,
    /// Some(None): no value any more (`value=-`).
    pub value: Option<Option<ValueName>>,
    /// Checked against the clock by the app.
    pub day: Option<NaiveDate>,
}

impl ContributionChanges {
    pub fn is_empty(&self) -> bool {
        *self == ContributionChanges::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewGoal {
    pub title: Title,
    pub target: Amount,
    pub unit: Option<Unit>,
    pub slug: Option<Slug>,
    pub deadline: Option<NaiveDate>,
    pub caps: GoalCaps,
}

/// What `goal edit` changes; None leaves a field as it is, Some(None) clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GoalChanges {
    pub title: Option<Title>,
    pub target: Option<Amount>,
    pub unit: Option<Unit>,
    pub deadline: Option<Option<NaiveDate>>,
    pub slug: Option<Slug>,
    pub max: Option<Option<Amount>>,
    pub review_above: Option<Option<Amount>>,
}

impl GoalChanges {
    pub fn is_empty(&self) -> bool {
        *self == GoalChanges::default()
    }
}

/// What one contribution may add to a goal: at most `max` (a bigger amount is
/// refused, not trimmed); above `review_above` it waits for an organiser.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GoalCaps {
    max: Option<Amount>,
    review_above: Option<Amount>,
}

impl GoalCaps {
    /// Caps whose review threshold is within the maximum.
    pub fn new(max: Option<Amount>, review_above: Option<Amount>) -> Result<Self, UserError> {
        if let (Some(max), Some(review)) = (max, review_above)
            && review.get() > max.get()
        {
            return Err(UserError::invalid(
                format!(
                    "review_above={review} is more than max={max}, so nothing could ever wait for review."
                ),
                "Set review_above at most max, like max=100 review_above=50.",
            ));
        }
        Ok(GoalCaps { max, review_above })
    }

    pub fn max(self) -> Option<Amount> {
        self.max
    }

    pub fn review_above(self) -> Option<Amount> {
        self.review_above
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMilestone {
    pub title: Title,
    pub threshold: Amount,
    /// None: the community's contribution count.
    pub goal: Option<Slug>,
}

/// The days a statistic covers, inclusive. `Last(n)` ends today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Last { days: u32 },
    Between { from: NaiveDate, to: NaiveDate },
}

impl Window {
    pub const DEFAULT: Window = Window::Last { days: 28 };
    pub const MAX_DAYS: u32 = 3660;

    /// Inclusive first and last day, given today.
    pub fn bounds(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Window::Last { days } => (
                today - chrono::Days::new(u64::from(days.saturating_sub(1))),
                today,
            ),
            Window::Between { from, to } => (from, to),
        }
    }
}

/// Which leaderboard: members ask for resets, so there are several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
    AllTime,
    /// The biggest rise from the previous 30 days to the last 30.
    MostImproved,
}

/// How much a command depends on knowing whether the member organises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleCheck {
    /// The outcome is the same for everyone: no need to ask.
    Unneeded,
    /// Organisers see more; when the platform cannot say, answer as to a member.
    Preferred,
    /// The outcome depends on it: when the platform cannot say, say so and stop.
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Join another identity (your Slack account, say) to you as a member.
    Identity,
    /// Join another platform workspace to this community (organisers).
    Workspace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// Everything in the community (organisers).
    Community,
    /// The asking member's own data.
    Me,
    /// Every name on the health lists (organisers; CSV).
    Health,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Setup {
    Show,
    AnnouncementChannel(PlatformRef),
    /// Where review requests are posted, with Approve / Reject buttons.
    ReviewChannel(PlatformRef),
    OrganiserRole(PlatformRef),
    Timezone(chrono_tz::Tz),
    /// `None` turns the schedule off.
    Digest(Option<super::schedule::ScheduleSpec>),
    Reminder(Option<super::schedule::ScheduleSpec>),
    InactiveDays(InactiveDays),
    KudosPerWeek(KudosPerWeek),
    /// Percent of contributions linked to a goal or value below which stats warn.
    AlignmentThreshold(Percent),
    CommunityName(Name),
    /// true: milestones are listed in the digest only, not announced one by one.
    MilestonesInDigestOnly(bool),
    /// When pairing rounds run; `None` stops them.
    Pairing(Option<super::schedule::ScheduleSpec>),
    PairingSize(PairingSize),
    /// Where Discord's private threads for introductions are made.
    PairingChannel(PlatformRef),
}

impl Command {
    /// The command's entry in the command table: its name, usage and who may
    /// run it. A name the table lacks does not compile.
    pub fn entry(&self) -> &'static Entry {
        match self {
            Command::Help { .. } => entry!("help"),
            Command::MissionShow => entry!("mission show"),
            Command::MissionSet { .. } => entry!("mission set"),
            Command::MissionHistory => entry!("mission history"),
            Command::MissionValueAdd { .. } => entry!("mission value add"),
            Command::MissionValueRemove { .. } => entry!("mission value remove"),
            Command::Contribute(_) => entry!("contribute"),
            Command::ContributeFor { .. } => entry!("contribute-for"),
            Command::Contributions { .. } => entry!("contributions"),
            Command::ContributionRemove { .. } => entry!("contribution remove"),
            Command::ContributionEdit { .. } => entry!("contribution edit"),
            Command::Review => entry!("review"),
            Command::ReviewApprove { .. } => entry!("review approve"),
            Command::ReviewReject { .. } => entry!("review reject"),
            Command::Audit { .. } => entry!("audit"),
            Command::GoalCreate(_) => entry!("goal create"),
            Command::GoalList => entry!("goal list"),
            Command::GoalShow { .. } => entry!("goal show"),
            Command::GoalChart { .. } => entry!("goal chart"),
            Command::GoalClose { .. } => entry!("goal close"),
            Command::GoalEdit { .. } => entry!("goal edit"),
            Command::GoalReopen { .. } => entry!("goal reopen"),
            Command::MilestoneAdd(_) => entry!("milestone add"),
            Command::MilestoneList => entry!("milestone list"),
            Command::MilestoneRemove { .. } => entry!("milestone remove"),
            Command::Kudos { .. } => entry!("kudos"),
            Command::KudosRemove { .. } => entry!("kudos remove"),
            Command::Stats { .. } => entry!("stats"),
            Command::StatsMe => entry!("stats me"),
            Command::StatsChart { .. } => entry!("stats chart"),
            Command::Away { .. } => entry!("away"),
            Command::LinkStart {
                kind: LinkKind::Identity,
            } => entry!("link"),
            Command::LinkStart {
                kind: LinkKind::Workspace,
            } => entry!("link community"),
            Command::LinkRedeem { .. } => entry!("link code"),
            Command::Export { scope, .. } => match scope {
                ExportScope::Me => entry!("export me"),
                ExportScope::Community => entry!("export community"),
                ExportScope::Health => entry!("export health"),
            },
            Command::ForgetMe { .. } => entry!("forget-me"),
            Command::Setup(setup) => match setup {
                Setup::Show => entry!("setup show"),
                Setup::AnnouncementChannel(_) => entry!("setup announcements"),
                Setup::ReviewChannel(_) => entry!("setup review-channel"),
                Setup::OrganiserRole(_) => entry!("setup organiser-role"),
                Setup::Timezone(_) => entry!("setup timezone"),
                Setup::Digest(_) => entry!("setup digest"),
                Setup::Reminder(_) => entry!("setup reminder"),
                Setup::InactiveDays(_) => entry!("setup inactive-days"),
                Setup::KudosPerWeek(_) => entry!("setup kudos-per-week"),
                Setup::AlignmentThreshold(_) => entry!("setup alignment"),
                Setup::CommunityName(_) => entry!("setup name"),
                Setup::MilestonesInDigestOnly(_) => entry!("setup milestones"),
                Setup::Pairing(_) => entry!("setup pairing"),
                Setup::PairingSize(_) => entry!("setup pairing-size"),
                Setup::PairingChannel(_) => entry!("setup pairing-channel"),
            },
            Command::Health { .. } => entry!("health"),
            Command::Leaderboard { .. } => entry!("leaderboard"),
            Command::EventCreate(_) => entry!("event create"),
            Command::EventList => entry!("event list"),
            Command::EventShow { .. } => entry!("event show"),
            Command::EventRsvp { .. } => entry!("event rsvp"),
            Command::EventCheckIn { .. } => entry!("event checkin"),
            Command::EventAttend { .. } => entry!("event attend"),
            Command::EventEdit { .. } => entry!("event edit"),
            Command::EventCancel { .. } => entry!("event cancel"),
            Command::PairJoin => entry!("pair join"),
            Command::PairLeave => entry!("pair leave"),
            Command::PairStatus => entry!("pair status"),
            Command::PairAvoid { .. } => entry!("pair avoid"),
            Command::PairNow => entry!("pair now"),
            Command::PairMet { .. } => entry!("pair met"),
        }
    }

    /// The command's name for logs and messages: "goal create".
    pub fn name(&self) -> &'static str {
        self.entry().name
    }

    /// An export, refused where the scope has no such format.
    pub fn export(scope: ExportScope, format: ExportFormat) -> Result<Command, UserError> {
        if scope == ExportScope::Health && format != ExportFormat::Csv {
            return Err(UserError::invalid(
                "The health lists export as CSV only.",
                "Leave the format out: `export health`.",
            ));
        }
        Ok(Command::Export { scope, format })
    }

    /// Commands whose reply may take long enough (files, charts) that adapters
    /// acknowledge first and answer later (Slack's response_url, Discord's defer).
    pub fn is_slow(&self) -> bool {
        self.acknowledgement().is_some()
    }

    /// For a slow command: what to tell the member at once, and whether the answer
    /// that follows is private (exports) or for the channel (charts).
    pub fn acknowledgement(&self) -> Option<(&'static str, super::reply::Visibility)> {
        use super::reply::Visibility;
        match self {
            Command::Export { .. } => Some(("Preparing your export…", Visibility::Private)),
            Command::StatsChart { .. } | Command::GoalChart { .. } => {
                Some(("Drawing the chart…", Visibility::Public))
            }
            _ => None,
        }
    }

    /// Whether an adapter must find out if the member organises before running
    /// the command. Asking the platform costs a call (Slack's users.info), so
    /// adapters ask only when this says so.
    pub fn role_check(&self) -> RoleCheck {
        self.entry().access.role_check()
    }

    /// Organiser-only commands. Adapters may hide these from members too
    /// (Discord's default permissions), but this is the check that counts.
    pub fn requires_organiser(&self) -> bool {
        self.entry().organisers_only()
    }
}
