//! What a use case can answer instead of doing what was asked. The HTTP layer maps each variant to
//! a status and an RFC 9457 problem document; the UI to a message next to the field.

use rapport_domain::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Well-formed input that breaks a field rule (422).
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// Missing, expired or invalid credentials (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The password was right, and the account asks for its second factor too (401
    /// `two_factor_required`). `ticket` lets a browser give the code without the password again.
    #[error(
        "this account uses two-factor authentication; give the code from the authenticator app, or a recovery code"
    )]
    TwoFactorRequired { ticket: String },
    /// The second factor given is not a current code nor an unused recovery code (401
    /// `invalid_two_factor_code`).
    #[error(
        "that code is not valid; use the current code from your authenticator app, or an unused recovery code"
    )]
    TwoFactorInvalid,
    /// The organization requires two-factor authentication and the person has not turned it on
    /// (403 `two_factor_enrollment_required`).
    #[error(
        "this organization requires two-factor authentication; turn it on in your profile to continue"
    )]
    TwoFactorEnrollmentRequired,
    /// A single sign-on was refused (403 `sign_in_refused`), in words for the person.
    #[error("{0}")]
    SignInRefused(String),
    /// An account-wide change asked with a sign-in confined to one organization by its single
    /// sign-on (403 `whole_account_required`).
    #[error(
        "you signed in through an organization's single sign-on, which reaches that organization only; sign in with your email and password to change your account"
    )]
    WholeAccountRequired,
    /// The organization lets members other than owners in only through its single sign-on
    /// (403 `single_sign_on_required`).
    #[error("this organization requires signing in through its single sign-on")]
    SingleSignOnRequired,
    /// Authenticated but not allowed (403 `forbidden`).
    #[error("you do not have permission to do this")]
    Forbidden,
    /// A change writes fields the role may not (hidden from it, or read-only for it): 403
    /// `field_forbidden`, naming each field.
    #[error("your role may not change {}", field_names(.0))]
    FieldForbidden(ValidationErrors),
    /// The organization is suspended (403 `organization_suspended`).
    #[error("this organization is suspended; contact the platform's administrators")]
    OrganizationSuspended,
    /// No such thing in this organization (404).
    #[error("not found")]
    NotFound,
    /// A business rule refuses the change (409), named by `code`.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A field's type change would lose `count` stored values (409 `field_type_conversion`,
    /// with `count` in the problem document).
    #[error("{message}")]
    NotConvertible { message: String, count: i64 },
    /// The request lacks something it needs (400), named by `code`.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// An uploaded file is larger than the instance allows (413 `file_too_large`).
    #[error("the file is larger than {} MB", .limit / 1_000_000)]
    FileTooLarge { limit: u64 },
    /// An uploaded file's content is of a type not accepted (415 `unsupported_file_type`).
    #[error("{0}")]
    UnsupportedFileType(String),
    /// A signed link's time is up (410 `link_expired`).
    #[error("this link has expired; ask for a new one")]
    LinkExpired,
    /// Too many attempts (429); try again after that many seconds.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database is saturated (no free connection in time, a statement past its timeout):
    /// 503 with `Retry-After`; the caller should try again shortly.
    #[error("the service is busy; try again in {retry_after_secs} seconds")]
    Busy { retry_after_secs: u64 },
    /// Something broke that the caller cannot fix (500). Logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// The fields named by errors, joined: "amount, deposit".
fn field_names(errors: &ValidationErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| e.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl AppError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(ValidationErrors::single(field, message))
    }
}

impl From<rapport_store::Error> for AppError {
    fn from(error: rapport_store::Error) -> Self {
        match error {
            rapport_store::Error::NotFound => AppError::NotFound,
            rapport_store::Error::Busy => {
                tracing::warn!("database busy: answering 503");
                AppError::Busy {
                    retry_after_secs: 2,
                }
            }
            rapport_store::Error::NulInText => AppError::invalid(
                "input",
                rapport_domain::validation::forbidden_character_message('\0'),
            ),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        AppError::Validation(errors)
    }
}
