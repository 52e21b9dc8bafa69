//! The install flow's `state` (S7), made so that starting an install writes nothing
//! (R5): the state carries its own expiry and a random nonce, and is signed
//! together with a digest of the random value in the browser's cookie. So the
//! callback can tell, with no row to look up, whether a state is Keel's, unexpired
//! and this browser's; only then does it record the state, to refuse it a second time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a state (and its cookie) lasts.
pub const LIFETIME_SECONDS: i64 = 600;

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// Expiry (8 bytes, big-endian Unix seconds), nonce, tag.
const STATE_LEN: usize = 8 + NONCE_LEN + TAG_LEN;

/// Signs and checks states; derived from `slack.token_key`, so it is as secret as
/// the key that seals tokens and changes with it.
pub struct StateKey(Hmac<Sha256>);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(hidden)")
    }
}

/// A fresh state and the cookie value that goes with it.
pub struct Issued {
    pub state: String,
    pub browser: String,
}

/// What checking a state against a browser's cookie found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Not signed by Keel for this browser: altered, made up, or another browser's.
    Unrecognised,
    Expired,
    /// Keel's, this browser's and unexpired: `single_use` is the key that records
    /// it as used, kept until `expires_at`.
    Valid {
        single_use: String,
        expires_at: DateTime<Utc>,
    },
}

impl StateKey {
    /// The state key derived from the token key's bytes (never used as is, so a
    /// state reveals nothing about the key that seals tokens).
    pub fn derive(token_key: &[u8]) -> StateKey {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(token_key)
            .expect("HMAC takes a key of any length");
        derive.update(b"keel slack install state v1");
        let key = derive.finalize().into_bytes();
        StateKey(
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length"),
        )
    }

    fn tag(&self, expires: i64, nonce: &[u8], browser: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(&expires.to_be_bytes());
        mac.update(nonce);
        mac.update(&Sha256::digest(browser.as_bytes()));
        mac
    }

    /// A state valid for [`LIFETIME_SECONDS`] from `now`, bound to a fresh cookie value.
    pub fn issue(&self, now: DateTime<Utc>) -> Issued {
        let mut browser = [0u8; 32];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut browser);
        rand::rng().fill_bytes(&mut nonce);
        let browser = URL_SAFE_NO_PAD.encode(browser);
        let expires = now.timestamp() + LIFETIME_SECONDS;
        let tag = self.tag(expires, &nonce, &browser).finalize().into_bytes();
        let mut state = Vec::with_capacity(STATE_LEN);
        state.extend_from_slice(&expires.to_be_bytes());
        state.extend_from_slice(&nonce);
        state.extend_from_slice(&tag);
        Issued {
            state: URL_SAFE_NO_PAD.encode(state),
            browser,
        }
    }

    /// Checks a state from the callback against the cookie the browser sent, at `now`.
    pub fn check(&self, state: &str, browser: &str, now: DateTime<Utc>) -> Checked {
        let Some(bytes) = URL_SAFE_NO_PAD
            .decode(state)
            .ok()
            .filter(|b| b.len() == STATE_LEN)
        else {
            return Checked::Unrecognised;
        };
        let (expires, rest) = bytes.split_at(8);
        let (nonce, tag) = rest.split_at(NONCE_LEN);
        let expires = i64::from_be_bytes(expires.try_into().expect("8 bytes"));
        // Constant-time comparison of the tag.
        if self.tag(expires, nonce, browser).verify_slice(tag).is_err() {
            return Checked::Unrecognised;
        }
        let Some(expires_at) = DateTime::from_timestamp(expires, 0) else {
            return Checked::Unrecognised;
        };
        if expires_at <= now {
            return Checked::Expired;
        }
        Checked::Valid {
            single_use: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey::derive(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_state_is_valid_for_its_own_browser_until_it_expires() {
        let now = Utc::now();
        let issued = key().issue(now);
        let Checked::Valid {
            single_use,
            expires_at,
        } = key().check(&issued.state, &issued.browser, now)
        else {
            panic!("a fresh state is valid");
        };
        assert_eq!(expires_at.timestamp(), now.timestamp() + LIFETIME_SECONDS);
        // The same state always has the same single-use key; another state another.
        let again = key().check(&issued.state, &issued.browser, now);
        assert!(matches!(again, Checked::Valid { single_use: ref s, .. } if *s == single_use));
        let other = key().issue(now);
        assert!(
            matches!(key().check(&other.state, &other.browser, now), Checked::Valid { single_use: ref s, .. } if *s != single_use)
        );

        let later = now + chrono::Duration::seconds(LIFETIME_SECONDS);
        assert_eq!(
            key().check(&issued.state, &issued.browser, later),
            Checked::Expired
        );
    }

    #[test]
    fn another_browser_another_key_or_an_altered_state_is_unrecognised() {
        let now = Utc::now();
        let issued = key().issue(now);
        let other = key().issue(now);
        assert_eq!(
            key().check(&issued.state, &other.browser, now),
            Checked::Unrecognised
        );
        assert_eq!(
            StateKey::derive(b"another key").check(&issued.state, &issued.browser, now),
            Checked::Unrecognised
        );
        // A later expiry written into the state breaks its signature.
        let mut bytes = URL_SAFE_NO_PAD.decode(&issued.state).unwrap();
        bytes[7] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            key().check(&altered, &issued.browser, now),
            Checked::Unrecognised
        );
        for junk in ["", "forged", "!!!", &issued.state[1..]] {
            assert_eq!(
                key().check(junk, &issued.browser, now),
                Checked::Unrecognised
            );
        }
    }
}
