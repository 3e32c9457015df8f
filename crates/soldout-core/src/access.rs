//! Who is calling. Every authenticated request resolves to one `Principal`; routes
//! state what they require and the server answers 403 when the principal lacks it.
//! A role is a variant here and a role extractor beside the server's `AdminOnly`,
//! `CustomerOnly` and `ClerkOrAdmin`, not a new shape.

use crate::customer::CustomerId;
use crate::ids::LocationId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A store clerk's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct ClerkId(pub i64);

impl std::fmt::Display for ClerkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: every admin route.
    Admin,
    /// A signed-up buyer: their own registrations and orders.
    Customer(CustomerId),
    /// A clerk of one signature store: that store's stock, sales, transfers and
    /// pickups, nothing of any other store.
    Clerk { clerk: ClerkId, store: LocationId },
}

impl Principal {
    /// The role's name, for logs and problem details.
    pub fn role(&self) -> &'static str {
        match self {
            Principal::Admin => "admin",
            Principal::Customer(_) => "customer",
            Principal::Clerk { .. } => "clerk",
        }
    }

    /// Whether this caller may see and act on `location`'s stock and sales: an
    /// admin everywhere, a clerk only in their own store.
    pub fn may_act_at(&self, location: &LocationId) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Clerk { store, .. } => store == location,
            Principal::Customer(_) => false,
        }
    }
}

/// A store clerk as the company keeps them. A revoked clerk's token and sessions stop
/// working at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Clerk {
    pub id: ClerkId,
    #[schema(example = "store-in-delhi")]
    pub store: LocationId,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When an admin revoked the clerk, if one did.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How long a dashboard session lives: it ends after `idle_secs` without a request,
/// and `absolute_secs` after sign-in however busy it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

impl Default for SessionPolicy {
    /// Half an hour idle, twelve hours in all: a shift at the counter.
    fn default() -> Self {
        SessionPolicy {
            idle_secs: 30 * 60,
            absolute_secs: 12 * 3600,
        }
    }
}

/// Seconds between two writes of a session's last use: a busy page does not write on
/// every request.
pub const SESSION_TOUCH_SECS: i64 = 60;

impl SessionPolicy {
    /// Whether a session created at `created_at` and last used at `last_seen` is live
    /// at `now`.
    pub fn live(
        &self,
        created_at: chrono::DateTime<chrono::Utc>,
        last_seen: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        (now - created_at).num_seconds() < self.absolute_secs
            && (now - last_seen).num_seconds() < self.idle_secs
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.idle_secs < 60 || self.absolute_secs < self.idle_secs {
            return Err(format!(
                "a session's idle expiry ({} s) must be at least a minute and no longer than its absolute expiry ({} s)",
                self.idle_secs, self.absolute_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_session_ends_when_idle_and_when_old() {
        let policy = SessionPolicy {
            idle_secs: 600,
            absolute_secs: 3600,
        };
        let signed_in = Utc.with_ymd_and_hms(2017, 7, 4, 9, 0, 0).unwrap();
        let at = |mins| signed_in + Duration::minutes(mins);
        assert!(policy.live(signed_in, signed_in, at(9)));
        assert!(
            !policy.live(signed_in, signed_in, at(10)),
            "idle 10 minutes"
        );
        assert!(policy.live(signed_in, at(50), at(59)));
        assert!(!policy.live(signed_in, at(59), at(60)), "an hour in all");
        assert!(policy.validate().is_ok());
        assert!(SessionPolicy {
            idle_secs: 7200,
            absolute_secs: 3600
        }
        .validate()
        .is_err());
    }
}
