//! The console as a black box: the built binary, fed lines on standard input,
//! on SQLite or on PostgreSQL (see support/database.rs).

#[path = "support/database.rs"]
mod database;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn keel(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .current_dir(dir)
        .env("KEEL_DATABASE__URL", database_url(dir))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the keel binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The test directory's database: a file in it, or its own PostgreSQL database.
fn database_url(dir: &Path) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(database::url(dir))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

const ISSUE_LINES: &str = r#"mission set Grow a thriving urban forest, together. reason="first draft"
mission value add stewardship
goal create Plant 1000 trees target=1000 unit=trees slug=trees deadline=2027-06-30
contribute Planted 40 oaks in Riverside park amount=40 goal=trees value=stewardship
contribute Ran the newcomer onboarding session
kudos @bob for leading Saturday's planting
stats
stats me
goal list
goal edit trees max=100 review_above=50
mission history
"#;

#[test]
fn the_issue_script_runs_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(
        dir.path(),
        &[
            "console",
            "--as",
            "alice",
            "--organiser",
            "--community",
            "forest",
        ],
        ISSUE_LINES,
    );
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "exit {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains('✗'), "no command should fail:\n{text}");
    for expected in [
        "Mission updated (version 1)",
        "Value added: stewardship",
        "New goal: Plant 1000 trees",
        "Plant 1000 trees: ▱▱▱▱▱▱▱▱▱▱ 40 / 1,000 trees (4%)",
        "Contribution #1 logged",
        "“Ran the newcomer onboarding session”",
        "Contribution #2 logged",
        "👏 Kudos #1",
        "alice thanks bob for leading Saturday's planting",
        "Community stats",
        "Active today (DAU): 2",
        "Your stats, alice",
        "Kudos given: 1",
        "Plant 1000 trees (`trees`)",
        "max: none → 100",
        "review_above: none → 50",
        "Mission history (2 versions)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Milestones are announced as they are delivered, once each.
    assert_eq!(text.matches("📣 Announcement").count(), 2, "{text}");
    assert!(
        text.contains("The community logged its first contribution!"),
        "{text}"
    );
    assert!(
        text.contains("alice logged their first contribution!"),
        "{text}"
    );
}

#[test]
fn announcements_survive_a_restart_and_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "console",
        "--as",
        "alice",
        "--organiser",
        "--community",
        "forest",
    ];
    let first = stdout(&keel(dir.path(), &args, "contribute Planted a tree\n"));
    assert_eq!(first.matches("📣 Announcement").count(), 2, "{first}");
    let second = stdout(&keel(dir.path(), &args, "contribute Watered it\n"));
    assert_eq!(second.matches("📣 Announcement").count(), 0, "{second}");
}

#[test]
fn errors_are_clear_and_the_console_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = "goal create Plant trees target=10\ncontribute x amount=lots\nfrobnicate\nmission set Hi\ncontribute Still here\n";
    let out = keel(dir.path(), &["console", "--as", "bob"], input);
    let text = stdout(&out);
    assert!(text.contains("✗ `goal create` is for organisers"), "{text}");
    assert!(text.contains("✗ `lots` is not a number"), "{text}");
    assert!(
        text.contains("Write amount as a positive number, like amount=40"),
        "{text}"
    );
    assert!(
        text.contains("✗ `frobnicate` is not a Keel command"),
        "{text}"
    );
    assert!(text.contains("“Still here”"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn settings_health_pages_and_the_health_export_work_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let organiser = [
        "console",
        "--as",
        "olga",
        "--organiser",
        "--community",
        "forest",
    ];
    // 30 members mentioned with kudos: newcomers yet to contribute, two pages
    // (past the default allowance of 10 a week, so it is raised first).
    let kudos: String = std::iter::once("setup kudos-per-week 30\n".to_string())
        .chain((0..30).map(|i| format!("kudos @n{i:02} for joining\n")))
        .collect();
    let given = stdout(&keel(d, &organiser, &kudos));
    assert!(!given.contains('✗'), "no kudos should be refused:\n{given}");
    let out = keel(
        d,
        &organiser,
        "setup show\nsetup milestones digest\nsetup\nhelp setup\nhealth\nhealth page=2\nexport health\n",
    );
    let text = stdout(&out);
    assert!(!text.contains('✗'), "no command should fail:\n{text}");
    assert!(text.contains("Settings · forest"), "{text}");
    assert!(text.contains("Milestones: in the digest only"), "{text}");
    assert!(
        text.contains("Kudos allowance: 30 a week per member"),
        "{text}"
    );
    assert!(text.contains("setup milestones each|digest"), "{text}");
    assert!(
        text.contains("Community health · forest · page 1 of 2"),
        "{text}"
    );
    assert!(text.contains("More names: `health page=2`"), "{text}");
    assert!(
        text.contains("Community health · forest · page 2 of 2"),
        "{text}"
    );
    assert!(text.contains("(26–31 of 31)"), "{text}");
    assert!(text.contains("31 names on the health lists"), "{text}");
    let saved = d.join("keel-community-1-health.csv");
    let csv = std::fs::read_to_string(&saved)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", saved.display()));
    assert!(csv.starts_with("list,member,last_active,joined\n"), "{csv}");
    assert_eq!(
        csv.matches("newcomer yet to contribute,").count(),
        31,
        "{csv}"
    );
    assert!(csv.contains("newcomer yet to contribute,n29,"), "{csv}");

    // A member may neither see the settings nor export the lists.
    let member = keel(
        d,
        &["console", "--as", "n00", "--community", "forest"],
        "setup show\nexport health\n",
    );
    let text = stdout(&member);
    assert!(text.contains("✗ `setup show` is for organisers"), "{text}");
    assert!(
        text.contains("✗ `export health` is for organisers"),
        "{text}"
    );
}

#[test]
fn charts_and_exports_are_saved_into_an_output_dir_made_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(
        dir.path(),
        &[
            "console",
            "--as",
            "alice",
            "--organiser",
            "--community",
            "forest",
            "--output-dir",
            "reports/november",
        ],
        "contribute Planted oaks\nstats chart\nexport\n",
    );
    let text = stdout(&out);
    assert!(!text.contains('✗'), "nothing should fail:\n{text}");
    let saved: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Saved reports/november/"))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(saved.contains(&"activity.png"), "{text}");
    assert!(saved.iter().any(|f| f.ends_with(".csv")), "{text}");
    let reports = dir.path().join("reports");
    for file in &saved {
        let path = reports.join("november").join(file);
        assert!(path.is_file(), "{} is missing:\n{text}", path.display());
    }
    // What holds community data is its owner's alone, and so are the
    // directories made to hold it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for file in &saved {
            assert_eq!(mode(&reports.join("november").join(file)), 0o600, "{file}");
        }
        assert_eq!(mode(&reports.join("november")), 0o700);
        assert_eq!(mode(&reports), 0o700);
    }
}

