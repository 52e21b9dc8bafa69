//! `keel run` as a process: a stop signal ends it promptly whatever is in flight,
//! and what was in flight goes out once after the restart (RELIABILITY.md R1–R4).
#![cfg(all(feature = "slack", unix))]

// Shared with the Slack tests, which use more of them.
#[allow(dead_code)]
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/http.rs"]
mod http;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_slack::FakeSlack;

const SECRET: &str = "shutdown-test-secret";

struct Running {
    child: Child,
    addr: SocketAddr,
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn keel_run(dir: &Path, fake: &FakeSlack, log: &str) -> Running {
    let addr = free_port();
    let config = dir.join("keel.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{db}\"\n[http]\nlisten = \"{addr}\"\n\
             [slack]\nsigning_secret = \"{SECRET}\"\nbot_token = \"xoxb-test\"\napi_base = \"{api}\"\n",
            db = dir.join("keel.db").display(),
            api = fake.api_base(),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).unwrap())
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Running { child, addr };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "keel run did not start: {}",
        std::fs::read_to_string(dir.join(log)).unwrap()
    );
}

async fn command(keel: &Running, team: &str, user: &str, text: &str) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("team_id", team)
        .append_pair("team_domain", &team.to_lowercase())
        .append_pair("channel_id", "C1")
        .append_pair("user_id", user)
        .append_pair("user_name", &user.to_lowercase())
        .append_pair("command", "/keel")
        .append_pair("text", text)
        .append_pair("trigger_id", &format!("{team}.{user}.{text}"))
        .finish();
    let ts = chrono::Utc::now().timestamp();
    let form = "application/x-www-form-urlencoded";
    let response = http::signed_post(keel.addr, "/slack/commands", SECRET, ts, form, &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

/// Sends SIGTERM and waits for the exit; returns how long it took.
fn stop(keel: &mut Running) -> Duration {
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &keel.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        if let Some(status) = keel.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(30),
            "keel run still alive 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..800 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn a_stop_signal_ends_keel_run_promptly_with_a_post_in_flight_and_it_goes_out_once_after() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    fake.make_admin("UADMIN");
    fake.hang_posts_to("CSTUCK", true);
    let mut keel = keel_run(dir.path(), &fake, "first.log").await;
    command(&keel, "T1", "UADMIN", "setup announcements <#CSTUCK|stuck>").await;
    command(&keel, "T2", "UADMIN", "setup announcements <#COK|ok>").await;
    command(&keel, "T1", "U1", "contribute Planted an oak").await;
    command(&keel, "T2", "U2", "contribute Cleared a path").await;
    // The community's first and the member's first contribution, in each.
    wait_for("T2's two announcements", || {
        fake.messages_in("COK").len() == 2
    })
    .await;
    wait_for("T1's post, unanswered", || {
        fake.messages_in("CSTUCK").len() == 1
    })
    .await;

    let took = stop(&mut keel);
    println!("keel run exited {took:?} after SIGTERM with a post in flight");
    assert!(took < Duration::from_secs(10), "{took:?}");

    fake.hang_posts_to("CSTUCK", false);
    let mut keel = keel_run(dir.path(), &fake, "second.log").await;
    wait_for("T1's announcements", || {
        fake.messages_in("CSTUCK").len() >= 2
    })
    .await;
    // Give a second post of the first one time to show up, if it were to.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stuck = fake.delivery_markers("CSTUCK");
    assert_eq!(stuck.len(), 2, "{stuck:?}");
    assert_ne!(stuck[0], stuck[1], "{stuck:?}");
    assert_eq!(fake.delivery_markers("COK").len(), 2);
    assert_eq!(
        fake.calls("conversations.history").len(),
        1,
        "the uncertain post was looked for"
    );
    stop(&mut keel);
}

#[tokio::test]
async fn a_second_keel_run_on_a_sqlite_file_in_use_refuses_to_start_and_one_shot_commands_still_run()
 {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    let mut keel = keel_run(dir.path(), &fake, "first.log").await;
    let config = dir.path().join("keel.toml");
    let keel_command = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let second = keel_command(&["run"]);
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(
        said.contains("another `keel run` is already serving")
            && said.contains(&format!("(process {})", keel.child.id()))
            && said.contains("PostgreSQL"),
        "{said}"
    );

    let backup = dir.path().join("beside.db");
    let beside = keel_command(&["backup", backup.to_str().unwrap()]);
    assert!(beside.status.success(), "{beside:?}");
    assert!(keel_command(&["check-config"]).status.success());

    stop(&mut keel);
    // Once it has stopped, the file is free for the next one.
    let mut keel = keel_run(dir.path(), &fake, "third.log").await;
    stop(&mut keel);
}
