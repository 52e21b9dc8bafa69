//! Slack request signatures (RELIABILITY.md S1): `v0=` + hex HMAC-SHA256 of
//! `v0:{timestamp}:{raw body}` with the app's signing secret, compared in constant
//! time, with the timestamp within 300 s of now. Checked before anything reads the
//! body; every failure is the same 401 to the caller.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now, either way.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Why a request was refused (logged, never shown in detail to the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("missing or repeated {0} header")]
    Header(&'static str),
    #[error("timestamp is not a plain positive number")]
    BadTimestamp,
    #[error("timestamp is more than 300 s from now")]
    Stale,
    #[error("signature is malformed")]
    BadSignature,
    #[error("signature does not match")]
    Mismatch,
}

/// The one value of a header that must appear exactly once, as text.
fn single<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Rejected> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(Rejected::Header(name));
    };
    value.to_str().map_err(|_| Rejected::Header(name))
}

/// Checks a request against the signing secret at `now` (Unix seconds).
pub fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Rejected> {
    let timestamp = single(headers, "x-slack-request-timestamp")?;
    let signature = single(headers, "x-slack-signature")?;
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Rejected::BadTimestamp);
    }
    let ts: i64 = timestamp.parse().map_err(|_| Rejected::BadTimestamp)?;
    if (now - ts).abs() > MAX_SKEW_SECONDS {
        return Err(Rejected::Stale);
    }
    let hex = signature
        .strip_prefix("v0=")
        .ok_or(Rejected::BadSignature)?;
    let expected = decode_hex(hex).ok_or(Rejected::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Rejected::Mismatch)?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| Rejected::Mismatch)
}

/// Signs a body as Slack would: for tests, benchmarks and the fake Slack.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length works");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "v0={}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "x-slack-request-timestamp",
            HeaderValue::from_str(ts).unwrap(),
        );
        h.insert("x-slack-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn slacks_own_test_vector() {
        assert_eq!(sign(SECRET, 1531420618, BODY.as_bytes()), EXPECTED);
        assert_eq!(
            verify(
                SECRET,
                &headers("1531420618", EXPECTED),
                BODY.as_bytes(),
                1531420618
            ),
            Ok(())
        );
    }

    #[test]
    fn every_rejection() {
        let now = 1531420618;
        let ok = headers("1531420618", EXPECTED);
        assert_eq!(
            verify(SECRET, &ok, b"tampered", now),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(b"other secret", &ok, BODY.as_bytes(), now),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &ok, BODY.as_bytes(), now + 301),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(SECRET, &ok, BODY.as_bytes(), now - 301),
            Err(Rejected::Stale)
        );
        assert_eq!(verify(SECRET, &ok, BODY.as_bytes(), now + 300), Ok(()));
        for ts in [
            "",
            "-1531420618",
            "1531420618.0",
            "abc",
            "99999999999999999999999",
            " 1531420618",
        ] {
            let h = headers(ts, EXPECTED);
            assert!(verify(SECRET, &h, BODY.as_bytes(), now).is_err(), "{ts:?}");
        }
        for sig in [
            "",
            "v0=",
            "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=zz",
            &EXPECTED.to_uppercase()[..],
        ] {
            let h = headers("1531420618", sig);
            assert!(verify(SECRET, &h, BODY.as_bytes(), now).is_err(), "{sig:?}");
        }
        let mut missing = HeaderMap::new();
        missing.insert("x-slack-signature", HeaderValue::from_static(EXPECTED));
        assert_eq!(
            verify(SECRET, &missing, BODY.as_bytes(), now),
            Err(Rejected::Header("x-slack-request-timestamp"))
        );
        let mut twice = headers("1531420618", EXPECTED);
        twice.append("x-slack-signature", HeaderValue::from_static(EXPECTED));
        assert_eq!(
            verify(SECRET, &twice, BODY.as_bytes(), now),
            Err(Rejected::Header("x-slack-signature"))
        );
    }
}
