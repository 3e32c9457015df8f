//! Who is calling. Every authenticated request resolves to one `Principal`; routes
//! state what they require and the server answers 403 when the principal lacks it.
//! Later roles (a clerk scoped to one store, a device) are new variants here and a
//! role extractor beside the server's `AdminOnly` and `CustomerOnly`, not a new shape.

use crate::customer::CustomerId;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: every admin route.
    Admin,
    /// A signed-up buyer: their own registrations and orders.
    Customer(CustomerId),
}

impl Principal {
    /// The role's name, for logs and problem details.
    pub fn role(&self) -> &'static str {
        match self {
            Principal::Admin => "admin",
            Principal::Customer(_) => "customer",
        }
    }
}
