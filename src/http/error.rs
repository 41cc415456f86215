//! The one error type of the HTTP edge: each variant maps to a status and a
//! safe message; internal causes are logged, never shown.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found")]
    NotFound,
    /// A thing the request names (a ticket, a slot) does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// A request to a Slack endpoint without Slack's valid signature.
    #[error("the request is not signed by Slack")]
    NotSignedBySlack,
    /// No credentials, or ones deskbell does not know.
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("a valid token is required")]
    Forbidden,
    #[error("the request is too large")]
    TooLarge,
    /// The request was understood but its content is wrong, item by item.
    #[error("the request has errors")]
    Unprocessable(Vec<String>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::Missing(what),
            other => Self::Internal(other.into()),
        }
    }
}

/// A person's request the workflow refused is theirs to fix: 422 with the
/// reason; a missing ticket 404.
impl From<crate::workflow::Error> for HttpError {
    fn from(e: crate::workflow::Error) -> Self {
        use crate::workflow::Error;
        match e {
            Error::Missing(what) => Self::Missing(what),
            Error::Internal(e) => Self::Internal(e.into()),
            Error::Invalid(problems) => Self::Unprocessable(problems),
            told => Self::Unprocessable(told.for_people().into_iter().collect()),
        }
    }
}

impl From<crate::templates::TemplateError> for HttpError {
    fn from(e: crate::templates::TemplateError) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "not found").into_response(),
            Self::Missing(what) => (StatusCode::NOT_FOUND, format!("{what} does not exist")).into_response(),
            Self::NotSignedBySlack => (
                StatusCode::UNAUTHORIZED,
                "the request is not signed by Slack (X-Slack-Signature over X-Slack-Request-Timestamp, within five minutes)",
            )
                .into_response(),
            Self::Unauthorized => {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a valid bearer token is required")
                    .into_response()
            }
            Self::Forbidden => (StatusCode::FORBIDDEN, "not allowed").into_response(),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "the request is too large").into_response(),
            Self::Unprocessable(errors) => {
                (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(serde_json::json!({ "errors": errors }))).into_response()
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong; please try again later").into_response()
            }
        }
    }
}
