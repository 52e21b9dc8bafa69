//! Tokens at rest (P3): AES-256-GCM with a key kept outside the database, and the
//! row's (platform, enterprise, team) as associated data, so a sealed token copied
//! to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

use super::install_state::StateKey;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct TokenKey(Aes256Gcm);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(hidden)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "slack.token_key must be 32 random bytes in base64 (for example from `openssl rand -base64 32`)"
    )]
    Malformed,
    #[error("a stored token could not be decrypted: wrong slack.token_key, or the row was altered")]
    Unsealable,
}

/// The key's 32 bytes from its base64 text.
fn key_bytes(text: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| KeyError::Malformed)?;
    if bytes.len() != 32 {
        return Err(KeyError::Malformed);
    }
    Ok(bytes)
}

/// The key that signs install states, derived from the token key (one secret for
/// the operator to keep, and rotating it ends both).
pub fn install_state_key(token_key: &str) -> Result<StateKey, KeyError> {
    Ok(StateKey::derive(&key_bytes(token_key)?))
}

impl TokenKey {
    /// A key from its base64 text.
    pub fn from_base64(text: &str) -> Result<TokenKey, KeyError> {
        Ok(TokenKey(
            Aes256Gcm::new_from_slice(&key_bytes(text)?).map_err(|_| KeyError::Malformed)?,
        ))
    }

    /// A fresh random key as base64, for `keel slack new-key` and tests.
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    pub fn seal(&self, plaintext: &str, associated: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: associated.as_bytes(),
                },
            )
            .expect("AES-GCM encryption does not fail for short inputs");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, sealed: &[u8], associated: &str) -> Result<String, KeyError> {
        if sealed.len() <= NONCE_LEN {
            return Err(KeyError::Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeyError::Unsealable)?;
        let plain = self
            .0
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Unsealable)?;
        String::from_utf8(plain).map_err(|_| KeyError::Unsealable)
    }
}

/// The associated data that binds a sealed token to its installation row.
pub fn associated(enterprise_id: &str, team_id: &str) -> String {
    format!("slack:{enterprise_id}:{team_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_for_their_row_and_key() {
        let key = TokenKey::from_base64(&TokenKey::generate()).unwrap();
        let sealed = key.seal("xoxb-secret", &associated("", "T1"));
        assert!(!sealed.windows(11).any(|w| w == b"xoxb-secret"));
        assert_eq!(
            key.open(&sealed, &associated("", "T1")).unwrap(),
            "xoxb-secret"
        );
        assert_eq!(
            key.open(&sealed, &associated("", "T2")),
            Err(KeyError::Unsealable)
        );
        let other = TokenKey::from_base64(&TokenKey::generate()).unwrap();
        assert_eq!(
            other.open(&sealed, &associated("", "T1")),
            Err(KeyError::Unsealable)
        );
        assert_eq!(
            TokenKey::from_base64("c2hvcnQ=").unwrap_err(),
            KeyError::Malformed
        );
    }
}
