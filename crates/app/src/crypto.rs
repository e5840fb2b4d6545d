//! Passwords, random tokens, token hashes and access tokens (JWT).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rapport_domain::{TokenFamilyId, UserId};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::Secret;

/// 32 random bytes, URL-safe base64: an unguessable token for links, cookies and refresh tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator failing is not something to carry on from.
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Working memory for argon2 (1 KiB blocks), kept by a hashing thread from one hash to the next
/// so that no hash allocates its 19 MiB anew: freed and allocated again from many threads, those
/// buffers piled up in the allocator's per-thread arenas (hundreds of MiB after a burst).
pub type HashMemory = Vec<argon2::Block>;

fn blocks(memory: &mut HashMemory, count: usize) -> &mut [argon2::Block] {
    if memory.len() < count {
        memory.resize(count, argon2::Block::default());
    }
    &mut memory[..count]
}

/// Hashes a password with argon2id (default parameters) and a random salt, in `memory`; the
/// result is a standard PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_password_in(password: &str, memory: &mut HashMemory) -> Result<String, argon2::Error> {
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    let argon = Argon2::default();
    let params = argon.params().clone();
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random generator is available");
    let mut out = vec![
        0u8;
        params
            .output_len()
            .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
    ];
    argon.hash_password_into_with_memory(
        password.as_bytes(),
        &salt,
        &mut out,
        blocks(memory, params.block_count()),
    )?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// Whether `password` matches a PHC argon2 `hash`, computed in `memory`.
pub fn verify_password_in(password: &str, hash: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        argon2::Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let count = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks(memory, count))
        .is_err()
    {
        return false;
    }
    constant_time_eq(&out, expected)
}

/// Whether two secrets are equal, in time that depends only on their length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A valid hash of an unguessable password, verified against when the email is unknown so that a
/// failed sign-in takes the same time whether or not the account exists.
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Keys derived from the installation's secret key, one per purpose.
#[derive(Clone)]
pub struct Keys {
    token_hash: Vec<u8>,
    secrets: Vec<u8>,
    jwt_encoding: jsonwebtoken::EncodingKey,
    jwt_decoding: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

fn derive(secret: &Secret, purpose: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    /// The sign-in (refresh token family) the token was issued from.
    pub fam: TokenFamilyId,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

const ISSUER: &str = "rapport";

impl Keys {
    pub fn new(secret: &Secret) -> Self {
        let jwt = derive(secret, "rapport access tokens v1");
        Self {
            token_hash: derive(secret, "rapport token hashes v1"),
            secrets: derive(secret, "rapport stored secrets v1"),
            jwt_encoding: jsonwebtoken::EncodingKey::from_secret(&jwt),
            jwt_decoding: jsonwebtoken::DecodingKey::from_secret(&jwt),
        }
    }

    /// The stored form of a token: keyed, so a leaked table cannot be used to forge lookups.
    pub fn hash_token(&self, token: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.token_hash)
            .expect("HMAC accepts keys of any length");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Encrypts a secret for storage (XChaCha20-Poly1305, random nonce): base64 of nonce ‖ ciphertext.
    pub fn seal(&self, plaintext: &str) -> String {
        use chacha20poly1305::aead::{Aead, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let cipher = XChaCha20Poly1305::new_from_slice(&self.secrets).expect("32-byte key");
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the operating system's random generator is available");
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Decrypts what [`Keys::seal`] produced; `None` when it was not sealed with this key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new_from_slice(&self.secrets).ok()?;
        let plain = cipher.decrypt(XNonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(plain).ok()
    }

    pub fn issue_access_token(
        &self,
        user: UserId,
        family: TokenFamilyId,
        ttl: std::time::Duration,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            fam: family,
            iat: now,
            exp: now + ttl.as_secs() as i64,
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.jwt_encoding,
        )
        .expect("HS256 signing of plain claims cannot fail")
    }

    /// The claims of a valid, unexpired access token.
    pub fn verify_access_token(&self, token: &str) -> Option<AccessClaims> {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(token, &self.jwt_decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("tidal-harbour-42").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("tidal-harbour-42", &hash));
        assert!(!verify_password("tidal-harbour-43", &hash));
        assert!(!verify_password("tidal-harbour-42", "not a hash"));
    }

    #[test]
    fn access_tokens_round_trip_and_reject_tampering() {
        let keys = Keys::new(&Secret::new("k".repeat(40)));
        let user = UserId::new();
        let token = keys.issue_access_token(
            user,
            TokenFamilyId::new(),
            std::time::Duration::from_secs(60),
        );
        assert_eq!(keys.verify_access_token(&token).map(|c| c.sub), Some(user));
        let other = Keys::new(&Secret::new("j".repeat(40)));
        assert!(other.verify_access_token(&token).is_none());
        let mut tampered = token.clone();
        tampered.push('x');
        assert!(keys.verify_access_token(&tampered).is_none());
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let a = Keys::new(&Secret::new("k".repeat(40)));
        let b = Keys::new(&Secret::new("j".repeat(40)));
        let sealed = a.seal("sk-live-1234");
        assert!(!sealed.contains("sk-live"));
        assert_ne!(sealed, a.seal("sk-live-1234"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).as_deref(), Some("sk-live-1234"));
        assert_eq!(b.open(&sealed), None);
        assert_eq!(a.open("garbage"), None);
    }

    #[test]
    fn token_hashes_are_keyed_and_stable() {
        let a = Keys::new(&Secret::new("k".repeat(40)));
        let b = Keys::new(&Secret::new("j".repeat(40)));
        assert_eq!(a.hash_token("t"), a.hash_token("t"));
        assert_ne!(a.hash_token("t"), b.hash_token("t"));
        assert_ne!(random_token(), random_token());
    }
}
