//! Who is calling. Every authenticated request resolves to one `Principal`; routes
//! state what they require and the server answers 403 when the principal lacks it.
//! Later roles (a clerk scoped to one store, a customer, a device) are new variants
//! here and new checks beside [`Principal::is_admin`], not a new shape.

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
    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin)
    }

    /// The role's name, for logs and problem details.
    pub fn role(&self) -> &'static str {
        match self {
            Principal::Admin => "admin",
            Principal::Customer(_) => "customer",
        }
    }
}
