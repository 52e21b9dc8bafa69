//! `keel demo`: generates a community with members, a mission, goals, contributions
//! and kudos spread over a period, so newcomers see Keel with data in it and the
//! benchmarks have a large history to work on. Seeded, so runs repeat exactly.

use chrono::{DateTime, Days, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::{CommunityId, ContributionId, MemberId};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::demo::{DemoCommunity, DemoContribution, DemoGoal, DemoKudos, DemoMember};

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

pub async fn generate(
    store: &Store,
    options: &DemoOptions,
    now: DateTime<Utc>,
) -> Result<DemoSummary> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let today = now.date_naive();
    let days = options.days.max(1);
    let members = options.members.max(2);

    // Members join over the period; each contributes only after joining.
    let mut joined: Vec<u32> = Vec::with_capacity(members as usize);
    let mut people = Vec::with_capacity(members as usize);
    for index in 0..i64::from(members) {
        let ago = rng.random_range(0..days);
        joined.push(ago);
        people.push(DemoMember {
            name: demo_name(index),
            joined_at: now
                - Duration::days(i64::from(ago))
                - Duration::minutes(rng.random_range(0..1440)),
        });
    }
    let values: Vec<String> = VALUES.iter().map(|v| v.to_string()).collect();
    let scale = f64::from(options.contributions.max(1));
    let began = now - Duration::days(i64::from(days));
    let goals: Vec<DemoGoal> = GOALS
        .iter()
        .map(|(slug, title, unit)| DemoGoal {
            slug,
            title,
            unit,
            target: (scale * 4.0).round().max(10.0),
            deadline: today + Days::new(180),
            created_at: began,
        })
        .collect();
    let seeded = store
        .seed_demo_community(
            &DemoCommunity {
                name: &options.community,
                members: &people,
                mission: "Grow a thriving urban forest, together.",
                values: &values,
                mission_at: began,
                goals: &goals,
            },
            now,
        )
        .await?;
    let Some(seeded) = seeded else {
        return Err(Error::internal(
            "demo",
            format!(
                "the community “{}” already has data; choose another with --community",
                options.community
            ),
        ));
    };
    let community = seeded.community;
    let member = |index: usize| MemberId(seeded.first_member.0 + index as i64);

    // Contributions, in transactions of a manageable size. A few members do most
    // of the work, as in real communities.
    let mut written = 0u32;
    let first_contribution = store.next_contribution_id().await?.0;
    while written < options.contributions {
        let batch = (options.contributions - written).min(50_000);
        let mut rows = Vec::with_capacity(batch as usize);
        for k in 0..batch {
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
            rows.push(DemoContribution {
                id: ContributionId(first_contribution + i64::from(written + k)),
                member: member(index),
                description: DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())],
                amount,
                unit: with_goal.then_some(GOALS[g].2),
                goal: with_goal.then_some(seeded.goals[g]),
                value: rng
                    .random_bool(0.5)
                    .then(|| VALUES[rng.random_range(0..VALUES.len())]),
                happened_on: on,
                created_at: created.min(now),
            });
        }
        store.insert_demo_contributions(community, &rows).await?;
        written += batch;
    }

    // Kudos: one for every other member, between random pairs.
    let kudos = members / 2;
    let given: Vec<DemoKudos> = (0..kudos)
        .map(|_| {
            let from = rng.random_range(0..members);
            let to = (from + rng.random_range(1..members)) % members;
            let ago = rng.random_range(0..=joined[from as usize].min(joined[to as usize]));
            DemoKudos {
                from: member(from as usize),
                to: member(to as usize),
                reason: "for showing up",
                created_at: now - Duration::days(i64::from(ago)),
            }
        })
        .collect();
    store.finish_demo(community, &given, today, now).await?;
    Ok(DemoSummary {
        community,
        members,
        contributions: options.contributions,
        kudos,
    })
}

/// "ada", "bob", … then "ada-2", "bob-2", …: easy to type after `--as`.
pub fn demo_name(index: i64) -> String {
    let first = FIRST_NAMES[(index as usize) % FIRST_NAMES.len()];
    match index as usize / FIRST_NAMES.len() {
        0 => first.to_string(),
        round => format!("{first}-{}", round + 1),
    }
}
