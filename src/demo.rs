//! `keel demo`: generates a community with members, a mission, goals, contributions
//! and kudos spread over a period, so newcomers see Keel with data in it and the
//! benchmarks have a large history to work on. Seeded, so runs repeat exactly.

use chrono::{DateTime, Days, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::milestones::{
    Milestone, community_counts_crossed, goal_percents_crossed, headline,
};
use crate::domain::{CommunityId, Platform};
use crate::error::{Error, Result};
use crate::store::milestones::{self, NewAchievement};
use crate::store::{Store, communities, day, links, mission, ts, values_placeholders};

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub community: String,
    pub members: u32,
    pub contributions: u32,
    pub days: u32,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub community: CommunityId,
    pub members: u32,
    pub contributions: u32,
    pub kudos: u32,
}

const FIRST_NAMES: &[&str] = &[
    "ada", "bob", "chloe", "dara", "emeka", "farah", "gus", "hana", "ivan", "jo", "kwame", "lena",
    "mateo", "nia", "oskar", "priya", "quinn", "rosa", "sami", "tariq", "uma", "vera", "wei",
    "xena", "yusuf", "zoe",
];
const VALUES: &[&str] = &["stewardship", "inclusion", "learning"];
const GOALS: &[(&str, &str, &str)] = &[
    ("trees", "Plant trees across the city", "trees"),
    ("hours", "Volunteer hours", "hours"),
    ("workshops", "Run community workshops", "workshops"),
    ("euros", "Raise funds for saplings", "euros"),
];
const DESCRIPTIONS: &[&str] = &[
    "Planted saplings in the park",
    "Watered the new trees",
    "Ran a newcomer session",
    "Wrote the monthly newsletter",
    "Fixed the volunteer rota",
    "Led a workshop on composting",
    "Collected donations at the market",
    "Mentored a new member",
];

/// Rows per multi-row INSERT.
const CHUNK: usize = 400;

