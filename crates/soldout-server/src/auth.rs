//! Bearer-token authentication. A request's `Authorization: Bearer <token>` resolves
//! to a [`Principal`]; routes then require a role with an extractor such as
//! [`AdminOnly`]. A missing or unknown token is a 401, a known token with the wrong
//! role a 403. New roles add a resolver here and an extractor beside `AdminOnly`.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use soldout_core::Principal;
use subtle::ConstantTimeEq;

/// Longest token we read, in bytes.
const TOKEN_LEN_MAX: usize = 512;

/// The secrets that identify callers.
#[derive(Clone)]
pub struct Tokens {
    admin: String,
}

impl Tokens {
    pub fn new(admin: String) -> Self {
        assert!(!admin.is_empty(), "the admin token must not be empty");
        Tokens { admin }
    }

    /// A fresh random admin token: 32 bytes from the OS, hex.
    pub fn generate_admin_token() -> String {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn resolve(&self, token: &str) -> Option<Principal> {
        let admin = self.admin.as_bytes();
        let given = token.as_bytes();
        (given.len() == admin.len() && bool::from(given.ct_eq(admin))).then_some(Principal::Admin)
    }
}

/// Any authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            Problem::unauthorized("this route needs a token: send Authorization: Bearer <token>")
        })?;
        let token = header
            .to_str()
            .ok()
            .filter(|h| h.len() <= TOKEN_LEN_MAX)
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be: Bearer <token>")
            })?;
        state
            .tokens
            .resolve(token)
            .map(Caller)
            .ok_or_else(|| Problem::unauthorized("the token is not valid"))
    }
}

/// A caller with the admin role.
pub struct AdminOnly;

impl FromRequestParts<AppState> for AdminOnly {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        if principal.is_admin() {
            Ok(AdminOnly)
        } else {
            Err(Problem::forbidden(format!(
                "this route is for admins; your token has the {} role",
                principal.role()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_admin_token_resolves() {
        let tokens = Tokens::new("s3cret".into());
        assert_eq!(tokens.resolve("s3cret"), Some(Principal::Admin));
        assert_eq!(tokens.resolve("s3cre"), None);
        assert_eq!(tokens.resolve("s3cret!"), None);
        assert_eq!(tokens.resolve(""), None);
    }

    #[test]
    fn generated_tokens_differ() {
        let a = Tokens::generate_admin_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, Tokens::generate_admin_token());
    }
}