#[test]
fn invalid_utf8_is_refused_without_losing_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--as", "carol"])
        .env("KEEL_DATABASE__URL", database_url(dir.path()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"contribute caf\xe9 bad\ncontribute Good line\n")
        .unwrap();
    drop(stdin);
    let text = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string();
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert!(text.contains("“Good line”"), "{text}");
}

#[test]
fn export_backup_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keel(
        d,
        &[
            "console",
            "--as",
            "alice",
            "--organiser",
            "--community",
            "forest",
        ],
        "contribute Before the backup\n",
    );
    let backup = keel(d, &["backup", "snapshot.db"], "");
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    // SQLite checks the copy's integrity; PostgreSQL's is a pg_dump archive.
    let checked = if database::postgres() {
        "pg_dump custom format"
    } else {
        "integrity ok"
    };
    assert!(stdout(&backup).contains(checked), "{}", stdout(&backup));
    // A second backup to the same file is refused rather than overwritten.
    assert!(!keel(d, &["backup", "snapshot.db"], "").status.success());

    keel(
        d,
        &["console", "--as", "alice", "--community", "forest"],
        "contribute After the backup\n",
    );
    let csv = stdout(&keel(d, &["export", "--community", "forest"], ""));
    assert!(csv.starts_with("id,member,day,description"), "{csv}");
    assert!(csv.contains("After the backup"), "{csv}");

    let restore = keel(d, &["restore", "snapshot.db"], "");
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    let csv = stdout(&keel(
        d,
        &["export", "--community", "forest", "--format", "csv"],
        "",
    ));
    assert!(csv.contains("Before the backup"), "{csv}");
    assert!(!csv.contains("After the backup"), "{csv}");
    // SQLite keeps the file it replaced; PostgreSQL restores in one transaction.
    if !database::postgres() {
        assert!(std::fs::read_dir(d).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .contains("before-restore")
        }));
    }
}

