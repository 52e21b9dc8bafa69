//! Introductions (issue 19 §2) through the seam, `App::handle_line`, on a real
//! database (SQLite, or PostgreSQL with TEST_DATABASE): every form with its
//! refusals, rounds (two pairs and a trio of 7, no repeated pair over 6 rounds of
//! 8, away members sitting out, newcomers with established members), the
//! schedule firing once per period, "Did you meet?" and its answer counting as
//! activity, the figures, and erasure taking a member out of introductions.
//!
//! The clock starts on Thursday 2026-11-26 12:00 UTC and is moved by hand.

#[path = "support/database.rs"]
mod database;
#[path = "support/db.rs"]
mod db;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use keel::app::{App, run_due_pairing};
use keel::domain::clock::ManualClock;
use keel::domain::{Actor, Envelope, Platform, Reply, Role, UserError};
use keel::store::{Store, StoreOptions};
use tempfile::TempDir;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

async fn open(dir: &TempDir, clock: &Arc<ManualClock>) -> App {
    let url = database::url(dir.path()).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    App::new(store, clock.clone())
}

async fn app() -> (TempDir, App, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let app = open(&dir, &clock).await;
    (dir, app, clock)
}

async fn actor(app: &App, user: &str, role: Role) -> Actor {
    app.actor(&Envelope {
        platform: Platform::Console,
        workspace_id: "forest".into(),
        workspace_name: "forest".into(),
        user_id: user.into(),
        user_name: user.into(),
        role,
    })
    .await
    .unwrap()
}

async fn organiser(app: &App) -> Actor {
    actor(app, "olga", Role::Organiser).await
}

async fn ok(app: &App, actor: &Actor, line: &str) -> Reply {
    match app.handle_line(actor, line).await {
        Ok(reply) => reply,
        Err(e) => panic!("`{line}` failed: {e}"),
    }
}

