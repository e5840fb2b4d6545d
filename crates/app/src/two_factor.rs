//! Two-factor authentication: time-based one-time codes (RFC 6238 over RFC 4226: HMAC-SHA1,
//! six digits, 30-second steps, one step of clock drift either way), one-time recovery codes,
//! and browsers remembered for a while after a second factor.
//!
//! A code is spent once: the time step of the last accepted code is stored, and only a later
//! step is accepted. Wrong codes count as failed sign-ins, so the same throttling applies; a
//! correct password does not reset that count for an account with two-factor on, until the
//! second factor passes.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use rapport_domain::UserId;
use rapport_store::users::{self, User};
use rapport_store::{audit as store_audit, auth as store_auth, now, two_factor as stored};
use sha1::Sha1;

use crate::accounts::{OpenedSession, login_delay};
use crate::audit::entry;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// Seconds per time step.
const STEP_SECS: i64 = 30;
/// Steps of clock drift accepted either side of now.
const DRIFT_STEPS: i64 = 1;
/// How many recovery codes a person gets at a time.
const RECOVERY_CODES: usize = 10;
/// Failed second factors of one account, from any address, within the throttle window, after
/// which its codes are refused until the window passes.
const MAX_ACCOUNT_FAILURES: i64 = 10;
/// How long the second step of a browser sign-in may wait after the password.
const TICKET_TTL: TimeDelta = TimeDelta::minutes(5);
/// How long a remembered browser skips the second factor.
pub const REMEMBER_FOR: TimeDelta = TimeDelta::days(30);
/// The name authenticator apps show beside the account.
const ISSUER: &str = "Rapport";

/// The RFC 4226 one-time value of `secret` at `counter`: six digits.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    value % 1_000_000
}

/// The time step of a moment.
pub fn step_at(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECS)
}

/// The six-digit code of `secret` at a time step, as people type it.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:06}", hotp(secret, step as u64))
}

/// The step whose code `typed` is, within the drift allowed around `at`; `None` when it is no
/// such code. Spaces and dashes people type are ignored.
pub fn matching_step(secret: &[u8], typed: &str, at: DateTime<Utc>) -> Option<i64> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(at);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS).find(|step| {
        crate::crypto::constant_time_eq(code_at(secret, *step).as_bytes(), digits.as_bytes())
    })
}

/// A secret as authenticator apps take it: RFC 4648 base32, without padding.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` address a QR code carries for an authenticator app.
pub fn otpauth_uri(email: &str, secret: &[u8]) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{ISSUER}:{email}").as_bytes())
            .collect::<String>()
            .replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECS}",
        base32(secret)
    )
}

/// A new recovery code: ten characters from an alphabet without look-alikes, as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A recovery code as stored and compared: lowercase, without spaces or dashes.
fn normal_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A secret being enrolled: what the person's authenticator app needs.
pub struct Enrolment {
    /// The secret in base32, for typing it in.
    pub secret: String,
    /// The `otpauth://` address, for a QR code.
    pub uri: String,
}

/// Where a person's two-factor stands.
pub struct TwoFactorStatus {
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
}

