//! Crash safety as SQLite tests it (RELIABILITY.md Q4): kill Keel mid-write again
//! and again; after each restart the database passes `integrity_check` and every
//! contribution Keel acknowledged is there.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn killed_mid_write_loses_no_acknowledged_contribution() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keel.db");
    let url = format!("sqlite://{}", db.display());
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..6 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["console", "--as", "crash", "--community", "crashes"])
            .env("KEEL_DATABASE__URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        // Feed contributions as fast as Keel takes them, from another thread.
        let writer = std::thread::spawn(move || {
            for i in 0..100_000 {
                if writeln!(stdin, "contribute round {round} item {i} end").is_err() {
                    break;
                }
            }
        });
        // Read acknowledgements until it is time to pull the plug.
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(item) = line.strip_prefix("> contribute ") {
                    last = Some(item.to_string());
                } else if line.starts_with("== Contribution #")
                    && let Some(item) = last.take()
                {
                    seen.push(item);
                }
            }
            seen
        });
        std::thread::sleep(Duration::from_millis(300 + 150 * round as u64));
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = writer.join();
        acknowledged.extend(reader.join().unwrap());

        // Whatever was half-written, the database is whole and has every acknowledged row.
        let check = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["export", "--community", "crashes"])
            .env("KEEL_DATABASE__URL", &url)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let csv = String::from_utf8_lossy(&check.stdout).to_string();
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|a| !csv.contains(a.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but lost: {:?}",
            &missing[..missing.len().min(5)]
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let check = runtime
            .block_on(keel::store::backup::integrity_check(&db))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
    eprintln!(
        "{} contributions acknowledged across 6 kills",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > 20,
        "the test wrote too little to mean anything: {}",
        acknowledged.len()
    );
}
