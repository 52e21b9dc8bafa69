//! Member-level commands: `kudos`, `away`, `link`, `export`, `forget-me`.

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use rand::Rng;

use crate::domain::command::{ExportFormat, ExportScope, LinkKind};
use crate::domain::reply::{Attachment, Line};
use crate::domain::text::Reason;
use crate::domain::{Actor, MemberRef, Reply, UserError};
use crate::error::{Error, Result};
use crate::spool::SpoolWriter;
use crate::store::export::{self as exporting, Exported};
use crate::store::kudos::KudosRefused;
use crate::store::links::{LinkRefused, LinkUse, Linked, Redeemed};

use super::App;

pub async fn kudos(
    app: &App,
    actor: &Actor,
    to: MemberRef,
    reason: Option<Reason>,
) -> Result<Reply> {
    let recipient = app.member_by_ref(actor, &to, true).await?;
    if recipient.id == actor.member {
        return Err(UserError::invalid(
            "Kudos are for thanking someone else.",
            "Name another member, like `kudos @bob for leading the planting`.",
        )
        .into());
    }
    let reason_text = reason.as_ref().map(Reason::as_str).unwrap_or("");
    let given = app
        .store()
        .give_kudos(
            actor.community,
            actor.member,
            recipient.id,
            reason_text,
            actor.platform,
            app.now(),
        )
        .await?;
    let id = match given {
        Ok(id) => id,
        Err(refused) => {
            let community = app.store().community(actor.community).await?;
            let tz: Tz = community.timezone.parse().unwrap_or(Tz::UTC);
            return Err(kudos_refused(refused, &recipient.display_name, tz).into());
        }
    };
    let mut line = Line::new()
        .strong(&actor.display_name)
        .text(" thanks ")
        .strong(&recipient.display_name);
    if let Some(reason) = reason {
        line = line.text(" for ").text(reason.as_str());
    }
    Ok(Reply::public(format!("👏 Kudos #{id}")).line(line))
}

/// What a giver past their kudos allowance is told: which limit, and the exact
/// minute (in the community's time zone) from which the next kudos is possible.
fn kudos_refused(refused: KudosRefused, recipient: &str, tz: Tz) -> UserError {
    let at = |next: DateTime<Utc>| {
        // Rounded up, so that trying at the minute shown succeeds.
        let minute = next.duration_round_up(Duration::minutes(1)).unwrap_or(next);
        minute
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    };
    match refused {
        KudosRefused::SameMember { next } => UserError::invalid(
            format!(
                "You thanked {recipient} less than a day ago: the same member can be thanked once a day."
            ),
            format!("You can thank {recipient} again from {}.", at(next)),
        ),
        KudosRefused::Allowance { per_week, next } => UserError::invalid(
            format!("You have given your {per_week} kudos for the last 7 days."),
            format!("Your next kudos is possible from {}.", at(next)),
        ),
    }
}

pub async fn away(app: &App, actor: &Actor, on: bool) -> Result<Reply> {
    let since = on.then(|| app.now());
    app.store()
        .set_away(actor.community, actor.member, since)
        .await?;
    Ok(if on {
        Reply::private("Away mode on").line(
            "Enjoy the break. Health reports leave you out of drop and inactivity lists until you say `away off`.",
        )
    } else {
        Reply::private("Welcome back").line("Away mode is off.")
    })
}

/// An easy-to-type code from an alphabet without look-alikes (0/O, 1/I).
fn new_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let mut part = || -> String {
        (0..4)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    };
    format!("KEEL-{}-{}", part(), part())
}

pub async fn link_start(app: &App, actor: &Actor, kind: LinkKind) -> Result<Reply> {
    let now = app.now();
    let expires = now + Duration::minutes(App::LINK_CODE_MINUTES);
    let code = new_code();
    let member = match kind {
        LinkKind::Identity => Some(actor.member),
        LinkKind::Workspace => None,
    };
    app.store()
        .create_link_code(&code, kind, actor.community, member, now, expires)
        .await?;
    let what = match kind {
        LinkKind::Identity => {
            "On your other account (Discord, Slack or the console), in a workspace of this community, run"
        }
        LinkKind::Workspace => {
            "In the Discord server or Slack workspace to join to this community, an organiser runs"
        }
    };
    Ok(Reply::private("Link code")
        .line(Line::new().strong(&code))
        .line(
            Line::new()
                .text(format!("{what} "))
                .code(format!("link {code}")),
        )
        .line(
            Line::new()
                .text("It works once, until ")
                .time(expires)
                .text("."),
        ))
}

