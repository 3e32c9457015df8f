//! Every request's id: the caller's `x-request-id` when it is well formed (1 to 64
//! letters, digits, `-`, `_`, `.` or `:`), else a new random one. The answer carries it
//! back, the access log names it, and a problem document made while answering holds it
//! as `request_id` (it is known to the request's task, so no handler passes it along).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::future::Future;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// The id `headers` bring, if well formed, or a new one.
pub(crate) fn of(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID)
        .filter(|v| well_formed(v.as_bytes()))
        .cloned()
        .unwrap_or_else(made)
}

fn well_formed(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

fn made() -> HeaderValue {
    let id = format!("{:032x}", rand::random::<u128>());
    HeaderValue::from_str(&id).expect("hex digits make a header value")
}

/// Runs `answer` with `id` as the current request's id.
pub(crate) fn scope<F: Future>(id: HeaderValue, answer: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(id, answer)
}

/// The current request's id, inside [`scope`].
pub(crate) fn current() -> Option<Box<str>> {
    CURRENT
        .try_with(|id| id.to_str().ok().map(Box::from))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_id_is_kept_and_any_other_replaced() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(value).unwrap());
            of(&headers)
        };
        assert_eq!(with("req-7f3a:1.2_b"), "req-7f3a:1.2_b");
        for bad in ["", "has space", "semi;colon", &"x".repeat(65), "ünï"] {
            let Ok(value) = HeaderValue::from_str(bad) else {
                continue;
            };
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, value);
            let made = of(&headers);
            assert_ne!(made.as_bytes(), bad.as_bytes());
            assert_eq!(made.len(), 32);
        }
        assert_ne!(of(&HeaderMap::new()), of(&HeaderMap::new()));
    }
}
