//! Signed, expiring explain links.
//!
//! A nudge ends with a link to a page where the person can tell IT why they
//! used the tool. The link carries a token that names the nudge and says until
//! when the link works; the explain page must be able to trust both without a
//! database lookup and without anyone being able to forge a link for somebody
//! else's nudge. That is what [`LinkSigner`] does:
//!
//! ```text
//! token   = base64url(payload) "." base64url(HMAC-SHA256(secret, payload))
//! payload = "v1." nudge_id "." expires_at (Unix seconds)
//! ```
//!
//! Both halves use the URL-safe base64 alphabet without padding, so a token
//! can go straight into a query string or a path segment, and it stays short
//! (about 150 characters for a 64-character nudge id) so mail clients do not
//! wrap the link. The `v1` in the payload lets a later format coexist with
//! links already in people's inboxes.
//!
//! [`LinkSigner::verify`] checks, in this order: the shape of the token
//! ([`LinkError::Malformed`]), the signature in constant time
//! ([`LinkError::BadSignature`]), and only then the expiry
//! ([`LinkError::Expired`]) — so an attacker learns nothing from a forged
//! token's claims. The page should show the person a friendly "this link has
//! expired" for `Expired` and a plain "this link is not valid" otherwise.
//!
//! The secret is at least 32 bytes (the HMAC-SHA256 output size); generate it
//! once per deployment, e.g. `openssl rand -base64 48`, and keep it out of logs.
//! Rotating it invalidates every link already sent.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret [`LinkSigner::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The version prefix of the signed payload.
const VERSION: &str = "v1";

/// Why a link could not be made or was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    /// The signing secret is too short to resist guessing.
    #[error(
        "the link signing secret is {len} bytes; use at least {MIN_SECRET_LEN} random bytes \
         (e.g. `openssl rand -base64 48`)"
    )]
    WeakSecret {
        /// How long the refused secret was.
        len: usize,
    },
    /// The token is not one this signer makes: wrong shape, not base64url,
    /// or an unknown payload version. Usually a link mangled by a mail client
    /// (cut off, wrapped) or typed by hand.
    #[error("the link token is malformed: {reason}; ask for a new link")]
    Malformed {
        /// What was wrong with it (no secret material).
        reason: &'static str,
    },
    /// The token was not signed with this secret: forged, altered, or signed
    /// before the secret was rotated.
    #[error("the link token's signature does not match; it was altered or signed with another secret")]
    BadSignature,
    /// The token is genuine but its time is up.
    #[error("the link expired at {at}; ask IT for a new one")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
    },
}

/// What a link token says: which nudge it is for and until when it works.
///
/// `nudge_id` is meant to be an opaque id made of `[A-Za-z0-9_-]` (up to 64
/// characters), but any string round-trips: the payload is base64url-encoded.
/// `expires_at` is kept to the second; fractions are dropped when signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The nudge the link belongs to.
    pub nudge_id: String,
    /// The moment the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Signs and verifies explain-link tokens with one HMAC-SHA256 secret.
///
/// Cheap to clone; share one per process. Its `Debug` output never shows the
/// secret.
#[derive(Clone)]
pub struct LinkSigner {
    /// The keyed HMAC state, ready to be cloned per token.
    mac: HmacSha256,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner").field("secret", &"<redacted>").finish()
    }
}