pub async fn link_redeem(app: &App, actor: &Actor, code: &str) -> Result<Reply> {
    // The code is used up only if everything it does succeeds, in one transaction.
    let linked = app
        .store()
        .redeem_link_code(code, app.now(), |redeemed| link_use(actor, redeemed))
        .await;
    app.forget_cached_actors();
    match linked? {
        Ok(Linked::MembersMerging { into }) => {
            // Merged now but for the contributions, which move here.
            super::merge::finish_now(app, actor.member, into).await?;
            Ok(Reply::private("Accounts linked").line(
                "This account and the one that made the code are now one member: contributions, kudos and counts are combined.",
            ))
        }
        Ok(Linked::WorkspaceMoved { community_name }) => {
            Ok(Reply::public("Workspace linked").line(
                Line::new()
                    .text("This workspace is now part of the community ")
                    .strong(community_name)
                    .text(": one mission, shared goals and stats."),
            ))
        }
        Err(LinkRefused::InvalidCode) => Err(UserError::invalid(
            "That link code is not valid: it may be mistyped, used already, or expired (codes last 15 minutes).",
            "Ask for a new one with `link` (or `link community`).",
        )
        .into()),
        Err(LinkRefused::SpansWorkspaces) => Err(UserError::conflict(
            "This workspace's community already spans several workspaces.",
            "Link the other community's workspaces to this one instead (run `link community` here).",
        )
        .into()),
        Err(LinkRefused::HasContent) => Err(UserError::conflict(
            "This workspace already has its own Keel data (a mission, goals or contributions), which linking would mix into another community.",
            "Link from a workspace that has not been used with Keel yet, or export this one's data first.",
        )
        .into()),
    }
}

/// What a redeemed link code is to do for `actor`, or why it may not be used here.
fn link_use(actor: &Actor, redeemed: &Redeemed) -> Result<LinkUse> {
    match redeemed.kind {
        LinkKind::Identity => {
            let into = redeemed
                .member
                .ok_or_else(|| Error::internal("identity link code", "no member"))?;
            if redeemed.community != actor.community {
                return Err(UserError::invalid(
                    "That code belongs to another community than this workspace's.",
                    "An organiser joins the workspaces first with `link community`; then link your accounts.",
                )
                .into());
            }
            if into == actor.member {
                return Err(UserError::conflict(
                    "That code is for this same account.",
                    "Use it from your other account.",
                )
                .into());
            }
            Ok(LinkUse::MergeMembers {
                community: actor.community,
                from: actor.member,
                into,
            })
        }
        LinkKind::Workspace => {
            if actor.role != crate::domain::Role::Organiser {
                // The code's community has organisers of its own; who may join
                // this server or workspace to it is an admin of this one.
                let here = match actor.platform {
                    crate::domain::Platform::Discord => "Discord server",
                    crate::domain::Platform::Slack => "Slack workspace",
                    crate::domain::Platform::Console => "workspace",
                };
                return Err(UserError::invalid(
                    format!("A community code joins this whole {here} to another community: only its organisers (admins) can redeem one."),
                    format!("Ask an admin of this {here} to run `link <code>` here. A code of your own, to link your accounts, is made with `link` alone."),
                )
                .into());
            }
            if redeemed.community == actor.community {
                return Err(UserError::conflict(
                    "This workspace is already part of that community.",
                    "Nothing changed.",
                )
                .into());
            }
            Ok(LinkUse::MoveWorkspace {
                workspace: actor.workspace,
                from: actor.community,
                into: redeemed.community,
            })
        }
    }
}

