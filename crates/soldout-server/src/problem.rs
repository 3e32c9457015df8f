//! Errors as `application/problem+json` (RFC 9457). Every failure a caller can cause
//! becomes a [`Problem`] with a stable `type` URI, a `title`, and a `detail` that says
//! what to fix. Store and core errors map here, in one place; causes of 5xx answers
//! are logged, never sent.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use soldout_core::sale::Rejection;
use soldout_engine::EngineError;
use soldout_store::StoreError;
use utoipa::ToSchema;

/// Every problem `type` starts with this.
pub const PROBLEM_BASE: &str = "https://soldout.example/problems/";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem, such as `.../insufficient-stock`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary that is the same for every problem of this type.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What was wrong with this request, and how to fix it.
    pub detail: String,
    /// Where a request has several things wrong (an import's bad lines): each one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub errors: Option<Box<serde_json::Value>>,
    /// The request's id, as its `x-request-id` answer header says: quote it when
    /// asking about this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub request_id: Option<Box<str>>,
    #[serde(skip)]
    pub(crate) headers: Vec<(header::HeaderName, HeaderValue)>,
    /// The store failed under this answer: the metrics count it.
    #[serde(skip)]
    store_failed: bool,
}

/// Marks a response whose problem is a store failure, for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreFailed;

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            request_id: None,
            headers: Vec::new(),
            store_failed: false,
        }
    }

    /// Adds the list of everything that was wrong.
    pub fn with_errors(mut self, errors: serde_json::Value) -> Self {
        self.errors = Some(Box::new(errors));
        self
    }

    pub fn with_header(self, name: header::HeaderName, value: &'static str) -> Self {
        self.with_header_value(name, HeaderValue::from_static(value))
    }

    pub fn with_header_value(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
    /// The request body did not arrive in time: the connection is closed after this
    /// answer, since the rest of the body may still be on its way.
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request timeout",
            "the request body did not arrive in time; send it whole, promptly",
        )
        .with_header(header::CONNECTION, "close")
    }

    /// The database cannot be reached, or is too busy to take the change: nothing was
    /// changed, and the same request later may succeed.
    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "Database unavailable",
            "the database is unreachable or too busy; nothing was changed; retry after the Retry-After delay",
        )
        .with_header(header::RETRY_AFTER, "1")
    }

    /// The server is at its connection cap and this connection is not an operator's.
    pub fn connection_limit() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "connection-limit",
            "Too many connections",
            "the server is at its connection limit; retry in a moment",
        )
        .with_header(header::RETRY_AFTER, "1")
        .with_header(header::CONNECTION, "close")
    }

    /// One client address holds its share of the connections already.
    pub fn too_many_connections() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-connections",
            "Too many connections from your address",
            "close some of your connections to this server, then retry",
        )
    }

    /// One client address signed up too many customers lately.
    pub fn too_many_sign_ups(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-sign-ups",
            "Too many sign-ups from your address",
            "this address has signed up as many customers as it may for now; retry after the Retry-After delay",
        )
        .with_header_value(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)))
    }

    /// A body larger than the limit.
    pub fn payload_too_large(hint: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!(
                "the body is larger than the limit of {} bytes{hint}",
                crate::BODY_LIMIT_BYTES
            ),
        )
    }

    /// Reading the body failed: too large, too slow, or broken off.
    pub(crate) fn unreadable_body(
        rejection: &(dyn std::error::Error + 'static),
        status: StatusCode,
        hint: &str,
        detail: String,
    ) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::payload_too_large(hint)
        } else if crate::connections::BodyReadTimeout::caused(rejection) {
            Self::request_timeout()
        } else {
            Self::bad_request(detail)
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to handle this request; it has been logged, and nothing was changed unless the answer said so",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if self.request_id.is_none() {
            self.request_id = crate::request_id::current();
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        if self.store_failed {
            response.extensions_mut().insert(StoreFailed);
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Problem::not_found(e.to_string()),
            StoreError::AlreadyExists { .. } => Problem::new(
                StatusCode::CONFLICT,
                "already-exists",
                "Already exists",
                format!("{e}; choose another id, or read the existing one"),
            ),
            StoreError::Stock { .. } => Problem::new(
                StatusCode::CONFLICT,
                "insufficient-stock",
                "Not enough stock",
                e.to_string(),
            ),
            StoreError::Conflict { slug, detail } => {
                Problem::new(StatusCode::CONFLICT, slug, "Conflict", detail)
            }
            StoreError::Invalid(detail) => Problem::invalid(detail),
            StoreError::Rejected(r) => r.into(),
            StoreError::Unavailable(_) | StoreError::Contended(_) | StoreError::Fenced(_) => {
                tracing::warn!(error = %e, "database unavailable");
                Problem {
                    store_failed: true,
                    ..Problem::database_unavailable()
                }
            }
            StoreError::Config(_) | StoreError::Backend(_) => {
                tracing::error!(error = %e, "store failed");
                Problem {
                    store_failed: true,
                    ..Problem::internal()
                }
            }
        }
    }
}

