//! One error type for every handler, rendered as an RFC 9457 problem document, or as an HTML page
//! when a browser asked for a page.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use rapport_app::AppError;
use rapport_domain::FieldError;
use serde::Serialize;

/// An RFC 9457 problem document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:rapport:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable, machine-readable name for the problem (`validation_failed`, `last_owner`, …).
    pub code: String,
    /// Every invalid field, on 422 `validation_failed`; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemFieldError>, required = false)]
    pub errors: Vec<FieldError>,
    /// How many stored values stand in the way, on 409 `field_type_conversion`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

/// One invalid field of a 422 problem.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct ProblemFieldError {
    /// The field's name, dotted for nested ones (`values.size`).
    field: String,
    message: String,
}

/// What a handler returns when it does not succeed.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    pub count: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            count: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such resource in this organization",
        )
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you do not have permission to do this",
        )
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the input is not valid",
        );
        e.errors.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
        e
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:rapport:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            count: self.count,
        }
    }

    /// The same error as a page, for browsers.
    pub fn into_html_response(self) -> Response {
        let problem = self.problem();
        let body = crate::pages::error_page(problem.status, &problem.title, &problem.detail);
        let mut response = (self.status, Html(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(errors) => {
                let mut e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "the input is not valid",
                );
                e.errors = errors.0;
                e
            }
            AppError::Unauthenticated(detail) => ApiError::unauthenticated(detail),
            e @ AppError::TwoFactorRequired { .. } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "two_factor_required",
                e.to_string(),
            ),
            e @ AppError::TwoFactorInvalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_two_factor_code",
                e.to_string(),
            ),
            e @ AppError::TwoFactorEnrollmentRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "two_factor_enrollment_required",
                e.to_string(),
            ),
            AppError::SignInRefused(message) => {
                ApiError::new(StatusCode::FORBIDDEN, "sign_in_refused", message)
            }
            e @ AppError::SingleSignOnRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "single_sign_on_required",
                e.to_string(),
            ),
            e @ AppError::WholeAccountRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "whole_account_required",
                e.to_string(),
            ),
            AppError::Forbidden => ApiError::forbidden(),
            AppError::FieldForbidden(errors) => {
                let mut e = ApiError::new(
                    StatusCode::FORBIDDEN,
                    "field_forbidden",
                    "your role may not change these fields",
                );
                e.errors = errors.0;
                e
            }
            AppError::OrganizationSuspended => ApiError::new(
                StatusCode::FORBIDDEN,
                "organization_suspended",
                "this organization is suspended; contact the platform's administrators",
            ),
            AppError::NotFound => ApiError::not_found(),
            AppError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            AppError::BadRequest { code, message } => ApiError::bad_request(code, message),
            e @ AppError::FileTooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                e.to_string(),
            ),
            e @ AppError::LinkExpired => {
                ApiError::new(StatusCode::GONE, "link_expired", e.to_string())
            }
            AppError::UnsupportedFileType(message) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_file_type",
                message,
            ),
            AppError::NotConvertible { message, count } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, "field_type_conversion", message);
                e.count = Some(count);
                e
            }
            AppError::TooManyRequests { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    format!(
                        "too many attempts; try again in {} minute(s)",
                        retry_after_secs.div_ceil(60)
                    ),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            AppError::Busy { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_busy",
                    "the service is busy right now; try again in a moment",
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            AppError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "something went wrong on our side",
                )
            }
        }
    }
}

impl From<rapport_app::model::StoreError> for ApiError {
    fn from(error: rapport_app::model::StoreError) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, headers, body).into_response();
        // Let the HTML fallback know this response can be re-rendered as a page.
        response.extensions_mut().insert(ProblemMarker(problem));
        response
    }
}

/// Attached to problem responses so the browser-error middleware can render them as HTML.
#[derive(Clone, Debug)]
pub struct ProblemMarker(pub Problem);

pub type ApiResult<T> = Result<T, ApiError>;