pub async fn export(
    app: &App,
    actor: &Actor,
    scope: ExportScope,
    format: ExportFormat,
) -> Result<Reply> {
    let spool =
        SpoolWriter::new(actor.upload_limit).map_err(|e| Error::internal("creating a spool", e))?;
    let (name, exported) = match scope {
        ExportScope::Me | ExportScope::Community => {
            let member = (scope == ExportScope::Me).then_some(actor.member);
            let name = exporting::name(actor.community, member, format);
            let exported = app
                .store()
                .export(actor.community, member, format, spool)
                .await?;
            (name, exported)
        }
        ExportScope::Health => {
            let lists = super::health::everyone_listed(app, actor).await?;
            let name = exporting::health_name(actor.community);
            (name, app.store().export_health(lists, spool).await?)
        }
    };
    let (rows, spool) = match exported {
        Exported::Done { rows, sink } => (rows, sink),
        Exported::TooLarge => return Err(too_large(actor, scope).into()),
    };
    // The last compressed bytes reach the file here, and may pass the limit too.
    let spool = match tokio::task::spawn_blocking(move || spool.finish())
        .await
        .map_err(|e| Error::internal("finishing a spool", e))?
    {
        Ok(spool) => spool,
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(too_large(actor, scope).into());
        }
        Err(e) => return Err(Error::internal("finishing a spool", e)),
    };
    let (title, held) = match scope {
        ExportScope::Me => ("Your data", format!("{rows} contributions")),
        ExportScope::Community => ("Community export", format!("{rows} contributions")),
        ExportScope::Health => (
            "Health lists",
            format!("{rows} names on the health lists (a member may be on more than one)"),
        ),
    };
    Ok(Reply::private(title)
        .line(format!("{held}, as {}.", name.filename))
        .attach(Attachment::gzipped(name.filename, name.media_type, spool)))
}

/// An export past what the platform takes in one file: where to get it instead.
fn too_large(actor: &Actor, scope: ExportScope) -> UserError {
    let limit = actor.upload_limit.map(file_size).unwrap_or_default();
    let problem = format!(
        "This export is larger than the {limit} {} takes in one file, even compressed.",
        actor.platform.title()
    );
    match scope {
        ExportScope::Community => UserError::invalid(
            problem,
            format!(
                "Whoever runs Keel can write it to a file of any size with `keel export --community {}` (add `--format json` for everything).",
                actor.community
            ),
        ),
        ExportScope::Me => UserError::invalid(
            problem,
            "Try `export me format=csv` (your contributions only, smaller), or ask your organisers: whoever runs Keel can export the community's data with `keel export`.",
        ),
        ExportScope::Health => UserError::invalid(
            problem,
            "Read the lists a page at a time instead: `health page=2`, `health page=3`…",
        ),
    }
}

/// A size as platforms state their limits: 1 GB, 25 MiB, 512 KiB.
fn file_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= 1_000_000_000 && bytes.is_multiple_of(1_000_000_000) {
        format!("{} GB", bytes / 1_000_000_000)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

pub async fn forget_me(app: &App, actor: &Actor, confirmed: bool) -> Result<Reply> {
    if !confirmed {
        let me = app.store().member(actor.community, actor.member).await?;
        let count = me.map(|m| m.contribution_count).unwrap_or(0);
        return Ok(Reply::private("Forget me?")
            .line(format!(
                "This erases your {count} contributions, your kudos (given and received), your away status and every linked account from this community. Goals and totals are recounted without them. It cannot be undone."
            ))
            .line(Line::new().text("Export your data first with ").code("export me").text(" if you want a copy."))
            .line(Line::new().text("To go ahead: ").code("forget-me confirm")));
    }
    let erased = super::erasure::erase_member(app, actor.member).await?;
    if !erased.finished {
        return Ok(Reply::private("Being forgotten").line(format!(
            "Your linked accounts are gone, so nothing more is recorded for you. {} of your contributions are erased so far; the rest go in the background within minutes. Using Keel again starts afresh.",
            erased.contributions
        )));
    }
    Ok(Reply::private("Forgotten").line(format!(
        "Erased {} contributions, {} kudos and {} linked accounts. Using Keel again starts afresh.",
        erased.contributions, erased.kudos, erased.identities
    )))
}
