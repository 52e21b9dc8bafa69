//! `keel export`, the real binary, on a generated community of 200,000
//! contributions: every row comes out, as CSV on standard output and as JSON in a
//! file only its owner can read.

use std::path::Path;
use std::process::{Command, Output};

const CONTRIBUTIONS: usize = 200_000;

fn keel(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .current_dir(dir)
        .env(
            "KEEL_DATABASE__URL",
            format!("sqlite://{}", dir.join("keel.db").display()),
        )
        .env_remove("RUST_LOG")
        .output()
        .expect("the keel binary runs");
    assert!(
        out.status.success(),
        "keel {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_large_community_exports_every_row_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let generated = keel(
        d,
        &[
            "demo",
            "--community",
            "big",
            "--members",
            "2000",
            "--contributions",
            &CONTRIBUTIONS.to_string(),
        ],
    );
    // "Generated “big”: 2000 members, 200000 contributions, N kudos over …"
    let summary = String::from_utf8_lossy(&generated.stdout).to_string();
    let kudos: usize = summary
        .split(" kudos")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no kudos count in {summary}"));

    let csv = keel(d, &["export", "--community", "big"]);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_slice());
    assert_eq!(reader.headers().unwrap().get(0), Some("id"));
    let mut rows = 0;
    let mut last_id = 0u64;
    for record in reader.records() {
        let record = record.expect("a well-formed CSV row");
        assert_eq!(record.len(), 10);
        let id: u64 = record[0].parse().unwrap();
        assert!(id > last_id, "oldest first, each once");
        last_id = id;
        rows += 1;
    }
    assert_eq!(rows, CONTRIBUTIONS);

    keel(
        d,
        &[
            "export",
            "--community",
            "big",
            "--format",
            "json",
            "--output",
            "big.json",
        ],
    );
    let path = d.join("big.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the export");
    }
    let doc: serde_json::Value =
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(&path).unwrap()))
            .expect("one JSON document");
    assert_eq!(doc["community"], "big");
    let contributions = doc["contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), CONTRIBUTIONS);
    assert_eq!(contributions[0]["id"], 1);
    assert!(contributions[CONTRIBUTIONS - 1]["description"].is_string());
    let given = doc["kudos"].as_array().unwrap();
    assert_eq!(given.len(), kudos);
    // Each kudos carries the id `kudos remove` takes, oldest first.
    let ids: Vec<i64> = given.iter().map(|k| k["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{:?}", &ids[..5]);
    assert!(!doc["goals"].as_array().unwrap().is_empty());
    assert_eq!(doc["mission_versions"][0]["version"], 1);
}
