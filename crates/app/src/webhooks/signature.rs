//! Standard Webhooks signatures: `whsec_` secrets, and the `webhook-signature` header
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several separated by spaces while a
//! secret is being rotated).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a secret.
pub const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The signing key of a secret (the bytes after the prefix).
pub fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .ok()
        .filter(|k| !k.is_empty())
}

/// One signature, `v1,<base64>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per key.
pub fn header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &str) -> String {
    keys.iter()
        .map(|k| sign(k, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_prefixed_and_decodes_to_its_key() {
        let secret = generate();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(key(&secret).map(|k| k.len()), Some(32));
        assert_ne!(generate(), secret);
    }

    #[test]
    fn every_key_signs_and_a_change_of_any_part_changes_the_signature() {
        let (a, b) = (vec![1u8; 32], vec![2u8; 32]);
        let both = header(&[a.clone(), b.clone()], "msg_1", 1_700_000_000, "{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign(&a, "msg_1", 1_700_000_000, "{}"),
                sign(&b, "msg_1", 1_700_000_000, "{}")
            ]
        );
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        let base = sign(&a, "msg_1", 1_700_000_000, "{}");
        assert_ne!(base, sign(&a, "msg_2", 1_700_000_000, "{}"));
        assert_ne!(base, sign(&a, "msg_1", 1_700_000_001, "{}"));
        assert_ne!(base, sign(&a, "msg_1", 1_700_000_000, "{ }"));
    }
}