impl TwoFactorStatus {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// The second factor given with a password: a code (from the authenticator, or a recovery
/// code), and the token of a remembered browser.
#[derive(Clone, Debug, Default)]
pub struct SecondFactor {
    pub code: Option<String>,
    pub device: Option<String>,
}

/// A browser sign-in completed with a second factor: the session, and the token to keep in a
/// cookie when the person asked to be remembered on this browser.
pub struct SecondStep {
    pub opened: OpenedSession,
    pub device: Option<String>,
}

impl App {
    /// Where the actor's two-factor stands.
    pub async fn two_factor_status(&self, actor: &Actor) -> AppResult<TwoFactorStatus> {
        let mut tx = self.db.platform_read().await?;
        let found = stored::find(&mut tx, actor.user_id).await?;
        let left = stored::recovery_codes_left(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        Ok(TwoFactorStatus {
            enabled_at: found.totp_enabled_at,
            recovery_codes_left: left,
        })
    }

    /// Starts enrolment: a new secret, kept until a code from it confirms the authenticator
    /// holds it (409 `two_factor_enabled` when already on). Starting again replaces it.
    pub async fn begin_two_factor(&self, actor: &Actor) -> AppResult<Enrolment> {
        actor.require_whole_account()?;
        let mut secret = [0u8; 20];
        getrandom::fill(&mut secret).expect("the operating system's random generator is available");
        let mut tx = self.db.platform().await?;
        if stored::find(&mut tx, actor.user_id)
            .await?
            .totp_enabled_at
            .is_some()
        {
            return Err(AppError::conflict(
                "two_factor_enabled",
                "two-factor authentication is already on; turn it off first to enrol another authenticator",
            ));
        }
        stored::set_pending(&mut tx, actor.user_id, &self.keys.seal(&base32(&secret))).await?;
        tx.commit().await?;
        Ok(Enrolment {
            secret: base32(&secret),
            uri: otpauth_uri(&actor.email, &secret),
        })
    }

    /// The enrolment under way, if any: its secret and address again (a page reloaded).
    pub async fn pending_two_factor(&self, actor: &Actor) -> AppResult<Option<Enrolment>> {
        actor.require_whole_account()?;
        let mut tx = self.db.platform_read().await?;
        let found = stored::find(&mut tx, actor.user_id).await?;
        tx.commit().await?;
        if found.totp_enabled_at.is_some() {
            return Ok(None);
        }
        Ok(found
            .totp_pending
            .and_then(|sealed| self.keys.open(&sealed))
            .and_then(|b32| data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).ok())
            .map(|secret| Enrolment {
                secret: base32(&secret),
                uri: otpauth_uri(&actor.email, &secret),
            }))
    }

