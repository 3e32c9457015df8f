//! The one interface to persistence. Each method is one transaction: it either
//! happens whole or not at all.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use soldout_core::sale::{SaleId, SaleTerms};
use soldout_core::{
    CustomerId, Email, Launch, LineupEntry, Location, LocationId, Market, MarketCode, Movement,
    NewMovement, Product, ProductId, Sku, SkuCode, StockLine,
};

/// Most movements one page of the ledger holds.
pub const MOVEMENTS_PAGE_MAX: u32 = 1_000;

/// A page of a location's ledger, oldest first.
#[derive(Debug, Clone)]
pub struct MovementPage {
    pub movements: Vec<Movement>,
    /// Pass as `after` to read the next page; `None` at the end of the ledger.
    pub next_after: Option<i64>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Markets.
    async fn create_market(&self, market: &Market) -> Result<(), StoreError>;
    async fn markets(&self) -> Result<Vec<Market>, StoreError>;
    async fn market(&self, code: &MarketCode) -> Result<Option<Market>, StoreError>;

    // Catalog.
    /// Creates a product with its SKUs; a taken product id or SKU code is refused.
    async fn create_product(&self, product: &Product) -> Result<(), StoreError>;
    async fn products(&self) -> Result<Vec<Product>, StoreError>;
    async fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError>;
    async fn add_sku(&self, sku: &Sku) -> Result<(), StoreError>;
    /// Sets a SKU's price in a market, in minor units of the market's currency.
    async fn set_price(
        &self,
        market: &MarketCode,
        sku: &SkuCode,
        amount: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Creates or replaces a product's launch dates in a market.
    async fn put_launch(
        &self,
        product: &ProductId,
        market: &MarketCode,
        launch: &Launch,
    ) -> Result<(), StoreError>;
    /// Every product launched in a market, with its launch and its prices there.
    async fn lineup(&self, market: &MarketCode) -> Result<Vec<LineupEntry>, StoreError>;

    // Stock.
    async fn create_location(&self, location: &Location) -> Result<(), StoreError>;
    async fn locations(&self) -> Result<Vec<Location>, StoreError>;
    async fn location(&self, id: &LocationId) -> Result<Option<Location>, StoreError>;
    /// Records movements in one transaction, all or none, applying the core's stock
    /// rules to each against the levels as they stand at that moment, so concurrent
    /// callers cannot together drive a level below zero.
    async fn record_movements(
        &self,
        movements: &[NewMovement],
    ) -> Result<Vec<Movement>, StoreError>;
    /// A location's levels per SKU, for every SKU it has ever held.
    async fn stock(&self, location: &LocationId) -> Result<Vec<StockLine>, StoreError>;
    /// A location's movements with an id above `after`, oldest first.
    async fn movements(
        &self,
        location: &LocationId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<MovementPage, StoreError>;

    // Customers.
    /// Signs a customer up; an email already registered is refused.
    async fn create_customer(
        &self,
        email: &Email,
        at: DateTime<Utc>,
    ) -> Result<CustomerId, StoreError>;

    /// Signs many customers up in one transaction, all or none; for imports and the
    /// demo's simulated buyers.
    async fn create_customers(
        &self,
        emails: &[Email],
        at: DateTime<Utc>,
    ) -> Result<Vec<CustomerId>, StoreError>;

    // Flash sales.
    /// Creates a sale and allots its units from the location's available stock in the
    /// same transaction; returns the terms with their new id.
    async fn create_sale(&self, terms: &SaleTerms) -> Result<SaleTerms, StoreError>;
    /// Every sale, oldest first.
    async fn sales(&self) -> Result<Vec<SaleTerms>, StoreError>;
    /// Appends one group commit to a sale's journal, with the stock movements its
    /// events cause, in one durable transaction. `batch` numbers must increase by one;
    /// a repeated number is refused, so two writers can never both append.
    async fn append_sale_batch(
        &self,
        sale: SaleId,
        batch: i64,
        events: u32,
        body: &[u8],
        movements: &[NewMovement],
    ) -> Result<(), StoreError>;
    /// A sale's journal, in order: `(batch, body)`.
    async fn sale_journal(&self, sale: SaleId) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;

    // Settings and markers.
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
}
