//! The CSRF token as pages carry it. A session's token never changes, and pages are compressed,
//! so a page carrying it as it is, next to text an address can put there (a search), would let
//! someone watching the sizes of compressed answers guess it a character at a time (BREACH).
//! Each page carries it masked afresh instead: random bytes, then the token XOR those bytes, in
//! hex. A form's token is accepted masked or as the session has it (the API's `/auth/session`
//! hands out the plain token).

use rapport_app::crypto::constant_time_eq;

/// The session's `token`, masked with fresh random bytes.
pub fn masked(token: &str) -> String {
    let secret = token.as_bytes();
    let mut pad = vec![0u8; secret.len()];
    getrandom::fill(&mut pad).expect("the operating system gives random bytes");
    let masked: Vec<u8> = pad.iter().zip(secret).map(|(p, s)| p ^ s).collect();
    pad.iter()
        .chain(&masked)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `presented` is the session's `token`, masked or not.
pub fn matches(presented: &str, token: &str) -> bool {
    if constant_time_eq(presented.as_bytes(), token.as_bytes()) {
        return true;
    }
    let secret = token.as_bytes();
    if presented.len() != secret.len() * 4 {
        return false;
    }
    let Some(bytes) = (0..presented.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(presented.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let (pad, masked) = bytes.split_at(secret.len());
    let unmasked: Vec<u8> = pad.iter().zip(masked).map(|(p, m)| p ^ m).collect();
    constant_time_eq(&unmasked, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_differs_every_time_and_is_accepted_like_the_token() {
        let token = "h7Qx2-session-token_0123456789abcdefABCDEF";
        let (a, b) = (masked(token), masked(token));
        assert_ne!(a, b);
        assert!(!a.contains(token));
        assert!(matches(&a, token) && matches(&b, token));
        assert!(matches(token, token));
        assert!(!matches(
            &masked("another-token-of-the-same-length-0123456789"),
            token
        ));
        assert!(!matches("", token));
        assert!(!matches(&"zz".repeat(token.len() * 2), token));
    }
}