impl LinkSigner {
    /// A signer with `secret`, which must be at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<LinkSigner, LinkError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(LinkError::WeakSecret { len: secret.len() });
        }
        // HMAC takes keys of any length; this cannot fail.
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| LinkError::WeakSecret { len: secret.len() })?;
        Ok(LinkSigner { mac })
    }

    /// The URL-safe token for `claims`.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let payload = format!("{VERSION}.{}.{}", claims.nudge_id, claims.expires_at.timestamp());
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload.as_bytes()), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claims of `token` if this signer made it and it has not expired at
    /// `now`. A link is valid up to, not including, its expiry second.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
        let (payload_b64, tag_b64) = token
            .trim()
            .split_once('.')
            .ok_or(LinkError::Malformed { reason: "no '.' between payload and signature" })?;
        // The standard engine refuses non-canonical encodings (stray trailing
        // bits), so every changed character changes the decoded bytes.
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| LinkError::Malformed { reason: "payload is not base64url" })?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag_b64)
            .map_err(|_| LinkError::Malformed { reason: "signature is not base64url" })?;
        let mut mac = self.mac.clone();
        mac.update(&payload);
        // Constant time; a tag of the wrong length fails here too.
        mac.verify_slice(&tag).map_err(|_| LinkError::BadSignature)?;

        // Signed by us, so the rest only fails for a version we no longer read.
        let payload =
            std::str::from_utf8(&payload).map_err(|_| LinkError::Malformed { reason: "payload is not UTF-8" })?;
        let rest = payload
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(LinkError::Malformed { reason: "unknown token version" })?;
        // The id may in theory contain '.', the expiry never does.
        let (nudge_id, secs) = rest.rsplit_once('.').ok_or(LinkError::Malformed { reason: "payload has no expiry" })?;
        let secs: i64 = secs.parse().map_err(|_| LinkError::Malformed { reason: "expiry is not a number" })?;
        let expires_at = DateTime::<Utc>::from_timestamp(secs, 0)
            .ok_or(LinkError::Malformed { reason: "expiry is out of range" })?;
        if now >= expires_at {
            return Err(LinkError::Expired { at: expires_at });
        }
        Ok(LinkClaims { nudge_id: nudge_id.to_string(), expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

    fn claims() -> LinkClaims {
        LinkClaims {
            nudge_id: "nd_01HZX3-abc_DEF".into(),
            expires_at: Utc.with_ymd_and_hms(2030, 5, 1, 12, 0, 0).unwrap(),
        }
    }

    fn before_expiry() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 4, 20, 8, 30, 0).unwrap()
    }

    #[test]
    fn round_trip_returns_the_claims() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims());
        assert_eq!(signer.verify(&token, before_expiry()).unwrap(), claims());
        // Same input, same token: links are reproducible.
        assert_eq!(token, signer.sign(&claims()));
    }

    #[test]
    fn tokens_are_url_safe_and_short() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let long = LinkClaims { nudge_id: "x".repeat(64), ..claims() };
        let token = signer.sign(&long);
        assert!(token.len() <= 160, "{} characters: {token}", token.len());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'), "{token}");
        assert_eq!(signer.verify(&token, before_expiry()).unwrap(), long);
    }

    #[test]
    fn unusual_ids_round_trip() {
        let signer = LinkSigner::new(SECRET).unwrap();
        for id in ["", "a.b.c", "with space", "ümlaut/+=", "1700000000"] {
            let c = LinkClaims { nudge_id: id.into(), ..claims() };
            assert_eq!(signer.verify(&signer.sign(&c), before_expiry()).unwrap(), c, "{id:?}");
        }
    }

    #[test]
    fn sub_second_precision_is_dropped() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let mut c = claims();
        c.expires_at += chrono::Duration::milliseconds(750);
        assert_eq!(signer.verify(&signer.sign(&c), before_expiry()).unwrap(), claims());
    }

    #[test]
    fn short_secret_is_refused() {
        assert_eq!(LinkSigner::new(&[7u8; 31]).unwrap_err(), LinkError::WeakSecret { len: 31 });
        assert!(LinkSigner::new(&[7u8; 32]).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let shown = format!("{signer:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn every_changed_character_is_refused() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims());
        let replacements = ['A', 'b', 'z', '0', '9', '-', '_', '.', '=', ' ', '%', 'é'];
        let mut tried = 0;
        for (i, original) in token.char_indices() {
            for &r in &replacements {
                if r == original {
                    continue;
                }
                let mut mutated = String::with_capacity(token.len() + 1);
                mutated.push_str(&token[..i]);
                mutated.push(r);
                mutated.push_str(&token[i + original.len_utf8()..]);
                let err = signer.verify(&mutated, before_expiry());
                assert!(
                    matches!(err, Err(LinkError::Malformed { .. } | LinkError::BadSignature)),
                    "position {i}: {original:?} -> {r:?} gave {err:?}"
                );
                tried += 1;
            }
        }
        assert!(tried > token.len() * 10);
    }

    #[test]
    fn truncated_and_extended_tokens_are_refused() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims());
        for end in 0..token.len() {
            assert!(signer.verify(&token[..end], before_expiry()).is_err(), "prefix of {end} accepted");
        }
        for extra in ["A", "AA", ".", "==", ".AAAA"] {
            assert!(signer.verify(&format!("{token}{extra}"), before_expiry()).is_err(), "{extra:?} appended accepted");
        }
    }

    #[test]
    fn another_key_is_refused() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let other = LinkSigner::new(b"another secret, also 32 bytes or more").unwrap();
        let token = other.sign(&claims());
        assert_eq!(signer.verify(&token, before_expiry()), Err(LinkError::BadSignature));
    }

    #[test]
    fn a_forged_payload_with_a_reused_signature_is_refused() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims());
        let (_, tag) = token.split_once('.').unwrap();
        let later = URL_SAFE_NO_PAD.encode(format!("v1.{}.{}", claims().nudge_id, 4_000_000_000i64));
        assert_eq!(signer.verify(&format!("{later}.{tag}"), before_expiry()), Err(LinkError::BadSignature));
    }

    #[test]
    fn expired_is_refused_after_the_signature_check() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let c = claims();
        let token = signer.sign(&c);
        assert_eq!(signer.verify(&token, c.expires_at), Err(LinkError::Expired { at: c.expires_at }));
        let later = c.expires_at + chrono::Duration::days(3);
        assert_eq!(signer.verify(&token, later), Err(LinkError::Expired { at: c.expires_at }));
        assert!(signer.verify(&token, c.expires_at - chrono::Duration::seconds(1)).is_ok());
        // An expired token from another key says "bad signature", not "expired".
        let other = LinkSigner::new(b"another secret, also 32 bytes or more").unwrap();
        assert_eq!(signer.verify(&other.sign(&c), later), Err(LinkError::BadSignature));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let signer = LinkSigner::new(SECRET).unwrap();
        let valid = signer.sign(&claims());
        let mut inputs: Vec<String> = ["", ".", "..", "a.b", "v1", "v1.x.1", "....", "\u{0}", "🙂.🙂", "%%%.%%%"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // A payload that is valid base64 but not ours, with a valid-length tag.
        inputs.push(format!("{}.{}", URL_SAFE_NO_PAD.encode("hello"), URL_SAFE_NO_PAD.encode([0u8; 32])));
        // Deterministic pseudo-random strings over the token alphabet and beyond.
        let alphabet: Vec<char> = "ABCxyz019-_.=+/ \u{e9}\u{1F642}".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..200 {
            let mut s = String::new();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            inputs.push(s);
        }
        // Pieces of a valid token glued back in the wrong order.
        let (p, t) = valid.split_once('.').unwrap();
        inputs.push(format!("{t}.{p}"));
        inputs.push(format!("{p}.{p}"));
        inputs.push(format!("{p}.{t}.{t}"));
        for input in &inputs {
            let got = signer.verify(input, before_expiry());
            assert!(
                matches!(got, Err(LinkError::Malformed { .. } | LinkError::BadSignature)),
                "{input:?} gave {got:?}"
            );
        }
    }

    #[test]
    fn error_messages_say_what_to_do() {
        assert!(LinkError::WeakSecret { len: 3 }.to_string().contains("at least 32"));
        let at = claims().expires_at;
        assert!(LinkError::Expired { at }.to_string().contains("new one"));
    }
}
