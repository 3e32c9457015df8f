//! The pure domain of soldout: markets and money, the catalog, launches, stock
//! locations and the stock ledger's rules, flash sales, the point of sale, returns,
//! transfers, campaigns, and who may do what.
//!
//! Nothing here does I/O, reads a clock or draws a random number: the current time
//! (`now`) and any randomness are passed in. That keeps every rule testable by plain
//! unit tests and, later, by deterministic simulation.

pub mod access;
pub mod campaign;
pub mod catalog;
pub mod customer;
pub mod device;
pub mod discrepancy;
pub mod fx;
pub mod ids;
pub mod launch;
pub mod lineup;
pub mod money;
pub mod order;
pub mod pos;
pub mod report;
pub mod rollout;
pub mod sale;
pub mod shipment;
pub mod stock;
pub mod tracker;
pub mod transfer;
pub mod version;

pub use access::{Clerk, ClerkId, Principal, SessionPolicy};
pub use catalog::{Market, NewMarket, NewProduct, NewSku, Product, Sku, Specs};
pub use customer::{CustomerId, Email};
pub use ids::{
    LocationId, MarketCode, ProductId, ReleaseId, RolloutId, Serial, SkuCode, TextError,
};
pub use launch::{Launch, LaunchError, LaunchStatus};
pub use lineup::{Lineup, LineupEntry, LineupProduct, LineupSku};
pub use money::{display_amount, Amount, Currency, CurrencyError};
pub use stock::{
    LevelDelta, Location, LocationKind, Movement, MovementKind, NewLocation, NewMovement,
    StockError, StockLevels, StockLine, QUANTITY_MAX,
};
pub use version::{OsVersion, VersionError};