pub async fn generate(
    store: &Store,
    options: &DemoOptions,
    now: DateTime<Utc>,
) -> Result<DemoSummary> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let today = now.date_naive();
    let days = options.days.max(1);
    let members = options.members.max(2);

    let mut tx = store.begin_write().await?;
    let workspace = communities::ensure_workspace(
        &mut tx,
        Platform::Console,
        &options.community,
        &options.community,
        now,
    )
    .await?;
    let community = workspace.community_id;
    if links::has_content(&mut tx, community).await? {
        return Err(Error::internal(
            "demo",
            format!(
                "the community “{}” already has data; choose another with --community",
                options.community
            ),
        ));
    }
    let first_member = crate::store::next_id(&mut tx, "members").await?;

    // Members join over the period; each contributes only after joining.
    let mut joined: Vec<u32> = Vec::with_capacity(members as usize);
    let ids: Vec<i64> = (0..members).map(|i| first_member + i64::from(i)).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = sqlx::query(crate::store::built(format!(
            "INSERT INTO members (id, community_id, display_name, joined_at) VALUES {}",
            values_placeholders(chunk.len(), 4)
        )));
        for id in chunk {
            let ago = rng.random_range(0..days);
            joined.push(ago);
            let when =
                now - Duration::days(i64::from(ago)) - Duration::minutes(rng.random_range(0..1440));
            q = q
                .bind(id)
                .bind(community)
                .bind(demo_name(id - first_member))
                .bind(ts(when));
        }
        q.execute(&mut *tx).await?;
        let mut q = sqlx::query(crate::store::built(format!(
            "INSERT INTO identities (workspace_id, external_user_id, member_id) VALUES {}",
            values_placeholders(chunk.len(), 3)
        )));
        for id in chunk {
            q = q
                .bind(workspace.id)
                .bind(demo_name(id - first_member))
                .bind(id);
        }
        q.execute(&mut *tx).await?;
    }

    let values: Vec<String> = VALUES.iter().map(|v| v.to_string()).collect();
    mission::add_version(
        &mut tx,
        community,
        "Grow a thriving urban forest, together.",
        &values,
        crate::domain::MemberId(first_member),
        Some("demo data"),
        now - Duration::days(i64::from(days)),
    )
    .await?;
    let scale = f64::from(options.contributions.max(1));
    let mut goal_ids = Vec::new();
    for (slug, title, unit) in GOALS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO goals (community_id, slug, title, target, unit, deadline, created_by, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(community)
        .bind(slug)
        .bind(title)
        .bind((scale * 4.0).round().max(10.0))
        .bind(unit)
        .bind(day(today + Days::new(180)))
        .bind(first_member)
        .bind(ts(now - Duration::days(i64::from(days))))
        .fetch_one(&mut *tx)
        .await?;
        goal_ids.push(id);
    }
    tx.commit().await?;

    // Contributions, in transactions of a manageable size. A few members do most
    // of the work, as in real communities.
    let mut written = 0u32;
    let first_contribution = {
        let mut tx = store.begin_write().await?;
        let id = crate::store::next_id(&mut tx, "contributions").await?;
        tx.rollback().await?;
        id
    };
    while written < options.contributions {
        let batch = (options.contributions - written).min(50_000);
        let mut tx = store.begin_write().await?;
        let mut remaining = batch;
        while remaining > 0 {
            let n = remaining.min(CHUNK as u32);
            let mut q = sqlx::query(crate::store::built(format!(
                "INSERT INTO contributions (id, community_id, member_id, description, amount, unit, goal_id, value_name,
                 platform, happened_on, created_at) VALUES {}",
                values_placeholders(n as usize, 11)
            )));
            for k in 0..n {
                let u: f64 = rng.random();
                let index = ((u * u) * f64::from(members)) as usize % members as usize;
                let ago = rng.random_range(0..=joined[index]);
                let on = today - Days::new(u64::from(ago));
                let with_goal = rng.random_bool(0.4);
                let g = rng.random_range(0..GOALS.len());
                let amount = with_goal.then(|| f64::from(rng.random_range(1..=20u32)));
                let created = on
                    .and_hms_opt(rng.random_range(6..22), rng.random_range(0..60), 0)
                    .unwrap_or_default()
                    .and_utc();
                q = q
                    .bind(first_contribution + i64::from(written + batch - remaining + k))
                    .bind(community)
                    .bind(first_member + index as i64)
                    .bind(DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())])
                    .bind(amount)
                    .bind(with_goal.then_some(GOALS[g].2))
                    .bind(with_goal.then_some(goal_ids[g]))
                    .bind(
                        rng.random_bool(0.5)
                            .then(|| VALUES[rng.random_range(0..VALUES.len())]),
                    )
                    .bind("console")
                    .bind(day(on))
                    .bind(ts(created.min(now)));
            }
            q.execute(&mut *tx).await?;
            remaining -= n;
        }
        tx.commit().await?;
        written += batch;
    }

    // Kudos: one for every other member, between random pairs.
    let kudos = members / 2;
    let mut tx = store.begin_write().await?;
    for start in (0..kudos).step_by(CHUNK) {
        let n = (kudos - start).min(CHUNK as u32) as usize;
        let mut q = sqlx::query(crate::store::built(format!(
            "INSERT INTO kudos (community_id, from_member_id, to_member_id, reason, platform, created_at) VALUES {}",
            values_placeholders(n, 6)
        )));
        for _ in 0..n {
            let from = rng.random_range(0..members);
            let to = (from + rng.random_range(1..members)) % members;
            let ago = rng.random_range(0..=joined[from as usize].min(joined[to as usize]));
            q = q
                .bind(community)
                .bind(first_member + i64::from(from))
                .bind(first_member + i64::from(to))
                .bind("for showing up")
                .bind("console")
                .bind(ts(now - Duration::days(i64::from(ago))));
        }
        q.execute(&mut *tx).await?;
    }

    // Rollups and counters, exactly as the live writer would have kept them.
    for sql in [
        "INSERT INTO member_daily_activity (community_id, day, member_id, contributions)
         SELECT community_id, happened_on, member_id, count(*) FROM contributions WHERE community_id = ?1
         GROUP BY happened_on, member_id",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_given)
         SELECT community_id, substr(created_at, 1, 10), from_member_id, count(*) FROM kudos WHERE community_id = ?1
         GROUP BY 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE SET kudos_given = kudos_given + excluded.kudos_given",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_received)
         SELECT community_id, substr(created_at, 1, 10), to_member_id, count(*) FROM kudos WHERE community_id = ?1
         GROUP BY 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE SET kudos_received = kudos_received + excluded.kudos_received",
        "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
         SELECT goal_id, happened_on, count(*), SUM(COALESCE(amount, 0)) FROM contributions
         WHERE community_id = ?1 AND goal_id IS NOT NULL GROUP BY goal_id, happened_on",
        "INSERT INTO member_unit_amounts (member_id, unit, amount)
         SELECT member_id, unit, SUM(amount) FROM contributions
         WHERE community_id = ?1 AND amount IS NOT NULL AND unit IS NOT NULL GROUP BY member_id, unit",
        "UPDATE members SET contribution_count = c.n
         FROM (SELECT member_id, count(*) AS n FROM contributions WHERE community_id = ?1 GROUP BY member_id) AS c
         WHERE members.id = c.member_id",
        // Newcomers yet to contribute per joining day (migration 0004; the other
        // population counts follow the member rows by themselves).
        "UPDATE community_daily_members SET silent = COALESCE(s.n, 0)
         FROM (SELECT substr(joined_at, 1, 10) AS day, SUM(contribution_count = 0) AS n FROM members
               WHERE community_id = ?1 GROUP BY 1) AS s
         WHERE community_daily_members.community_id = ?1 AND community_daily_members.day = s.day",
        "UPDATE communities SET contribution_count = (SELECT count(*) FROM contributions WHERE community_id = ?1) WHERE id = ?1",
        "UPDATE goals SET
            progress = COALESCE((SELECT SUM(amount) FROM goal_daily_progress WHERE goal_id = goals.id), 0),
            contribution_count = COALESCE((SELECT SUM(contributions) FROM goal_daily_progress WHERE goal_id = goals.id), 0)
         WHERE community_id = ?1",
    ] {
        sqlx::query(sql).bind(community).execute(&mut *tx).await?;
    }

    crate::store::activity::rebuild(&mut tx, community).await?;
    crate::store::insights::rebuild(&mut tx, community).await?;
    crate::store::windows::rebuild_all(&mut tx, community, today).await?;

    // Milestones already passed count as reached, so the next contribution does
    // not announce a history's worth of them at once.
    let total: i64 = sqlx::query_scalar("SELECT contribution_count FROM communities WHERE id = ?")
        .bind(community)
        .fetch_one(&mut *tx)
        .await?;
    for m in community_counts_crossed(0, total) {
        record_past(&mut tx, community, &m, "community", &headline(&m, ""), now).await?;
    }
    for n in [1i64, 10, 50, 100] {
        let suffix = headline(&Milestone::MemberCount(n), "");
        sqlx::query(
            "INSERT INTO milestone_achievements (community_id, milestone_key, subject, title, member_id, achieved_at)
             SELECT community_id, ?, 'member:' || id, display_name || ?, id, ? FROM members
             WHERE community_id = ? AND contribution_count >= ? ON CONFLICT DO NOTHING",
        )
        .bind(Milestone::MemberCount(n).key())
        .bind(suffix)
        .bind(ts(now))
        .bind(community)
        .bind(n)
        .execute(&mut *tx)
        .await?;
    }
    let goals: Vec<(i64, String, f64, f64)> =
        sqlx::query_as("SELECT id, title, progress, target FROM goals WHERE community_id = ?")
            .bind(community)
            .fetch_all(&mut *tx)
            .await?;
    for (id, title, progress, target) in goals {
        for m in goal_percents_crossed(0.0, progress, target) {
            record_past(
                &mut tx,
                community,
                &m,
                &format!("goal:{id}"),
                &headline(&m, &title),
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(DemoSummary {
        community,
        members,
        contributions: options.contributions,
        kudos,
    })
}

async fn record_past(
    conn: &mut sqlx::SqliteConnection,
    community: CommunityId,
    milestone: &Milestone,
    subject: &str,
    title: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let achievement = NewAchievement {
        community,
        milestone_key: &milestone.key(),
        subject,
        title,
        member: None,
        goal: None,
        contribution: None,
    };
    milestones::record(conn, &achievement, now).await?;
    Ok(())
}

/// "ada", "bob", … then "ada-2", "bob-2", …: easy to type after `--as`.
pub fn demo_name(index: i64) -> String {
    let first = FIRST_NAMES[(index as usize) % FIRST_NAMES.len()];
    match index as usize / FIRST_NAMES.len() {
        0 => first.to_string(),
        round => format!("{first}-{}", round + 1),
    }
}