async fn err(app: &App, actor: &Actor, line: &str) -> UserError {
    match app.handle_line(actor, line).await {
        Ok(reply) => panic!(
            "`{line}` should be refused, but replied:\n{}",
            reply.plain()
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_has(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

#[track_caller]
fn assert_lacks(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(
        !text.contains(needle),
        "did not expect {needle:?} in:\n{text}"
    );
}

#[track_caller]
fn refused(e: &UserError, needle: &str) {
    let text = e.to_string();
    assert!(
        text.contains(needle),
        "expected {needle:?} in the refusal:\n{text}"
    );
}

/// Members named `names`, each opted in.
async fn joined(app: &App, names: &[&str]) -> Vec<Actor> {
    let mut out = Vec::new();
    for name in names {
        let member = actor(app, name, Role::Member).await;
        ok(app, &member, "pair join").await;
        out.push(member);
    }
    out
}

/// The groups of the latest round, each as its members' names, sorted.
async fn latest_groups(app: &App) -> Vec<Vec<String>> {
    let rows: Vec<(i64, String)> = db::rows(
        app,
        "SELECT g.id, m.display_name FROM pairing_groups g
           JOIN pairing_group_members gm ON gm.group_id = g.id
           JOIN members m ON m.id = gm.member_id
          WHERE g.round_id = (SELECT max(id) FROM pairing_rounds)
          ORDER BY g.id, m.display_name",
        &[],
    )
    .await;
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut last = None;
    for (group, name) in rows {
        if last != Some(group) {
            groups.push(Vec::new());
            last = Some(group);
        }
        groups.last_mut().unwrap().push(name);
    }
    groups.sort();
    groups
}

async fn count(app: &App, sql: &str) -> i64 {
    db::scalar(app, sql, &[]).await
}

// ---------------------------------------------------------------------------
// Every form, with its refusals
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_pairing_form_works_for_whom_it_is_and_refuses_the_rest() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let ann = actor(&app, "ann", Role::Member).await;
    let bo = actor(&app, "bo", Role::Member).await;

    let r = ok(&app, &ann, "pair status").await;
    assert!(r.is_private());
    assert_has(&r, "you are not in the rounds");
    assert_has(&r, "No rounds are scheduled yet");
    let r = ok(&app, &ann, "pair join").await;
    assert!(r.is_private());
    assert_has(&r, "You are in the pairing rounds");
    assert_has(&ok(&app, &ann, "pair join").await, "already");
    assert_has(&ok(&app, &ann, "pair").await, "you are in the rounds");

    let r = ok(&app, &ann, "pair avoid @bo").await;
    assert!(r.is_private());
    assert_has(&r, "never be grouped with bo");
    assert_has(&r, "Nobody else is told");
    refused(
        &err(&app, &ann, "pair avoid").await,
        "Missing whom to avoid",
    );
    refused(&err(&app, &ann, "pair avoid @bo @cy").await, "one member");
    refused(
        &err(&app, &ann, "pair avoid @nobody").await,
        "No member @nobody",
    );
    refused(&err(&app, &ann, "pair avoid me").await, "is not a member");
    refused(&err(&app, &ann, "pair met").await, "pair met yes");
    refused(
        &err(&app, &ann, "pair met yes").await,
        "not been in a pairing round",
    );

    refused(&err(&app, &ann, "pair now").await, "organis");
    refused(
        &err(&app, &ann, "setup pairing weekly mon 09:00").await,
        "organis",
    );
    let r = ok(&app, &olga, "setup pairing fortnightly mon 09:00").await;
    assert_has(&r, "Pairing rounds: fortnightly mon 09:00 (UTC)");
    refused(
        &err(&app, &olga, "setup pairing every tuesday").await,
        "fortnightly mon 09:00",
    );
    assert_has(
        &ok(&app, &ann, "pair status").await,
        "Next round: 2026-12-07 09:00 UTC (fortnightly mon 09:00)",
    );
    assert_has(
        &ok(&app, &olga, "setup pairing-size 3").await,
        "groups of 3",
    );
    refused(
        &err(&app, &olga, "setup pairing-size 7").await,
        "from 2 to 6",
    );
    assert_has(
        &ok(&app, &olga, "setup pairing-channel #introductions").await,
        "#introductions",
    );
    assert_has(&ok(&app, &olga, "setup pairing off").await, "off");

    // Alone in the rounds: a round groups nobody, and says why.
    let r = ok(&app, &olga, "pair now").await;
    assert_has(&r, "0 groups");
    assert_has(&r, "needs two members");
    ok(&app, &bo, "pair join").await;
    // ann avoids bo: still nobody to group.
    assert_has(&ok(&app, &olga, "pair now").await, "0 groups");

    let r = ok(&app, &ann, "pair leave").await;
    assert_has(&r, "You are out of the pairing rounds");
    assert_has(&ok(&app, &ann, "pair leave").await, "were not in");
    assert_has(&ok(&app, &ann, "help").await, "pair join");
}

// ---------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------

#[tokio::test]
async fn seven_members_make_two_pairs_and_a_trio_each_introduced_together() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let members = joined(&app, &["ann", "bo", "cy", "dee", "eve", "fay", "gus"]).await;
    ok(&app, &members[0], "contribute Planted 3 oaks").await;
    ok(
        &app,
        &olga,
        "mission set Grow a thriving urban forest, together.",
    )
    .await;

    let r = ok(&app, &olga, "pair now").await;
    assert_has(&r, "3 groups, 7 members introduced");
    let mut sizes: Vec<usize> = latest_groups(&app).await.iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [2, 2, 3]);

    // Each group's introduction is queued to it, with its members' user ids, and
    // says who they are, what they did lately, and the mission.
    let intros: Vec<(String, String)> = db::rows(
        &app,
        "SELECT d.recipients, a.body FROM announcement_deliveries d
           JOIN announcements a ON a.id = d.announcement_id
          WHERE a.kind = 'introduction' ORDER BY a.id",
        &[],
    )
    .await;
    assert_eq!(intros.len(), 3);
    let mut everyone = BTreeSet::new();
    for (recipients, body) in &intros {
        let recipients: Vec<String> = serde_json::from_str(recipients).unwrap();
        let body: Reply = serde_json::from_str(body).unwrap();
        let text = body.plain();
        assert!(text.contains("Meet each other"), "{text}");
        assert!(text.contains("Grow a thriving urban forest"), "{text}");
        for user in &recipients {
            assert!(text.contains(user.as_str()), "{user} not named in:\n{text}");
            everyone.insert(user.clone());
        }
        if recipients.contains(&"ann".to_string()) {
            assert!(text.contains("“Planted 3 oaks”"), "{text}");
        }
    }
    assert_eq!(everyone.len(), 7);

    // pair status names the member's group.
    let r = ok(&app, &members[0], "pair status").await;
    assert_has(&r, "Your latest group");
    let mine = latest_groups(&app)
        .await
        .into_iter()
        .find(|g| g.contains(&"ann".to_string()))
        .unwrap();
    for other in mine.iter().filter(|n| *n != "ann") {
        assert_has(&r, other);
    }
}

/// Whether `people` can all be paired without a pair in `seen`.
fn repeat_free_pairing_exists(people: &[String], seen: &BTreeSet<(String, String)>) -> bool {
    let Some((first, rest)) = people.split_first() else {
        return true;
    };
    rest.iter().enumerate().any(|(i, other)| {
        let pair = if first < other {
            (first.clone(), other.clone())
        } else {
            (other.clone(), first.clone())
        };
        if seen.contains(&pair) {
            return false;
        }
        let mut left: Vec<String> = rest.to_vec();
        left.remove(i);
        repeat_free_pairing_exists(&left, seen)
    })
}

#[tokio::test]
async fn six_rounds_of_eight_never_repeat_a_pair_while_another_arrangement_exists() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"];
    joined(&app, &names).await;
    let people: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut seen = BTreeSet::new();
    let mut repeat_free_rounds = 0;
    for round in 0..6 {
        let possible = repeat_free_pairing_exists(&people, &seen);
        ok(&app, &olga, "pair now").await;
        let groups = latest_groups(&app).await;
        assert_eq!(groups.len(), 4, "round {round}: {groups:?}");
        let mut repeated = false;
        for group in groups {
            assert_eq!(group.len(), 2);
            repeated |= !seen.insert((group[0].clone(), group[1].clone()));
        }
        assert!(
            !(possible && repeated),
            "round {round} repeated a pair while a repeat-free arrangement existed"
        );
        repeat_free_rounds += usize::from(!repeated);
    }
    // The first five rounds always leave a repeat-free one.
    assert!(repeat_free_rounds >= 5, "{repeat_free_rounds}");
}

