//! Trigger ids seen lately: a slash command replayed within Slack's signature
//! window (the same signed request sent again) runs once (RELIABILITY.md R9).
//! Kept in memory: on SQLite one `keel run` serves a database (M4), and Socket
//! Mode's commands are also kept once by trigger id in the inbox, durably.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longer than a signature stays valid (300 s either way).
const MEMORY: Duration = Duration::from_secs(660);
/// The most remembered at once (about 100 MB): past it the oldest are forgotten
/// first. Eleven minutes of a sustained 20,000 commands a second would be more
/// than 13 million, far past what one workspace sends.
const MOST: usize = 1_000_000;

#[derive(Default)]
pub struct RecentTriggers {
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    /// When each was seen, oldest first, to forget them in order.
    order: VecDeque<(Instant, String)>,
}

impl RecentTriggers {
    /// True the first time a trigger id is seen; an empty one is never a replay.
    pub fn first_use(&self, trigger: &str) -> bool {
        if trigger.is_empty() {
            return true;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((at, _)) = seen.order.front() {
            if at.elapsed() < MEMORY && seen.order.len() < MOST {
                break;
            }
            if let Some((_, old)) = seen.order.pop_front() {
                seen.ids.remove(&old);
            }
        }
        if !seen.ids.insert(trigger.to_string()) {
            return false;
        }
        seen.order.push_back((Instant::now(), trigger.to_string()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_is_used_once_and_an_empty_one_always() {
        let recent = RecentTriggers::default();
        assert!(recent.first_use("1.2.3"));
        assert!(!recent.first_use("1.2.3"));
        assert!(recent.first_use("1.2.4"));
        assert!(recent.first_use(""));
        assert!(recent.first_use(""));
    }
}
