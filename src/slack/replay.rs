//! Trigger ids seen lately: a slash command replayed within Slack's signature
//! window (the same signed request sent again) runs once (RELIABILITY.md R9).
//! Kept in memory: on SQLite one `keel run` serves a database (M4), and Socket
//! Mode's commands are also kept once by trigger id in the inbox, durably.
//!
//! Every command passes through here, so it must cost next to nothing: ids are
//! kept as 64-bit keyed hashes (no allocation per command), in two generations
//! that are swapped wholesale rather than expired one by one. Keeping each id
//! as a string with its own expiry cost the command path a tenth of its
//! throughput (README, Performance).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a generation lasts: an id is remembered for at least this long and
/// at most twice it. Longer than a signature stays valid (300 s either way).
const GENERATION: Duration = Duration::from_secs(660);
/// The most remembered in one generation (about 16 MB): past it the generation
/// turns early, and the oldest are forgotten first. Eleven minutes of a
/// sustained 1,000 commands a second is under 700,000, far past what one
/// workspace sends.
const MOST: usize = 1_000_000;

pub struct RecentTriggers {
    /// Keyed per process, so nobody can choose ids that collide. Two ids
    /// colliding by chance among a million is about one in thirty million.
    keys: RandomState,
    seen: Mutex<Generations>,
}

struct Generations {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    started: Instant,
}

impl Default for RecentTriggers {
    fn default() -> Self {
        RecentTriggers {
            keys: RandomState::new(),
            seen: Mutex::new(Generations {
                current: HashSet::new(),
                previous: HashSet::new(),
                started: Instant::now(),
            }),
        }
    }
}

impl RecentTriggers {
    /// True the first time a trigger id is seen; an empty one is never a replay.
    pub fn first_use(&self, trigger: &str) -> bool {
        self.first_use_at(trigger, Instant::now())
    }

    fn first_use_at(&self, trigger: &str, now: Instant) -> bool {
        if trigger.is_empty() {
            return true;
        }
        let key = self.keys.hash_one(trigger);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let age = now.saturating_duration_since(seen.started);
        if age >= GENERATION || seen.current.len() >= MOST {
            let turned = std::mem::take(&mut seen.current);
            // A generation older than two has nothing worth keeping.
            seen.previous = if age >= 2 * GENERATION {
                HashSet::new()
            } else {
                turned
            };
            seen.started = now;
        }
        if seen.previous.contains(&key) {
            return false;
        }
        seen.current.insert(key)
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

    #[test]
    fn a_trigger_is_remembered_for_a_generation_at_least_and_two_at_most() {
        let recent = RecentTriggers::default();
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert!(recent.first_use_at("early", at(1)));
        assert!(recent.first_use_at("late", at(600)));
        // The generation turns at 661: both are still remembered after it.
        assert!(!recent.first_use_at("early", at(661)));
        assert!(!recent.first_use_at("late", at(1200)));
        // At the next turn the first generation is forgotten.
        assert!(recent.first_use_at("early", at(1322)));
        assert!(recent.first_use_at("late", at(1322)));
        // Long quiet: nothing from before is kept.
        assert!(recent.first_use_at("other", at(1400)));
        assert!(recent.first_use_at("other-2", at(5000)));
        assert!(recent.first_use_at("other", at(5001)));
    }
}
