//! What the benchmarks share: settings from the environment, and a runtime.

/// A numeric setting from the environment, or its default.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs a benchmark on a multi-threaded runtime, as `keel run` does.
pub fn run<F: std::future::Future<Output = ()>>(bench: F) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench)
}

/// The fsync latency of the disk under `dir` right now: p50 and p99, in ms, of
/// 200 `fdatasync`s of 100 KB rewritten in place, about what one contribution
/// batch's commit asks of it. On a shared VM this moves with the host's load, and
/// the write benchmarks move with it: print it beside their figures.
#[allow(dead_code)] // the stats benchmark only reads
pub fn fsync_latency(dir: &std::path::Path) -> (f64, f64) {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 100 * 1024];
    let mut times = Vec::with_capacity(200);
    for i in 0..220 {
        file.seek(SeekFrom::Start(((i % 20) * block.len()) as u64))
            .unwrap();
        file.write_all(&block).unwrap();
        let start = std::time::Instant::now();
        file.sync_data().unwrap();
        // The first passes allocate the file's blocks; only rewrites count.
        if i >= 20 {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drop(file);
    let _ = std::fs::remove_file(path);
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}
