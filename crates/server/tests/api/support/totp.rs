//! What an authenticator app does with the secret Rapport hands out (RFC 6238 with SHA-1, six
//! digits, 30-second steps), written apart from the server's own code.

use hmac::{Hmac, Mac};

/// The code for `secret` (base32, as shown at set-up, spaces allowed), `steps` steps from now.
pub fn code(secret: &str, steps: i64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.replace(' ', "").as_bytes())
        .expect("a base32 secret");
    let counter = (chrono::Utc::now().timestamp() / 30 + steps) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).expect("any key");
    mac.update(&counter.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let at = (d[19] & 0xf) as usize;
    let n = (u32::from(d[at] & 0x7f) << 24)
        | (u32::from(d[at + 1]) << 16)
        | (u32::from(d[at + 2]) << 8)
        | u32::from(d[at + 3]);
    format!("{:06}", n % 1_000_000)
}

/// Waits, when needed, so that a step and the next are both well inside the window the server
/// accepts (a code is good for its step and one either side).
pub async fn settle() {
    let into = chrono::Utc::now().timestamp() % 30;
    if into >= 26 {
        tokio::time::sleep(std::time::Duration::from_secs((31 - into) as u64)).await;
    }
}