impl From<Rejection> for Problem {
    fn from(r: Rejection) -> Self {
        let (status, title) = match r {
            Rejection::SoldOut => (StatusCode::CONFLICT, "Sold out"),
            Rejection::LimitReached { .. } => (StatusCode::CONFLICT, "Per-customer limit reached"),
            Rejection::NotRegistered => (StatusCode::FORBIDDEN, "Not registered"),
            Rejection::NotStarted { .. } | Rejection::FairStartPending => {
                (StatusCode::CONFLICT, "Sale not started")
            }
            Rejection::Ended { .. } => (StatusCode::CONFLICT, "Sale ended"),
            Rejection::RegistrationClosed { .. } => (StatusCode::CONFLICT, "Registration closed"),
            Rejection::IdempotencyMismatch { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key reused for another request",
            ),
            Rejection::UnknownOrder(_) => (StatusCode::NOT_FOUND, "Not found"),
            Rejection::NotCancellable { .. } => (StatusCode::CONFLICT, "Order cannot be cancelled"),
            Rejection::NotFulfillable { .. } => (StatusCode::CONFLICT, "Order cannot be fulfilled"),
            Rejection::SerialCount { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Serials do not match the order",
            ),
            Rejection::PaymentMismatch { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Payment does not match the order",
            ),
            Rejection::EventIdReused { .. } => (StatusCode::CONFLICT, "Event id reused"),
            Rejection::HoldLimit(_) => (StatusCode::CONFLICT, "Too much held unpaid"),
        };
        Problem::new(status, r.slug(), title, r.to_string())
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rejected(r) => r.into(),
            EngineError::UnknownSale(_) => Problem::not_found(e.to_string()),
            EngineError::Overloaded => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Overloaded",
                "the sale's queue is full; retry after the Retry-After delay",
            )
            .with_header(header::RETRY_AFTER, "1"),
            EngineError::Unavailable(_) => {
                tracing::warn!(error = %e, "engine unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the sale could not record this request; nothing was decided; retry with the same Idempotency-Key",
                )
                .with_header(header::RETRY_AFTER, "1")
            }
            EngineError::Invalid(detail) => Problem::invalid(detail),
            EngineError::NotLaunched(detail) => Problem::new(
                StatusCode::CONFLICT,
                "not-launched",
                "Not launched in this market",
                detail,
            ),
            EngineError::Store(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for Problem {
    /// What `axum::Json::from_bytes` refuses: bytes that are not JSON are a 400; JSON
    /// that does not fit the body's shape is a 422, as a wrong value is anywhere else.
    fn from(rejection: JsonRejection) -> Self {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::JsonSyntaxError(_) => Problem::bad_request(detail),
            _ => Problem::invalid(detail),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(_) => {
                Problem::invalid(format!("in the path: {}", rejection.body_text()))
            }
            _ => {
                tracing::error!(error = %rejection.body_text(), "a route's path parameters do not match its handler");
                Problem::internal()
            }
        }
    }
}

impl From<QueryRejection> for Problem {
    /// A query string that does not fit its parameters (a wrong type, a missing or
    /// unknown parameter) is a 422, as a body that does not fit is.
    fn from(rejection: QueryRejection) -> Self {
        Problem::invalid(format!("in the query string: {}", rejection.body_text()))
    }
}

pub mod extract;