#[tokio::test]
async fn an_away_member_sits_the_round_out_and_avoided_members_are_never_together() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let members = joined(&app, &["ann", "bo", "cy", "dee", "eve"]).await;
    ok(&app, &members[4], "away on").await;
    ok(&app, &members[0], "pair avoid @bo").await;
    for _ in 0..3 {
        ok(&app, &olga, "pair now").await;
        let groups = latest_groups(&app).await;
        assert_eq!(groups.len(), 2, "{groups:?}");
        for group in &groups {
            assert!(!group.contains(&"eve".to_string()), "{groups:?}");
            assert!(
                !(group.contains(&"ann".to_string()) && group.contains(&"bo".to_string())),
                "{groups:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_newcomer_is_paired_with_an_established_member() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let old = joined(&app, &["ann", "bo"]).await;
    for member in &old {
        ok(&app, member, "contribute Planted a tree").await;
    }
    clock.advance(Duration::days(45));
    let new = joined(&app, &["cy", "dee"]).await;
    ok(&app, &new[0], "contribute Watered the saplings").await;
    for _ in 0..2 {
        ok(&app, &olga, "pair now").await;
        for group in latest_groups(&app).await {
            let established = group.iter().filter(|n| *n == "ann" || *n == "bo").count();
            assert_eq!(established, 1, "{group:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// The schedule, the follow-up, the figures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rounds_run_once_per_period_and_the_follow_up_counts_a_yes_as_activity() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let app = open(&dir, &clock).await;
    let olga = organiser(&app).await;
    let members = joined(&app, &["ann", "bo", "cy", "dee"]).await;
    ok(&app, &olga, "setup pairing fortnightly mon 09:00").await;
    assert_eq!(run_due_pairing(&app).await.unwrap(), 0);

    // Monday 2026-11-30 is in the other week. Monday 2026-12-07 09:00: due.
    // Run twice, and after a restart: one round.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap());
    assert_eq!(run_due_pairing(&app).await.unwrap(), 0);
    clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap());
    assert_eq!(run_due_pairing(&app).await.unwrap(), 1);
    assert_eq!(run_due_pairing(&app).await.unwrap(), 0);
    drop(app);
    let app = open(&dir, &clock).await;
    assert_eq!(run_due_pairing(&app).await.unwrap(), 0);
    assert_eq!(count(&app, "SELECT count(*) FROM pairing_rounds").await, 1);
    assert_has(
        &ok(&app, &members[0], "pair status").await,
        "Next round: 2026-12-21 09:00",
    );

    // Four days on, each group is asked once whether they met, with buttons.
    clock.set(Utc.with_ymd_and_hms(2026, 12, 11, 9, 0, 0).unwrap());
    assert_eq!(run_due_pairing(&app).await.unwrap(), 2);
    assert_eq!(run_due_pairing(&app).await.unwrap(), 0);
    let follow_ups: Vec<String> = db::scalars(
        &app,
        "SELECT a.body FROM announcements a JOIN announcement_deliveries d ON d.announcement_id = a.id
          WHERE a.kind = 'follow_up' AND d.recipients IS NOT NULL",
        &[],
    )
    .await;
    assert_eq!(follow_ups.len(), 2);
    let asked: Reply = serde_json::from_str(&follow_ups[0]).unwrap();
    assert_eq!(asked.title.as_deref(), Some("Did you meet?"));
    assert_eq!(asked.buttons.len(), 2);

    // ann says yes: an active day of hers, once however often she says it.
    let introductions =
        "SELECT CAST(COALESCE(sum(introductions), 0) AS BIGINT) FROM member_daily_activity";
    assert_eq!(count(&app, introductions).await, 0);
    assert_has(&ok(&app, &members[0], "pair met yes").await, "Glad you met");
    ok(&app, &members[0], "pair met yes").await;
    assert_eq!(count(&app, introductions).await, 1);
    assert_has(
        &ok(&app, &members[0], "pair status").await,
        "You said you met.",
    );
    assert_has(&ok(&app, &members[1], "pair met no").await, "have not met");

    // stats, digest and health carry it.
    let stats = ok(&app, &olga, "stats").await;
    assert_has(&stats, "Introductions made: 2");
    assert_has(&stats, "Meet rate: 50% (1 of 2 groups asked said they met)");
    assert_has(
        &stats,
        "Introduced in 90 days: 4 of 4 members in the rounds (100%)",
    );
    let digest = keel::app::digest(
        &app,
        olga.community,
        "forest",
        Some(
            keel::domain::schedule::ScheduleSpec::parse("weekly mon 09:00")
                .unwrap()
                .unwrap(),
        ),
        app.now(),
    )
    .await
    .unwrap();
    assert_has(&digest, "Introductions made: 2 (+2 on the period before)");
    assert_has(&digest, "Meet rate: 50% (the period before: –)");
    let newcomer = actor(&app, "eve", Role::Member).await;
    let health = ok(&app, &olga, "health").await;
    assert_has(
        &health,
        "Newcomers of the last 30 days not introduced yet: olga, eve",
    );
    ok(&app, &newcomer, "pair join").await;
    ok(&app, &olga, "pair now").await;
    let health = ok(&app, &olga, "health").await;
    assert_has(
        &health,
        "Newcomers of the last 30 days not introduced yet: olga\n",
    );
    assert_lacks(&health, "olga, eve");
    let export = ok(&app, &olga, "export health").await;
    let csv = String::from_utf8(export.attachments[0].contents().unwrap()).unwrap();
    assert!(csv.contains("\nnewcomer not introduced,olga,"), "{csv}");
    assert!(!csv.contains("newcomer not introduced,eve"), "{csv}");
}

#[tokio::test]
async fn forget_me_takes_a_member_out_of_their_introduction_and_export_me_holds_it() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let members = joined(&app, &["ann", "bo"]).await;
    ok(&app, &olga, "pair now").await;
    ok(&app, &members[1], "pair met yes").await;

    let r = ok(&app, &members[1], "export me format=json").await;
    let doc: serde_json::Value =
        serde_json::from_slice(&r.attachments[0].contents().unwrap()).unwrap();
    assert_eq!(doc["introductions"][0]["with"], serde_json::json!(["ann"]));
    assert_eq!(doc["introductions"][0]["met"], true);

    ok(&app, &members[1], "forget-me").await;
    ok(&app, &members[1], "forget-me confirm").await;
    let body: String = db::scalar(
        &app,
        "SELECT body FROM announcements WHERE kind = 'introduction'",
        &[],
    )
    .await;
    let body: Reply = serde_json::from_str(&body).unwrap();
    let text = body.plain();
    assert!(text.contains("ann"), "{text}");
    assert!(!text.contains("bo"), "{text}");
    assert_eq!(count(&app, "SELECT count(*) FROM pairing_members").await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM pairing_group_members").await,
        1
    );
}

#[tokio::test]
async fn a_groups_workspace_is_found_from_the_group_alone() {
    // What a press of "Did you meet?" in a direct message (no server in it) is
    // answered by.
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    joined(&app, &["ann", "bo"]).await;
    ok(&app, &olga, "pair now").await;
    let group = count(&app, "SELECT max(id) FROM pairing_groups").await;
    let store = app.store();
    assert_eq!(
        store
            .pairing_group_workspace(keel::domain::PairingGroupId(group))
            .await
            .unwrap(),
        Some((Platform::Console, "forest".to_string()))
    );
    assert_eq!(
        store
            .pairing_group_workspace(keel::domain::PairingGroupId(group + 1))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn linking_two_accounts_keeps_one_member_in_the_rounds_with_both_histories() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let grove = |user: &str, role| Envelope {
        platform: Platform::Console,
        workspace_id: "grove".into(),
        workspace_name: "grove".into(),
        user_id: user.into(),
        user_name: user.into(),
        role,
    };
    let code = ok(&app, &olga, "link community").await.lines[0].plain();
    let gina = app.actor(&grove("gina", Role::Organiser)).await.unwrap();
    ok(&app, &gina, &format!("link {code}")).await;
    let members = joined(&app, &["ann", "bo"]).await;
    let ann_g = app.actor(&grove("ann-g", Role::Member)).await.unwrap();
    let cy_g = app.actor(&grove("cy-g", Role::Member)).await.unwrap();
    for member in [&ann_g, &cy_g] {
        ok(&app, member, "pair join").await;
    }
    ok(&app, &ann_g, "pair avoid @cy-g").await;
    ok(&app, &olga, "pair now").await;
    // Each workspace makes its own group: ann with bo; ann-g alone with cy-g,
    // whom she avoids.
    assert_eq!(latest_groups(&app).await, [vec!["ann", "bo"]]);

    let code = ok(&app, &members[0], "link").await.lines[0].plain();
    assert_has(
        &ok(&app, &ann_g, &format!("link {code}")).await,
        "Accounts linked",
    );
    keel::app::merge_pending(&app, || true).await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM pairing_members").await, 3);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM pairing_avoids WHERE member_id = {}",
                members[0].member.0
            )
        )
        .await,
        1
    );
    assert_has(&ok(&app, &members[0], "pair status").await, "bo");
}
