//! Background work, owned and stoppable: announcement delivery, schedules, window
//! totals, erasures and merges. Work
//! that must outlive a restart is a row in a table, never a sleeping task; on
//! shutdown each loop finishes what it is doing and stops.

pub mod member_jobs;
pub mod outbox;
pub mod scheduler;
pub mod windows;

use tokio::sync::watch;

/// Tells every loop to stop; cheap to clone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side: `trigger` once, and every `Shutdown` wakes.
pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is triggered.
    pub async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}
