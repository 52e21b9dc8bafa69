//! Exports of a community of 100,000 members and 1,000,000 contributions: the
//! peak resident memory and time of `keel export` (CSV and JSON, to a file), and
//! of the same exports as the platforms make them (gzipped into a spool, inside
//! this process).
//!
//! cargo bench --bench export
//! The database is generated once with `keel demo` into target/bench-data and
//! reused. KEEL_BENCH_SCALE=0.1 runs a tenth of the size (quick check).
//! Linux only: memory is read from /proc.

// Only its runtime is used here.
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel::app::App;
use keel::domain::clock::SystemClock;
use keel::domain::command::{ExportFormat, ExportScope};
use keel::domain::{Envelope, Platform, Role};
use keel::store::{Store, StoreOptions};

fn main() {
    let scale: f64 = std::env::var("KEEL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let (members, contributions) = ((100_000.0 * scale) as u32, (1_000_000.0 * scale) as u32);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("export-{members}-{contributions}.db"));
    let url = format!("sqlite://{}", db.display());
    if !db.exists() {
        let t = Instant::now();
        let out = keel(&url)
            .args(["demo", "--community", "bench", "--members"])
            .arg(members.to_string())
            .arg("--contributions")
            .arg(contributions.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "generated {members} members / {contributions} contributions in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    println!("{contributions} contributions, {members} members");
    let file = dir.join("export.out");
    for format in ["csv", "json"] {
        let started = Instant::now();
        let mut child = keel(&url)
            .args([
                "export",
                "--community",
                "bench",
                "--format",
                format,
                "--output",
            ])
            .arg(&file)
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut peak_kib = 0;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            // VmHWM is the high-water mark: its last reading is the peak.
            peak_kib = status_kib(format!("/proc/{pid}/status"), "VmHWM").unwrap_or(peak_kib);
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(status.success());
        println!(
            "keel export --format {format}: peak RSS {:.1} MiB, {:.1} s, {:.0} MiB written",
            peak_kib as f64 / 1024.0,
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&file).unwrap().len() as f64 / 1048576.0
        );
        let _ = std::fs::remove_file(&file);
    }
    support::run(in_process(&url));
}

/// The export as `export` on Discord or Slack makes it: through `App::handle`,
/// gzipped into a spool. The process's peak is reset first, so it is this
/// export's.
async fn in_process(url: &str) {
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let app = App::new(store, Arc::new(SystemClock));
    let envelope = Envelope {
        platform: Platform::Console,
        workspace_id: "bench".into(),
        workspace_name: "bench".into(),
        user_id: "ada".into(),
        user_name: "ada".into(),
        role: Role::Organiser,
    };
    let actor = app.actor(&envelope).await.unwrap();
    for format in [ExportFormat::Csv, ExportFormat::Json] {
        // Writing 5 resets VmHWM to the current resident size (Linux 4.0+).
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = status_kib("/proc/self/status", "VmRSS").unwrap();
        let started = Instant::now();
        let command = keel::domain::Command::Export {
            scope: ExportScope::Community,
            format,
        };
        let reply = app.handle(&actor, command).await.unwrap();
        let elapsed = started.elapsed();
        let peak = status_kib("/proc/self/status", "VmHWM").unwrap();
        let file = &reply.attachments[0];
        println!(
            "platform export {format:?} (gzipped spool): peak RSS {:.1} MiB ({:+.1} MiB over the {:.1} MiB before), {:.1} s, {:.1} MiB uploaded as {}",
            peak as f64 / 1024.0,
            (peak as f64 - before as f64) / 1024.0,
            before as f64 / 1024.0,
            elapsed.as_secs_f64(),
            file.upload_len() as f64 / 1048576.0,
            file.upload_name()
        );
    }
    app.store().close().await;
}

fn keel(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
    command
        .env("KEEL_DATABASE__URL", url)
        .env("RUST_LOG", "error");
    command
}

/// A `kB` line of a /proc status file.
fn status_kib(path: impl AsRef<Path>, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
