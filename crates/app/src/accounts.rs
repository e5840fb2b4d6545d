//! Accounts and authentication: registration, sign-in with throttling, refresh-token rotation
//! with reuse detection, browser sessions, password reset.

use chrono::{DateTime, TimeDelta, Utc};
use rapport_domain::account::{Email, NewPassword, PersonName};
use rapport_domain::organization::OrganizationName;
use rapport_domain::{SessionId, TokenFamilyId, UserId, ValidationErrors};
use rapport_store::auth::{self as store_auth, NewSession, Session};
use rapport_store::memberships::UserOrganization;
use rapport_store::users::{self, User};
use rapport_store::{Tx, audit as store_audit, now};

use crate::audit::{entry, with_target};
use crate::crypto::random_token;
use crate::mail::Email as Message;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// Failed sign-ins of one email from one address that cost nothing more; each one after them
/// doubles the wait before the next attempt ([`login_delay`]).
pub const MAX_LOGIN_FAILURES: usize = 5;
/// How long failed sign-ins count.
pub const THROTTLE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// The first wait once [`MAX_LOGIN_FAILURES`] is reached; it doubles with every further failure.
const FIRST_LOGIN_DELAY: TimeDelta = TimeDelta::seconds(30);
/// A session's last activity is written at most this often.
const SESSION_TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

/// A new access token and the refresh token that replaces it.
#[derive(Clone, Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// Input of [`App::register`].
#[derive(Clone, Debug, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    pub organization_name: Option<String>,
}

pub struct Registered {
    pub user: User,
    pub organization: Option<UserOrganization>,
    pub tokens: TokenPair,
}

/// A browser session just opened: the cookie value and the CSRF token forms must carry.
pub struct OpenedSession {
    pub user: User,
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A browser session presented with a request.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub actor: Actor,
    pub session: Session,
}

impl From<&User> for Actor {
    fn from(user: &User) -> Self {
        Actor {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            is_instance_admin: user.is_instance_admin,
            two_factor: user.two_factor,
            created_at: user.created_at,
            api_key: None,
            sign_in: None,
            confined_to: None,
        }
    }
}

/// How long the next sign-in of an (email, address) must wait after these failures (oldest
/// first, within the window), if at all: nothing for the first [`MAX_LOGIN_FAILURES`], then 30 s
/// after the latest failure, doubling with each further one, never beyond the window.
pub fn login_delay(failures: &[DateTime<Utc>], at: DateTime<Utc>) -> Option<TimeDelta> {
    let beyond = failures.len().checked_sub(MAX_LOGIN_FAILURES)?;
    let latest = *failures.last()?;
    let delay = FIRST_LOGIN_DELAY
        .checked_mul(1i32 << beyond.min(10))
        .unwrap_or(THROTTLE_WINDOW)
        .min(THROTTLE_WINDOW);
    let until = latest + delay;
    (until > at).then(|| until - at)
}

