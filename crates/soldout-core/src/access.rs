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