    /// Confirms enrolment with a code from the authenticator: two-factor is on, and the
    /// recovery codes are answered, to be shown once (422 `code` when it is not the current
    /// code; 409 `two_factor_not_started` without an enrolment under way).
    pub async fn enable_two_factor(
        &self,
        actor: &Actor,
        code: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<Vec<String>> {
        actor.require_whole_account()?;
        // A session left open is not enough to bind someone else's authenticator to the account.
        self.confirm_password(actor, password).await?;
        let mut tx = self.db.platform().await?;
        let found = stored::find(&mut tx, actor.user_id).await?;
        if found.totp_enabled_at.is_some() {
            return Err(AppError::conflict(
                "two_factor_enabled",
                "two-factor authentication is already on",
            ));
        }
        let secret = found
            .totp_pending
            .as_deref()
            .and_then(|sealed| self.keys.open(sealed))
            .and_then(|b32| data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).ok())
            .ok_or_else(|| {
                AppError::conflict(
                    "two_factor_not_started",
                    "start setting up two-factor authentication first",
                )
            })?;
        let step = matching_step(&secret, code, now()).ok_or_else(|| {
            AppError::invalid(
                "code",
                "is not what your authenticator app shows now; check the app and the time on your device",
            )
        })?;
        let sealed = self.keys.seal(&base32(&secret));
        stored::enable(&mut tx, actor.user_id, &sealed, step).await?;
        let codes = self.replace_recovery_codes(&mut tx, actor.user_id).await?;
        // Every other sign-in was made without the second factor: it ends; this one stays.
        let (keep_session, keep_family) = match actor.sign_in {
            Some(crate::SignIn::Session(id)) => (Some(id), None),
            Some(crate::SignIn::TokenFamily(id)) => (None, Some(id)),
            None => (None, None),
        };
        store_auth::revoke_other_refresh_tokens(&mut tx, actor.user_id, keep_family).await?;
        store_auth::revoke_user_sessions(&mut tx, actor.user_id, keep_session).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(actor), meta, "auth.two_factor_enabled"),
        )
        .await?;
        tx.commit().await?;
        self.tell_two_factor_changed(actor, "turned on").await;
        Ok(codes)
    }

    /// Turns two-factor off, after the password (422 `password`); refused (409
    /// `two_factor_required_by_organization`) while an organization the person works in
    /// requires it.
    pub async fn disable_two_factor(
        &self,
        actor: &Actor,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        actor.require_whole_account()?;
        self.confirm_password(actor, password).await?;
        let mut tx = self.db.platform().await?;
        let requiring: Vec<String> =
            rapport_store::memberships::list_for_user(&mut tx, actor.user_id)
                .await?
                .into_iter()
                .filter(|o| o.two_factor_required)
                .map(|o| o.name)
                .collect();
        if !requiring.is_empty() {
            return Err(AppError::conflict(
                "two_factor_required_by_organization",
                format!(
                    "{} requires two-factor authentication of its members; it stays on",
                    requiring.join(", ")
                ),
            ));
        }
        stored::disable(&mut tx, actor.user_id).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(actor), meta, "auth.two_factor_disabled"),
        )
        .await?;
        tx.commit().await?;
        self.tell_two_factor_changed(actor, "turned off").await;
        Ok(())
    }

    /// Emails the account that its second factor changed, so a change the person did not make
    /// does not go unnoticed.
    async fn tell_two_factor_changed(&self, actor: &Actor, what: &str) {
        self.mailer
            .send_or_log(crate::mail::Email {
                to: actor.email.clone(),
                subject: format!("Two-factor authentication was {what} for your Rapport account"),
                text: format!(
                    "Hello {},\n\nTwo-factor authentication was just {what} for your Rapport account ({}).\n\n\
                     If this was not you, reset your password now and tell your organization's administrators:\n\n{}\n",
                    actor.name,
                    actor.email,
                    self.link("/forgot-password"),
                ),
            })
            .await;
    }

    /// New recovery codes, after the password (422 `password`): the old ones stop working.
    pub async fn new_recovery_codes(
        &self,
        actor: &Actor,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<Vec<String>> {
        actor.require_whole_account()?;
        self.confirm_password(actor, password).await?;
        let mut tx = self.db.platform().await?;
        if stored::find(&mut tx, actor.user_id)
            .await?
            .totp_enabled_at
            .is_none()
        {
            return Err(AppError::conflict(
                "two_factor_disabled",
                "two-factor authentication is off; recovery codes come with turning it on",
            ));
        }
        let codes = self.replace_recovery_codes(&mut tx, actor.user_id).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(actor), meta, "auth.recovery_codes_replaced"),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn replace_recovery_codes(
        &self,
        tx: &mut rapport_store::Tx,
        user: UserId,
    ) -> AppResult<Vec<String>> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| self.keys.hash_token(&normal_recovery_code(c)))
            .collect();
        stored::replace_recovery_codes(tx, user, &hashes).await?;
        Ok(codes)
    }

    async fn confirm_password(&self, actor: &Actor, password: &str) -> AppResult<()> {
        let mut read = self.db.platform_read().await?;
        let user = users::find(&mut read, actor.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        read.commit().await?;
        if self
            .verify_password(password.to_owned(), user.password_hash)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::invalid(
                "password",
                "is not your current password",
            ))
        }
    }

    /// The second factor of a sign-in whose password was right: nothing for a person without
    /// two-factor; otherwise a remembered browser, a current code or an unused recovery code.
    /// Without one: `TwoFactorRequired` with a ticket for the second step. A wrong one counts
    /// as a failed sign-in (throttled like passwords) and is `TwoFactorInvalid`.
    pub(crate) async fn check_second_factor(
        &self,
        user: &User,
        given: &SecondFactor,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if !user.two_factor {
            return Ok(());
        }
        let at = now();
        if let Some(device) = &given.device {
            let mut read = self.db.platform_read().await?;
            let remembered =
                stored::is_remembered(&mut read, user.id, &self.keys.hash_token(device), at)
                    .await?;
            read.commit().await?;
            if remembered {
                self.second_factor_passed(user, meta, "device").await?;
                return Ok(());
            }
        }
        let Some(code) = given.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Err(AppError::TwoFactorRequired {
                ticket: self.two_factor_ticket(user.id, at),
            });
        };
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        // One check of this person's codes at a time: the throttle is read, the code judged and
        // a failure written in one transaction, so parallel guesses cannot all pass the count.
        let mut tx = self.db.platform().await?;
        stored::lock_user(&mut tx, user.id).await?;
        let since = at - crate::accounts::THROTTLE_WINDOW;
        let failures = store_auth::login_failures_since(&mut tx, &user.email, &ip, since).await?;
        let account = store_auth::email_failures_since(&mut tx, &user.email, since).await?;
        let from_address = store_auth::address_failures_since(&mut tx, &ip, since).await?;
        let until_window_ends = |oldest: Option<DateTime<Utc>>| {
            oldest.map(|o| o + crate::accounts::THROTTLE_WINDOW - at)
        };
        let wait = login_delay(&failures, at)
            .or_else(|| {
                (account.count >= MAX_ACCOUNT_FAILURES)
                    .then(|| until_window_ends(account.oldest))
                    .flatten()
            })
            .or_else(|| {
                (from_address.count >= self.config.login_address_limit as i64)
                    .then(|| until_window_ends(from_address.oldest))
                    .flatten()
            });
        if let Some(wait) = wait {
            drop(tx);
            return Err(AppError::TooManyRequests {
                retry_after_secs: wait.num_seconds().max(1) as u64,
            });
        }
        let found = stored::find(&mut tx, user.id).await?;
        let secret = found
            .totp_secret
            .as_deref()
            .and_then(|sealed| self.keys.open(sealed))
            .and_then(|b32| data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).ok())
            .ok_or_else(|| AppError::Internal("a two-factor secret cannot be opened".into()))?;
        let passed = match matching_step(&secret, code, at) {
            Some(step) => stored::spend_step(&mut tx, user.id, step)
                .await?
                .then_some("code"),
            None => stored::spend_recovery_code(
                &mut tx,
                user.id,
                &self.keys.hash_token(&normal_recovery_code(code)),
            )
            .await?
            .then_some("recovery_code"),
        };
        match passed {
            Some(how) => {
                tx.commit().await?;
                self.second_factor_passed(user, meta, how).await
            }
            None => {
                store_auth::record_login_failure(&mut tx, &user.email, &ip).await?;
                let mut e = entry(Some(&Actor::from(user)), meta, "auth.two_factor_failed");
                e.actor_email = Some(user.email.clone());
                store_audit::record_platform(&mut tx, None, e).await?;
                tx.commit().await?;
                Err(AppError::TwoFactorInvalid)
            }
        }
    }

    async fn second_factor_passed(
        &self,
        user: &User,
        meta: &RequestMeta,
        how: &str,
    ) -> AppResult<()> {
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        let mut tx = self.db.platform().await?;
        store_auth::clear_login_failures(&mut tx, &user.email, &ip).await?;
        users::note_sign_in(&mut tx, user.id).await?;
        let actor = Actor::from(user);
        let mut e = entry(Some(&actor), meta, "auth.two_factor_passed");
        e.changes = Some(serde_json::json!({"with": how}));
        store_audit::record_platform(&mut tx, None, e).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(&actor), meta, "auth.login_succeeded"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A sealed, short-lived proof that `user` gave the right password, for the second step.
    fn two_factor_ticket(&self, user: UserId, at: DateTime<Utc>) -> String {
        let sealed = self
            .keys
            .seal(&format!("2fa:{user}:{}", (at + TICKET_TTL).timestamp()));
        // Forms and URLs carry it as is.
        sealed.replace('+', "-").replace('/', "_")
    }

    /// The person a ticket names, while it is fresh.
    async fn ticket_user(&self, ticket: &str) -> AppResult<User> {
        const STALE: AppError = AppError::Unauthenticated(
            "this sign-in took too long or is not valid; enter your email and password again",
        );
        let opened = self
            .keys
            .open(&ticket.replace('-', "+").replace('_', "/"))
            .ok_or(STALE)?;
        let mut parts = opened.splitn(3, ':');
        let (Some("2fa"), Some(user), Some(expires)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(STALE);
        };
        let user: uuid::Uuid = user.parse().map_err(|_| STALE)?;
        let expires: i64 = expires.parse().map_err(|_| STALE)?;
        if now().timestamp() > expires {
            return Err(STALE);
        }
        let mut read = self.db.platform_read().await?;
        let found = users::find(&mut read, UserId(user)).await?.ok_or(STALE)?;
        read.commit().await?;
        Ok(found)
    }

    /// The second step of a browser sign-in: the ticket of the first, and a code. Opens the
    /// session; remembers this browser when asked (its token is answered for a cookie).
    pub async fn open_session_second_step(
        &self,
        ticket: &str,
        code: &str,
        remember: bool,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<SecondStep> {
        let user = self.ticket_user(ticket).await?;
        let given = SecondFactor {
            code: Some(code.to_owned()),
            device: None,
        };
        match self.check_second_factor(&user, &given, meta).await {
            // An empty code: ask again, with the same ticket.
            Err(AppError::TwoFactorRequired { .. }) => {
                return Err(AppError::TwoFactorRequired {
                    ticket: ticket.to_owned(),
                });
            }
            other => other?,
        }
        let opened = self.session_for(user, previous_token, meta).await?;
        let device = match remember {
            true => {
                let token = crate::crypto::random_token();
                let mut tx = self.db.platform().await?;
                stored::remember_device(
                    &mut tx,
                    opened.user.id,
                    self.keys.hash_token(&token),
                    meta.user_agent.as_deref(),
                    now() + REMEMBER_FOR,
                )
                .await?;
                tx.commit().await?;
                Some(token)
            }
            false => None,
        };
        Ok(SecondStep { opened, device })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238, appendix B: the SHA-1 secret is the ASCII of "12345678901234567890"; the
    // published values are eight digits, whose last six are the six-digit codes.
    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        for (time, eight) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let at = DateTime::from_timestamp(time, 0).expect("a time");
            assert_eq!(code_at(SECRET, step_at(at)), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let at = DateTime::from_timestamp(1_111_111_111, 0).expect("a time");
        let step = step_at(at);
        for drift in [-1, 0, 1] {
            let code = code_at(SECRET, step + drift);
            assert_eq!(matching_step(SECRET, &code, at), Some(step + drift));
        }
        for drift in [-3, -2, 2, 3] {
            let code = code_at(SECRET, step + drift);
            if (-1..=1).all(|d| code_at(SECRET, step + d) != code) {
                assert_eq!(matching_step(SECRET, &code, at), None, "drift {drift}");
            }
        }
        let spaced = format!(
            "{} {}",
            &code_at(SECRET, step)[..3],
            &code_at(SECRET, step)[3..]
        );
        assert_eq!(matching_step(SECRET, &spaced, at), Some(step));
        assert_eq!(matching_step(SECRET, "12345", at), None);
        assert_eq!(matching_step(SECRET, "abcdef", at), None);
    }

    #[test]
    fn the_enrolment_address_carries_the_secret_in_base32() {
        assert_eq!(base32(SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri("ana costa@example.com", SECRET);
        assert!(
            uri.starts_with("otpauth://totp/Rapport%3Aana%20costa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rapport"),
            "{uri}"
        );
    }

    #[test]
    fn recovery_codes_are_typed_loosely() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normal_recovery_code(&code.to_uppercase().replace('-', " ")),
            code.replace('-', "")
        );
    }
}
