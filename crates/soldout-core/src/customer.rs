//! Customers: who buys in a flash sale. A customer is known by a number and an email;
//! the email is normalised (trimmed, lower-cased) so one person cannot sign up twice
//! by changing the case.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Longest email we accept (RFC 5321's path limit).
pub const EMAIL_LEN_MAX: usize = 254;

/// A customer's number, assigned at sign-up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct CustomerId(pub i64);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "email {0:?} is not an address such as buyer@example.com (at most {EMAIL_LEN_MAX} characters)"
)]
pub struct EmailError(pub String);

/// A normalised email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let email = text.trim().to_lowercase();
        let bad = || EmailError(text.chars().take(60).collect());
        if email.chars().count() > EMAIL_LEN_MAX || email.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || !domain_ok {
            return Err(bad());
        }
        Ok(Email(email))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, EmailError> {
        Self::parse(&value)
    }
}
impl From<Email> for String {
    fn from(value: Email) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Buyer@Example.COM ").unwrap().as_str(),
            "buyer@example.com"
        );
        for bad in [
            "",
            "buyer",
            "@example.com",
            "buyer@",
            "buyer@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