fn to_delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl App {
    /// Hashes a new password on the bounded hashers ([`crate::passwords`]).
    pub(crate) async fn hash_password(&self, password: &NewPassword) -> AppResult<String> {
        self.passwords.hash(password.expose().to_owned()).await
    }

    /// Checks a password against a stored hash on the bounded hashers.
    pub(crate) async fn verify_password(&self, password: String, hash: String) -> AppResult<bool> {
        self.passwords.verify(password, hash).await
    }

    /// Creates an account and, with `organization_name`, an organization it owns.
    pub async fn register(&self, input: Registration, meta: &RequestMeta) -> AppResult<Registered> {
        if !self.config.allow_signup {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", Email::parse(&input.email));
        let name = errors.check("name", PersonName::parse(&input.name));
        let password = errors.check(
            "password",
            NewPassword::parse(
                &input.password,
                email.as_ref(),
                &self.config.password_policy,
            ),
        );
        let org_name = match &input.organization_name {
            Some(raw) => errors.check("organization_name", OrganizationName::parse(raw)),
            None => None,
        };
        errors.into_result()?;
        let (email, name, password) = match (email, name, password) {
            (Some(e), Some(n), Some(p)) => (e, n, p),
            _ => return Err(AppError::Internal("validated input missing".into())),
        };
        let password_hash = self.hash_password(&password).await?;

        let at = now();
        let user = User {
            id: UserId::new(),
            email: email.as_str().to_owned(),
            name: name.as_str().to_owned(),
            password_hash,
            is_instance_admin: false,
            created_at: at,
            updated_at: at,
            two_factor: false,
        };
        let mut tx = self.db.platform().await?;
        insert_user(&mut tx, &user).await?;
        let actor = Actor::from(&user);
        store_audit::record_platform(
            &mut tx,
            None,
            with_target(
                entry(Some(&actor), meta, "auth.registered"),
                "user",
                user.id,
            ),
        )
        .await?;
        let tokens = self
            .issue_tokens(&mut tx, user.id, TokenFamilyId::new())
            .await?;
        let organization = match org_name {
            Some(org_name) => {
                let (org, tx_back) = self
                    .create_organization_in(tx, &actor, meta, org_name.as_str(), None)
                    .await?;
                tx = tx_back;
                Some(org)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(Registered {
            user,
            organization,
            tokens,
        })
    }

    /// Issues an access token and a refresh token of `family`, storing the refresh token's hash.
    pub(crate) async fn issue_tokens(
        &self,
        tx: &mut Tx,
        user: UserId,
        family: TokenFamilyId,
    ) -> AppResult<TokenPair> {
        let refresh_token = random_token();
        store_auth::insert_refresh_token(
            tx,
            family,
            user,
            self.keys.hash_token(&refresh_token),
            now() + to_delta(self.config.refresh_token_ttl),
        )
        .await?;
        Ok(TokenPair {
            access_token: self
                .keys
                .issue_access_token(user, family, self.config.access_token_ttl),
            refresh_token,
            expires_in: self.config.access_token_ttl.as_secs(),
        })
    }

    /// Checks an email and password. Every outcome is audited. Throttled two ways, neither of
    /// which lets one person lock another out:
    /// - per (email, address): after [`MAX_LOGIN_FAILURES`] failures, each attempt waits twice as
    ///   long as the one before (30 s, 1 min, 2 min, … up to the 15-minute window). Someone
    ///   guessing from elsewhere never delays the account's owner;
    /// - per address, whatever the emails: more than `RAPPORT_LOGIN_ADDRESS_LIMIT` failures
    ///   within 15 minutes are refused, which stops one client from spraying many accounts.
    ///
    /// Both are refused with 429 and `Retry-After` before any password is hashed. The
    /// deliberately slow password check runs outside any transaction, on the bounded hashers.
    pub(crate) async fn check_credentials(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<User> {
        let email = email.trim().to_lowercase();
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        let at = now();
        let since = at - THROTTLE_WINDOW;
        let mut read = self.db.platform_read().await?;
        let failures = store_auth::login_failures_since(&mut read, &email, &ip, since).await?;
        let from_address = store_auth::address_failures_since(&mut read, &ip, since).await?;
        let user = users::find_by_email(&mut read, &email).await?;
        read.commit().await?;
        let wait = login_delay(&failures, at).or_else(|| {
            (from_address.count >= self.config.login_address_limit as i64)
                .then(|| {
                    from_address
                        .oldest
                        .map(|oldest| oldest + THROTTLE_WINDOW - at)
                })
                .flatten()
        });
        if let Some(wait) = wait {
            let retry_after_secs = wait.num_seconds().max(1) as u64;
            let mut tx = self.db.platform().await?;
            let mut e = entry(None, meta, "auth.login_throttled");
            e.actor_email = Some(email.clone());
            store_audit::record_platform(&mut tx, None, e).await?;
            tx.commit().await?;
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
        // Verify against a dummy hash when the account does not exist: same work, same timing.
        let matches = self
            .passwords
            .verify_or_dummy(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        let mut tx = self.db.platform().await?;
        match user {
            Some(user) if matches => {
                // With two-factor on, the sign-in is done (and failures cleared) once the second
                // factor passes: a known password must not reset the count of codes guessed.
                let actor = Actor::from(&user);
                if user.two_factor {
                    store_audit::record_platform(
                        &mut tx,
                        None,
                        entry(Some(&actor), meta, "auth.password_accepted"),
                    )
                    .await?;
                } else {
                    store_auth::clear_login_failures(&mut tx, &email, &ip).await?;
                    rapport_store::users::note_sign_in(&mut tx, user.id).await?;
                    store_audit::record_platform(
                        &mut tx,
                        None,
                        entry(Some(&actor), meta, "auth.login_succeeded"),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(user)
            }
            found => {
                store_auth::record_login_failure(&mut tx, &email, &ip).await?;
                let mut e = entry(None, meta, "auth.login_failed");
                e.actor_id = found.map(|u| u.id);
                e.actor_email = Some(email);
                store_audit::record_platform(&mut tx, None, e).await?;
                tx.commit().await?;
                Err(AppError::Unauthenticated("invalid email or password"))
            }
        }
    }

    /// Signs in for the API: a new token family.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        second: &crate::two_factor::SecondFactor,
        meta: &RequestMeta,
    ) -> AppResult<(User, TokenPair)> {
        let user = self.check_credentials(email, password, meta).await?;
        self.check_second_factor(&user, second, meta).await?;
        let mut tx = self.db.platform().await?;
        let tokens = self
            .issue_tokens(&mut tx, user.id, TokenFamilyId::new())
            .await?;
        tx.commit().await?;
        Ok((user, tokens))
    }

    /// Rotates a refresh token. A token presented twice means it was stolen: the whole family is
    /// revoked, the newest token included.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<(User, TokenPair)> {
        const INVALID: AppError = AppError::Unauthenticated("invalid or expired refresh token");
        let at = now();
        let mut tx = self.db.platform().await?;
        let Some(token) =
            store_auth::find_refresh_token(&mut tx, &self.keys.hash_token(refresh_token)).await?
        else {
            return Err(INVALID);
        };
        if token.revoked_at.is_some() {
            return Err(INVALID);
        }
        if token.used_at.is_some() {
            store_auth::revoke_family(&mut tx, token.user_id, token.family_id).await?;
            let user = users::find(&mut tx, token.user_id).await?;
            let actor = user.as_ref().map(Actor::from);
            let e = with_target(
                entry(actor.as_ref(), meta, "auth.refresh_token_reused"),
                "token_family",
                token.family_id,
            );
            store_audit::record_platform(&mut tx, None, e).await?;
            tx.commit().await?;
            tracing::warn!(family = %token.family_id, "refresh token reuse detected; sign-in revoked");
            return Err(INVALID);
        }
        if token.expires_at <= at {
            return Err(INVALID);
        }
        if !store_auth::mark_refresh_token_used(&mut tx, token.id).await? {
            return Err(INVALID);
        }
        let user = users::find(&mut tx, token.user_id).await?.ok_or(INVALID)?;
        let tokens = self.issue_tokens(&mut tx, user.id, token.family_id).await?;
        tx.commit().await?;
        Ok((user, tokens))
    }

    /// Ends the sign-in a refresh token belongs to. Unknown tokens are ignored (logging out twice
    /// is not an error).
    pub async fn logout(&self, refresh_token: &str, meta: &RequestMeta) -> AppResult<()> {
        let mut tx = self.db.platform().await?;
        if let Some(token) =
            store_auth::find_refresh_token(&mut tx, &self.keys.hash_token(refresh_token)).await?
        {
            let revoked =
                store_auth::revoke_family(&mut tx, token.user_id, token.family_id).await?;
            if revoked > 0 {
                let user = users::find(&mut tx, token.user_id).await?;
                let actor = user.as_ref().map(Actor::from);
                store_audit::record_platform(
                    &mut tx,
                    None,
                    entry(actor.as_ref(), meta, "auth.logout"),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user an access token speaks for, if it is valid and its sign-in was not ended.
    pub async fn authenticate_access_token(&self, token: &str) -> AppResult<Actor> {
        const INVALID: AppError = AppError::Unauthenticated("invalid or expired access token");
        let claims = self.keys.verify_access_token(token).ok_or(INVALID)?;
        if let Some(actor) = self.identity.family(claims.fam)
            && actor.user_id == claims.sub
        {
            return Ok(actor);
        }
        let ticket = self.identity.ticket();
        let user = store_auth::user_of_live_family(&self.db, claims.sub, claims.fam, now())
            .await?
            .ok_or(INVALID)?;
        let mut actor = Actor::from(&user);
        actor.sign_in = Some(crate::SignIn::TokenFamily(claims.fam));
        self.identity.put_family(ticket, claims.fam, &actor);
        Ok(actor)
    }

    // -----------------------------------------------------------------------------------------
    // Browser sessions

    /// Signs in for the browser: a new server-side session. Any session the browser presented
    /// is ended first, so a session token is never reused across sign-ins.
    pub async fn open_session(
        &self,
        email: &str,
        password: &str,
        second: &crate::two_factor::SecondFactor,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedSession> {
        let user = self.check_credentials(email, password, meta).await?;
        self.check_second_factor(&user, second, meta).await?;
        self.session_for(user, previous_token, meta).await
    }

    /// Opens a session for a person fully signed in, ending the one the browser presented.
    pub(crate) async fn session_for(
        &self,
        user: User,
        previous_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedSession> {
        let mut tx = self.db.platform().await?;
        let opened = self
            .replace_session(&mut tx, user, previous_token, None, meta)
            .await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// Opens a session in `tx`, ending the one the browser presented. `confined_to` names the
    /// organization whose single sign-on opened it: the only one it reaches.
    pub(crate) async fn replace_session(
        &self,
        tx: &mut Tx,
        user: User,
        previous_token: Option<&str>,
        confined_to: Option<rapport_domain::OrganizationId>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedSession> {
        if let Some(previous) = previous_token
            && let Some(old) = store_auth::find_session(tx, &self.keys.hash_token(previous)).await?
        {
            store_auth::revoke_session(tx, old.user_id, old.id).await?;
        }
        self.insert_session(tx, user, confined_to, meta).await
    }

    async fn insert_session(
        &self,
        tx: &mut Tx,
        user: User,
        confined_to: Option<rapport_domain::OrganizationId>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedSession> {
        let token = random_token();
        let csrf_token = random_token();
        let expires_at = now() + to_delta(self.config.session_absolute_timeout);
        store_auth::insert_session(
            tx,
            NewSession {
                user_id: user.id,
                token_hash: self.keys.hash_token(&token),
                csrf_token: &csrf_token,
                ip: meta.ip.as_deref(),
                user_agent: meta.user_agent.as_deref(),
                expires_at,
                organization_id: confined_to,
            },
        )
        .await?;
        Ok(OpenedSession {
            user,
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The session a cookie names, if it is live: not revoked, not past its absolute end, and
    /// used within the idle timeout. Its last activity is refreshed.
    pub async fn session(&self, token: &str) -> AppResult<CurrentSession> {
        const EXPIRED: AppError =
            AppError::Unauthenticated("your session has expired; please sign in again");
        let at = now();
        let hash = self.keys.hash_token(token);
        let live = |session: &store_auth::Session| {
            let idle_end = session.last_seen_at + to_delta(self.config.session_idle_timeout);
            session.revoked_at.is_none() && session.expires_at > at && idle_end > at
        };
        // A cached copy that looks idle may only be behind: another server saw it since.
        let cached = self
            .identity
            .session(&hash)
            .filter(|c| live(&c.session))
            .map(|c| CurrentSession {
                actor: c.actor,
                session: c.session,
            });
        let current = match cached {
            Some(current) => current,
            None => {
                let ticket = self.identity.ticket();
                let mut tx = self.db.platform_read().await?;
                let session = store_auth::find_session(&mut tx, &hash)
                    .await?
                    .ok_or(EXPIRED)?;
                if !live(&session) {
                    return Err(EXPIRED);
                }
                let user = users::find(&mut tx, session.user_id)
                    .await?
                    .ok_or(EXPIRED)?;
                tx.commit().await?;
                let mut actor = Actor::from(&user);
                actor.sign_in = Some(crate::SignIn::Session(session.id));
                if let Some(org) = session.organization_id {
                    // Signed in through an organization's provider: that organization only,
                    // and nothing of the platform's.
                    actor.confined_to = Some(rapport_domain::OrganizationId(org));
                    actor.is_instance_admin = false;
                }
                self.identity.put_session(
                    ticket,
                    hash.clone(),
                    &crate::identity::CachedSession {
                        session: session.clone(),
                        actor: actor.clone(),
                    },
                );
                CurrentSession { actor, session }
            }
        };
        if at - current.session.last_seen_at >= SESSION_TOUCH_INTERVAL {
            let mut tx = self.db.platform().await?;
            store_auth::touch_session(&mut tx, current.session.id, at).await?;
            tx.commit().await?;
            self.identity.session_seen(&hash, at);
        }
        Ok(current)
    }

    pub async fn close_session(
        &self,
        current: &CurrentSession,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let mut tx = self.db.platform().await?;
        store_auth::revoke_session(&mut tx, current.actor.user_id, current.session.id).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(&current.actor), meta, "auth.logout"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every other session of the user ("sign out everywhere else").
    pub async fn close_other_sessions(
        &self,
        current: &CurrentSession,
        meta: &RequestMeta,
    ) -> AppResult<u64> {
        // A sign-in confined to one organization does not end the account's others.
        current.actor.require_whole_account()?;
        let mut tx = self.db.platform().await?;
        let n = store_auth::revoke_user_sessions(
            &mut tx,
            current.actor.user_id,
            Some(current.session.id),
        )
        .await?;
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(&current.actor), meta, "auth.sessions_revoked"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn list_sessions(&self, actor: &Actor) -> AppResult<Vec<Session>> {
        let mut tx = self.db.platform_read().await?;
        let mut sessions = store_auth::list_live_sessions(&mut tx, actor.user_id, now()).await?;
        tx.commit().await?;
        // A sign-in confined to one organization sees the sign-ins of that organization only.
        if let Some(only) = actor.confined_to {
            sessions.retain(|s| s.organization_id == Some(only.0));
        }
        Ok(sessions)
    }

    /// Ends one of the actor's own sessions.
    pub async fn revoke_session(
        &self,
        actor: &Actor,
        id: SessionId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        actor.require_whole_account()?;
        let mut tx = self.db.platform().await?;
        let sessions = store_auth::list_live_sessions(&mut tx, actor.user_id, now()).await?;
        if !sessions.iter().any(|s| s.id == id) {
            return Err(AppError::NotFound);
        }
        store_auth::revoke_session(&mut tx, actor.user_id, id).await?;
        store_audit::record_platform(
            &mut tx,
            None,
            with_target(
                entry(Some(actor), meta, "auth.session_revoked"),
                "session",
                id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Password reset

    /// Emails a single-use reset link when the account exists. Answers the same either way, so
    /// it cannot be used to find out who has an account.
    pub async fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> AppResult<()> {
        let Ok(email) = Email::parse(email) else {
            return Err(AppError::invalid("email", "must be a valid email address"));
        };
        let mut tx = self.db.platform().await?;
        let Some(user) = users::find_by_email(&mut tx, email.as_str()).await? else {
            return Ok(());
        };
        let token = random_token();
        store_auth::expire_password_resets(&mut tx, user.id).await?;
        store_auth::insert_password_reset(
            &mut tx,
            user.id,
            self.keys.hash_token(&token),
            now() + to_delta(self.config.password_reset_ttl),
        )
        .await?;
        let actor = Actor::from(&user);
        store_audit::record_platform(
            &mut tx,
            None,
            entry(Some(&actor), meta, "auth.password_reset_requested"),
        )
        .await?;
        tx.commit().await?;
        let minutes = self.config.password_reset_ttl.as_secs() / 60;
        self.mailer
            .send_or_log(Message {
                to: user.email.clone(),
                subject: "Reset your Rapport password".into(),
                text: format!(
                    "Hello {},\n\nSomeone (hopefully you) asked to reset the password of your Rapport account.\n\
                     Choose a new password here:\n\n{}\n\nThe link works once, for {minutes} minutes. If you did not ask for it, \
                     ignore this message: your password stays as it is.\n",
                    user.name,
                    self.link(&format!("/reset-password/{token}")),
                ),
            })
            .await;
        Ok(())
    }

    /// Whether a reset token can still be used, so the page can say so before asking for a password.
    pub async fn password_reset_is_usable(&self, token: &str) -> AppResult<bool> {
        let mut tx = self.db.platform_read().await?;
        let reset = store_auth::find_password_reset(&mut tx, &self.keys.hash_token(token)).await?;
        tx.commit().await?;
        Ok(reset.is_some_and(|r| r.used_at.is_none() && r.expires_at > now()))
    }

    /// Sets a new password with a reset token; every sign-in and session of the account ends.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        const INVALID: &str =
            "this reset link is invalid, expired or already used; ask for a new one";
        let token_hash = self.keys.hash_token(token);
        let mut read = self.db.platform_read().await?;
        let reset = store_auth::find_password_reset(&mut read, &token_hash)
            .await?
            .filter(|r| r.used_at.is_none() && r.expires_at > now())
            .ok_or_else(|| AppError::invalid("token", INVALID))?;
        let user = users::find(&mut read, reset.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        read.commit().await?;
        let email = Email::parse(&user.email).ok();
        let password = NewPassword::parse(password, email.as_ref(), &self.config.password_policy)
            .map_err(|e| AppError::invalid("password", e))?;
        // Hashed before the transaction, which the single-use check below keeps honest.
        let new_hash = self.hash_password(&password).await?;
        let mut tx = self.db.platform().await?;
        if !store_auth::use_password_reset(&mut tx, reset.id).await? {
            return Err(AppError::invalid("token", INVALID));
        }
        users::set_password_hash(&mut tx, user.id, &new_hash).await?;
        store_auth::revoke_all_refresh_tokens(&mut tx, user.id).await?;
        store_auth::revoke_user_sessions(&mut tx, user.id, None).await?;
        // A browser remembered for the second factor is forgotten with the old password.
        rapport_store::two_factor::forget_devices(&mut tx, user.id).await?;
        let actor = Actor::from(&user);
        let mut e = entry(Some(&actor), meta, "auth.password_reset");
        e.changes = crate::audit::changes(&[("password", "old".into(), "new".into())]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's display name.
    pub async fn rename(&self, actor: &Actor, name: &str, meta: &RequestMeta) -> AppResult<()> {
        actor.require_whole_account()?;
        let name = PersonName::parse(name).map_err(|m| AppError::invalid("name", m))?;
        let mut tx = self.db.platform().await?;
        users::set_name(&mut tx, actor.user_id, name.as_str()).await?;
        let mut e = entry(Some(actor), meta, "auth.profile_changed");
        e.changes =
            crate::audit::changes(&[("name", actor.name.clone().into(), name.as_str().into())]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's email after checking their password again. The old address is told,
    /// so a hijacked session cannot quietly take the account over.
    pub async fn change_email(
        &self,
        actor: &Actor,
        new_email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        actor.require_whole_account()?;
        let email = Email::parse(new_email).map_err(|m| AppError::invalid("email", m))?;
        let mut read = self.db.platform_read().await?;
        let user = users::find(&mut read, actor.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        read.commit().await?;
        if !self
            .verify_password(password.to_owned(), user.password_hash.clone())
            .await?
        {
            return Err(AppError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        if email.as_str() == user.email {
            return Ok(user.email);
        }
        let mut tx = self.db.platform().await?;
        users::set_email(&mut tx, user.id, email.as_str())
            .await
            .map_err(|e| {
                if e.is_conflict_on("users_email_key") {
                    AppError::invalid("email", "already belongs to another account")
                } else {
                    e.into()
                }
            })?;
        let mut e = entry(Some(actor), meta, "auth.email_changed");
        e.changes =
            crate::audit::changes(&[("email", user.email.clone().into(), email.as_str().into())]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        self.mailer
            .send_or_log(Message {
                to: user.email.clone(),
                subject: "Your Rapport email address was changed".into(),
                text: format!(
                    "Hello {},\n\nThe email address of your Rapport account was changed from {} to {}.\n\
                     If you did not do this, reset your password at {} and tell your administrator.\n",
                    user.name,
                    user.email,
                    email.as_str(),
                    self.link("/forgot-password"),
                ),
            })
            .await;
        Ok(email.as_str().to_owned())
    }

    /// Changes the actor's password, given the current one. Every other sign-in of the account
    /// ends (browser sessions and API token families), as after a reset: whoever knew the old
    /// password is out. The sign-in that made the change stays. The deliberately slow checks
    /// run before the transaction, so they never hold the database's write lock.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        actor.require_whole_account()?;
        let mut read = self.db.platform_read().await?;
        let user = users::find(&mut read, actor.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        read.commit().await?;
        if !self
            .verify_password(current.to_owned(), user.password_hash.clone())
            .await?
        {
            return Err(AppError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        let email = Email::parse(&user.email).ok();
        let password = NewPassword::parse(new, email.as_ref(), &self.config.password_policy)
            .map_err(|e| AppError::invalid("password", e))?;
        let new_hash = self.hash_password(&password).await?;
        let mut tx = self.db.platform().await?;
        users::set_password_hash(&mut tx, user.id, &new_hash).await?;
        let (keep_session, keep_family) = match actor.sign_in {
            Some(crate::SignIn::Session(id)) => (Some(id), None),
            Some(crate::SignIn::TokenFamily(id)) => (None, Some(id)),
            None => (None, None),
        };
        store_auth::revoke_other_refresh_tokens(&mut tx, user.id, keep_family).await?;
        store_auth::revoke_user_sessions(&mut tx, user.id, keep_session).await?;
        rapport_store::two_factor::forget_devices(&mut tx, user.id).await?;
        let mut e = entry(Some(actor), meta, "auth.password_changed");
        e.changes = crate::audit::changes(&[("password", "old".into(), "new".into())]);
        store_audit::record_platform(&mut tx, None, e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Inserts a user, turning a taken email into the contract's 409 `email_taken`.
pub(crate) async fn insert_user(tx: &mut Tx, user: &User) -> AppResult<()> {
    users::insert(tx, user).await.map_err(|e| {
        if e.is_conflict_on("users_email_key") {
            AppError::conflict("email_taken", "an account with this email already exists")
        } else {
            e.into()
        }
    })
}

/// Creates a user from the command line or an invitation: validated like a registration.
pub(crate) async fn new_user(
    app: &App,
    email: &str,
    name: &str,
    password: &str,
) -> AppResult<User> {
    let mut errors = ValidationErrors::new();
    let email = errors.check("email", Email::parse(email));
    let name = errors.check("name", PersonName::parse(name));
    let password = errors.check(
        "password",
        NewPassword::parse(password, email.as_ref(), &app.config.password_policy),
    );
    errors.into_result()?;
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(AppError::Internal("validated input missing".into()));
    };
    let at = now();
    Ok(User {
        id: UserId::new(),
        email: email.as_str().to_owned(),
        name: name.as_str().to_owned(),
        password_hash: app.hash_password(&password).await?,
        is_instance_admin: false,
        created_at: at,
        updated_at: at,
        two_factor: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_delays_start_after_five_failures_and_double_up_to_the_window() {
        let at = now();
        let failures = |n: usize| vec![at; n];
        assert_eq!(login_delay(&failures(0), at), None);
        assert_eq!(login_delay(&failures(4), at), None);
        assert_eq!(login_delay(&failures(5), at), Some(TimeDelta::seconds(30)));
        assert_eq!(login_delay(&failures(6), at), Some(TimeDelta::seconds(60)));
        assert_eq!(login_delay(&failures(8), at), Some(TimeDelta::seconds(240)));
        assert_eq!(login_delay(&failures(40), at), Some(THROTTLE_WINDOW));
        // The wait counts from the latest failure.
        let later = at + TimeDelta::seconds(20);
        assert_eq!(
            login_delay(&failures(5), later),
            Some(TimeDelta::seconds(10))
        );
        assert_eq!(login_delay(&failures(5), at + TimeDelta::seconds(31)), None);
    }
}
