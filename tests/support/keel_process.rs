//! `keel run`, the real binary, as a child process: started with a config file
//! and arguments, its log kept in a file, ended when dropped.
#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct KeelProcess {
    child: Child,
    pub log: PathBuf,
}

impl Drop for KeelProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 nothing listens on now.
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The keel binary, without the caller's KEEL_ variables: the config file says
/// everything, and one of the caller's (a benchmark's KEEL_BENCH_SECONDS) would
/// be read as a config key.
pub fn keel_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keel"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("KEEL_")) {
        command.env_remove(name);
    }
    command
}

impl KeelProcess {
    /// `keel --config <config> <args…>`, logging what `filter` lets through
    /// (RUST_LOG) to `log`.
    pub fn start(config: &Path, args: &[&str], filter: &str, log: PathBuf) -> KeelProcess {
        let child = keel_command()
            .arg("--config")
            .arg(config)
            .args(args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        KeelProcess { child, log }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process accepts connections on `addr`.
    pub async fn wait_for_port(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("keel ended ({status}) before listening: {}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("keel did not listen on {addr}: {}", self.logs());
    }

    /// Waits until the log has a line containing `text`.
    pub async fn wait_for_log(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.logs().contains(text) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "keel ended ({status}) before logging {text:?}: {}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("keel never logged {text:?}: {}", self.logs());
    }

    /// SIGKILL, as a crash or an out-of-memory kill would end it: no shutdown
    /// of any kind.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status (killed past 15 s).
    pub fn stop(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }
}
