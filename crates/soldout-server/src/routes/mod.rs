//! One module per resource family; each handler parses, authorizes, calls the store
//! and the core, and answers. The router and the OpenAPI document are built from the
//! same list, so no route goes undocumented.

pub mod campaigns;
pub mod catalog;
pub mod clerks;
pub mod customers;
pub mod imports;
pub mod locations;
pub mod markets;
pub mod orders;
pub mod os;
pub mod payments;
pub mod reports;
pub mod sales;
pub mod shipments;
pub mod stores;
pub mod system;
pub mod transfers;

use crate::problem::Problem;

/// The security requirement every protected route declares in the OpenAPI document.
pub const BEARER: &str = "bearer";

/// Shorthand for a handler's result.
pub type ApiResult<T> = Result<T, Problem>;