#[test]
fn export_needs_an_exact_community_name_or_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let console = |workspace: &str, lines: &str| {
        let out = keel(
            d,
            &[
                "console",
                "--as",
                "olga",
                "--organiser",
                "--community",
                workspace,
            ],
            lines,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Two communities called exactly "forest", and one "Forest".
    console("forest", "contribute In the first forest\n");
    console("grove", "setup name forest\ncontribute In the grove\n");
    console("woods", "setup name Forest\ncontribute In the woods\n");
    let export = |community: &str| keel(d, &["export", "--community", community], "");
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).to_string();

    let ambiguous = export("forest");
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stdout(&ambiguous).is_empty(), "nothing exported");
    let said = stderr(&ambiguous);
    assert!(said.contains("2 communities match “forest”"), "{said}");
    assert!(
        said.contains("console grove"),
        "the candidates are listed: {said}"
    );
    assert!(!said.contains("console woods"), "{said}");
    // The grove's id, from the list.
    let grove = said
        .lines()
        .find(|l| l.contains("console grove"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();

    let inexact = export("FOREST");
    assert_eq!(inexact.status.code(), Some(2));
    let said = stderr(&inexact);
    assert!(
        said.contains("no community is called exactly “FOREST”"),
        "{said}"
    );
    assert!(
        said.contains("console woods") && said.contains("console grove"),
        "{said}"
    );

    let unknown = export("nowhere");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no community is called “nowhere”"));

    // The exact name, or the id, exports that community alone.
    let woods = export("Forest");
    assert!(woods.status.success(), "{}", stderr(&woods));
    let csv = stdout(&woods);
    assert!(
        csv.contains("In the woods") && !csv.contains("grove"),
        "{csv}"
    );
    let by_id = export(&grove);
    assert!(by_id.status.success(), "{}", stderr(&by_id));
    let csv = stdout(&by_id);
    assert!(
        csv.contains("In the grove") && !csv.contains("first forest"),
        "{csv}"
    );
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keel.toml"),
        "[database]\nurll = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let out = keel(dir.path(), &["--config", "keel.toml", "check-config"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("urll"));
    let out = keel(dir.path(), &["check-config"], "");
    assert!(out.status.success());
    assert!(stdout(&out).contains("database.url"));
}

#[test]
fn run_without_platforms_points_to_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(dir.path(), &["run"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keel console"));
}

#[cfg(feature = "slack")]
#[test]
fn a_slack_token_key_is_made_even_before_the_config_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    // Installs are configured but the key is missing: the config is refused...
    std::fs::write(
        dir.path().join("keel.toml"),
        "[slack]\nsigning_secret = \"s\"\nclient_id = \"1.2\"\nclient_secret = \"c\"\npublic_url = \"https://keel.example\"\n",
    )
    .unwrap();
    let refused = keel(dir.path(), &["--config", "keel.toml", "check-config"], "");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token_key"));
    // ...and `slack new-key` makes the key it needs, different every time.
    let keys: Vec<String> = (0..2)
        .map(|_| {
            let out = keel(
                dir.path(),
                &["--config", "keel.toml", "slack", "new-key"],
                "",
            );
            assert!(out.status.success(), "{out:?}");
            stdout(&out).trim().to_string()
        })
        .collect();
    assert_ne!(keys[0], keys[1]);
    let config = std::fs::read_to_string(dir.path().join("keel.toml")).unwrap();
    std::fs::write(
        dir.path().join("keel.toml"),
        format!("{config}token_key = \"{}\"\n", keys[0]),
    )
    .unwrap();
    let accepted = keel(dir.path(), &["--config", "keel.toml", "check-config"], "");
    assert!(accepted.status.success(), "{accepted:?}");
}

#[test]
fn a_contribution_is_removed_and_audited_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(
        dir.path(),
        &[
            "console",
            "--as",
            "alice",
            "--organiser",
            "--community",
            "forest",
        ],
        "goal create Plant 100 trees target=100 unit=trees slug=trees
contribute Planted 40 oaks amount=40 goal=trees
contributions
contribution remove #1 reason=\"logged twice\"
goal show trees
audit
",
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains('✗'), "no command should fail:\n{text}");
    for expected in [
        "#1 · ",
        "Contribution #1 removed",
        "“Planted 40 oaks” (40 trees · goal trees) on ",
        "0 / 100 trees",
        "alice removed contribution #1 of alice: was “Planted 40 oaks” (40 trees) on ",
        "reason: logged twice",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn contributions_wait_for_review_and_are_edited_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(
        dir.path(),
        &[
            "console",
            "--as",
            "alice",
            "--organiser",
            "--community",
            "forest",
        ],
        "goal create Plant 100 trees target=100 unit=trees slug=trees review_above=50
contribute Planted 40 oaks amount=40 goal=trees
contribute Planted a forest amount=500 goal=trees
contributions
review
review approve #2
contribute Another forest amount=90 goal=trees
review reject 3 reason=\"one tree, not 90\"
contributions
contributions edit #1 Planted 45 oaks amount=45 reason=\"miscounted\"
setup review-channel #reviews
setup show
goal show trees
audit
",
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains('✗'), "no command should fail:\n{text}");
    for expected in [
        "Contribution #2 waits for review",
        "⏳ waits for review",
        "Waiting for review (1)",
        "#2 · alice · “Planted a forest” (500 trees · goal trees) on ",
        "Contribution #2 approved",
        "Contribution #3 rejected",
        "not approved: one tree, not 90",
        "Contribution #1 edited",
        "Now: “Planted 45 oaks” (45 trees · goal trees) on ",
        "Review requests",
        "545 / 100 trees",
        "alice edited contribution #1 of alice: was “Planted 40 oaks” (40 trees) on ",
        "reason: one tree, not 90",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
