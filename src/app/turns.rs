//! Exports and charts take turns: at most a few are made at once (`[files]
//! concurrent`), so however many members ask, the memory, CPU and temporary disk
//! they take stay bounded (RELIABILITY.md R7). A member who asks while every slot
//! is busy is told at once that theirs is queued; turns are given in order.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::command::Command;
use crate::domain::reply::Visibility;

/// Exports and charts made at once unless the configuration says otherwise.
pub const DEFAULT_CONCURRENT_FILES: usize = 2;

/// The slots, shared by every adapter of one process.
pub(super) struct Line {
    slots: Arc<Semaphore>,
    size: usize,
}

impl Line {
    pub(super) fn new(size: usize) -> Line {
        let size = size.max(1);
        Line {
            slots: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// A turn for `command`: a slot now if one is free, else a place in line.
    /// Commands that make no file need none.
    pub(super) fn take(&self, command: &Command) -> Turn {
        if !command.is_slow() {
            return Turn {
                state: State::Unneeded,
            };
        }
        let state = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => State::Running { _slot: slot },
            Err(_) => State::Queued {
                slots: self.slots.clone(),
                size: self.size,
            },
        };
        Turn { state }
    }
}

/// A command's turn to make its file. Held until the file is delivered (an
/// upload is part of the work: its spool is on disk until then); dropping it
/// frees the slot for the next in line.
pub struct Turn {
    state: State,
}

enum State {
    Unneeded,
    /// The slot is held, never read: dropping the turn frees it.
    Running {
        _slot: OwnedSemaphorePermit,
    },
    Queued {
        slots: Arc<Semaphore>,
        size: usize,
    },
}

impl Turn {
    /// Whether the command waits for others to finish first.
    pub fn is_queued(&self) -> bool {
        matches!(self.state, State::Queued { .. })
    }

    /// What to tell the member at once for a slow command (acknowledged first,
    /// answered later), and whether the answer is private.
    pub fn acknowledgement(&self, command: &Command) -> Option<(String, Visibility)> {
        let (note, visibility) = command.acknowledgement()?;
        let note = match &self.state {
            State::Queued { size, .. } => format!(
                "{note} Keel makes {size} exports or charts at a time and that many are under way, so yours is queued: it starts as soon as one is done."
            ),
            _ => note.to_string(),
        };
        Some((note, visibility))
    }

    /// Waits until it is this command's turn.
    pub(super) async fn wait(&mut self) {
        if let State::Queued { slots, .. } = &self.state {
            // The semaphore is never closed, so acquiring only waits.
            if let Ok(slot) = slots.clone().acquire_owned().await {
                self.state = State::Running { _slot: slot };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::{ExportFormat, ExportScope, Window};

    #[tokio::test]
    async fn the_third_file_waits_for_a_slot() {
        let line = Line::new(2);
        let export = Command::Export {
            scope: ExportScope::Me,
            format: ExportFormat::Csv,
        };
        let first = line.take(&export);
        let second = line.take(&Command::StatsChart {
            window: Window::DEFAULT,
        });
        let mut third = line.take(&export);
        assert!(!first.is_queued() && !second.is_queued());
        assert!(third.is_queued());
        let (note, visibility) = third.acknowledgement(&export).unwrap();
        assert!(note.contains("queued"), "{note}");
        assert_eq!(visibility, Visibility::Private);
        // Commands without a file never wait.
        assert!(
            line.take(&Command::StatsMe)
                .acknowledgement(&Command::StatsMe)
                .is_none()
        );
        drop(first);
        third.wait().await;
        assert!(!third.is_queued());
    }
}
