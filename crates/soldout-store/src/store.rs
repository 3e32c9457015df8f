//! The one interface to persistence. Each method is one transaction: it either
//! happens whole or not at all.

use crate::leases::{DrawEntries, Lease, LeasedBuy, LeasedOutcome, PoolState, SaleSignal};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use soldout_core::campaign::Campaign;
use soldout_core::device::{Device, Refund, ReturnCondition};
use soldout_core::discrepancy::Discrepancy;
use soldout_core::fx::FxRate;
use soldout_core::order::{
    Fulfillment, HandedOver, HoldPolicy, OnlineOrder, OrderLine, PaymentReport,
};
use soldout_core::pos::{PosPayment, Receipt};
use soldout_core::report::TotalRow;
use soldout_core::rollout::{Release, RolloutEvent, RolloutTerms};
use soldout_core::sale::draw::HeldBuy;
use soldout_core::sale::{Order, OrderId, PaymentOutcome, SaleId, SaleTerms};
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::tracker::TrackerRow;
use soldout_core::transfer::{NewTransfer, Transfer, UnitCount};
use soldout_core::{
    Amount, Clerk, ClerkId, Currency, CustomerId, Email, Launch, LineupEntry, Location, LocationId,
    Market, MarketCode, Movement, NewMovement, OsVersion, Principal, Product, ProductId, RolloutId,
    Serial, SessionPolicy, Sku, SkuCode, StockLine,
};

/// A device as rollouts see it: what it is, where it is, and what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredDevice {
    pub serial: Serial,
    pub product: ProductId,
    pub market: MarketCode,
    pub os_version: OsVersion,
    pub os_base: Option<String>,
}

/// One device of the installed base to import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedDevice {
    pub serial: Serial,
    pub sku: SkuCode,
    pub market: MarketCode,
    pub os_version: OsVersion,
    pub sold_at: DateTime<Utc>,
}

/// What a device runs now: the version it checked in with, or a build it installed
/// (with that build's Android base).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceVersion {
    pub serial: Serial,
    pub os_version: OsVersion,
    pub os_base: Option<String>,
}

/// Most movements one page of the ledger holds.
pub const MOVEMENTS_PAGE_MAX: u32 = 1_000;

/// A page of a location's ledger, oldest first.
#[derive(Debug, Clone)]
pub struct MovementPage {
    pub movements: Vec<Movement>,
    /// Pass as `after` to read the next page; `None` at the end of the ledger.
    pub next_after: Option<i64>,
}

/// A point-of-sale sale, priced and checked against the catalog, to record.
#[derive(Debug, Clone)]
pub struct PosSaleRecord {
    pub store: LocationId,
    pub market: MarketCode,
    pub currency: Currency,
    pub clerk: Option<ClerkId>,
    pub client_id: String,
    /// Fingerprint of the request: the same `client_id` with another one is refused.
    pub request_hash: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// Synced after the fact: too little stock on record becomes a discrepancy
    /// instead of a refusal.
    pub offline: bool,
    pub payment: PosPayment,
    pub lines: Vec<PricedLine>,
}

#[derive(Debug, Clone)]
pub struct PricedLine {
    pub sku: SkuCode,
    pub product: ProductId,
    /// The product's shipped OS version, which its devices start with.
    pub os_version: OsVersion,
    pub unit_price: Amount,
    pub campaign: Option<i64>,
    pub serials: Vec<Serial>,
    /// Whether the product could be sold in the market at `occurred_at`; an offline
    /// sale of one that could not raises a discrepancy.
    pub launched: bool,
}

/// What recording a point-of-sale sale came to.
#[derive(Debug, Clone)]
pub enum PosOutcome {
    /// Recorded now.
    Recorded(Receipt),
    /// The store had already recorded a sale with this `client_id`: that one.
    Duplicate(Receipt),
}

/// A regular online order to place: priced, its units to be reserved at the first
/// of `candidates` that has them all available.
#[derive(Debug, Clone)]
pub struct NewOnlineOrder {
    pub id: OrderId,
    pub customer: CustomerId,
    /// Fingerprint of the customer's idempotency key.
    pub key: u128,
    /// Fingerprint of the request, to tell a replay from a reused key.
    pub request_hash: i64,
    pub market: MarketCode,
    pub currency: Currency,
    pub fulfillment: Fulfillment,
    pub candidates: Vec<LocationId>,
    pub lines: Vec<OrderLine>,
    pub created_at: DateTime<Utc>,
    pub pay_by: DateTime<Utc>,
    /// What one customer may hold unpaid: checked against what they hold in the
    /// order's own transaction.
    pub caps: HoldPolicy,
}

/// What an import brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Shipments,
    Tracker,
    Fx,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Shipments => "shipments",
            ImportKind::Tracker => "tracker",
            ImportKind::Fx => "fx",
        }
    }
}

/// Some rows of an import.
#[derive(Debug, Clone)]
pub enum ImportChunk {
    Shipments(Vec<Shipment>),
    Tracker(Vec<TrackerRow>),
    Fx(Vec<FxRate>),
}

impl ImportChunk {
    pub fn len(&self) -> usize {
        match self {
            ImportChunk::Shipments(rows) => rows.len(),
            ImportChunk::Tracker(rows) => rows.len(),
            ImportChunk::Fx(rows) => rows.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A return to record: the device must still be sold on `sold_on` when it commits.
#[derive(Debug, Clone)]
pub struct ReturnRecord {
    pub store: LocationId,
    pub serial: Serial,
    pub sold_on: String,
    pub reason: String,
    pub condition: ReturnCondition,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Asks the database one trivial question: whether it answers at all.
    async fn ping(&self) -> Result<(), StoreError>;

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
    /// Every price set in a market, by SKU, launched or not.
    async fn prices(
        &self,
        market: &MarketCode,
    ) -> Result<std::collections::HashMap<SkuCode, Amount>, StoreError>;
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

    /// A signed-up customer's email.
    async fn customer(&self, id: CustomerId) -> Result<Option<Email>, StoreError>;
    /// Signs many customers up in one transaction, all or none; for imports and the
    /// demo's simulated buyers.
    async fn create_customers(
        &self,
        emails: &[Email],
        at: DateTime<Utc>,
    ) -> Result<Vec<CustomerId>, StoreError>;

    // Flash sales.
    /// Creates a sale and allots its units from the location's available stock in the
    /// same transaction; returns the terms with their new id. A `leased` sale is sold
    /// by any number of nodes through allotment leases (its orders are rows); any
    /// other from its journal by one owner.
    async fn create_sale(&self, terms: &SaleTerms, leased: bool) -> Result<SaleTerms, StoreError>;
    /// Every sale, oldest first.
    async fn sales(&self) -> Result<Vec<SaleTerms>, StoreError>;
    /// Appends one group commit to a sale's journal, with the stock movements its
    /// events cause and the devices they hand over, in one durable transaction. `batch` numbers must increase by one;
    /// a repeated number is refused, so two writers can never both append.
    async fn append_sale_batch(
        &self,
        sale: SaleId,
        batch: i64,
        events: u32,
        body: &[u8],
        movements: &[NewMovement],
        devices: &[Device],
    ) -> Result<(), StoreError>;
    /// Refuses if one of `serials` is sold and not returned.
    async fn check_serials_free(&self, serials: &[Serial]) -> Result<(), StoreError>;
    /// A sale's journal, in order: `(batch, body)`.
    async fn sale_journal(&self, sale: SaleId) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;

    // Leased sales: one sale sold by several nodes.
    /// Leases `want` more of a sale's units to `node` (fewer when the pool has fewer;
    /// none once it has ended) and renews its lease, after taking back every lease
    /// that expired on the database's clock. A node with no live lease gets a new
    /// epoch. The boolean is true when the pool changed for the others (units taken
    /// back, or nothing left anywhere).
    async fn lease_units(
        &self,
        sale: SaleId,
        node: &str,
        want: u32,
        ttl_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<(Lease, bool), StoreError>;
    /// Gives back all but `keep` of a node's unsold leased units (ending the lease
    /// when `keep` is 0); returns how many went back.
    async fn return_lease(
        &self,
        sale: SaleId,
        node: &str,
        epoch: i64,
        keep: u32,
    ) -> Result<u32, StoreError>;
    /// Commits a node's batch of buys under its lease, renewing it; `Fenced` when the
    /// lease is not live under `epoch`, and then nothing is written.
    async fn commit_leased_batch(
        &self,
        terms: &SaleTerms,
        node: &str,
        epoch: i64,
        ttl_ms: i64,
        buys: &[LeasedBuy],
    ) -> Result<Vec<LeasedOutcome>, StoreError>;
    /// A leased sale's pool and counters; `None` for a sale sold from its journal.
    async fn pool_state(&self, sale: SaleId) -> Result<Option<PoolState>, StoreError>;
    /// Every idempotency key that placed an order in a leased sale.
    async fn leased_keys(&self, sale: SaleId) -> Result<Vec<u128>, StoreError>;
    async fn leased_order(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
    async fn leased_order_by_key(
        &self,
        sale: SaleId,
        key: u128,
    ) -> Result<Option<Order>, StoreError>;
    /// What the database already says about buys this node cannot place from its
    /// lease: a key that bought before (a replay or a mismatch), a customer the buy
    /// would take over the limit; `None` for a buy that only lacks units.
    async fn leased_standing(
        &self,
        terms: &SaleTerms,
        buys: &[LeasedBuy],
    ) -> Result<Vec<Option<LeasedOutcome>>, StoreError>;
    /// The changes of a leased sale's units held, in time order (placed: more;
    /// cancelled or expired: fewer), from which a node draws the sale's curve.
    async fn leased_curve(&self, sale: SaleId) -> Result<Vec<(DateTime<Utc>, i64)>, StoreError>;
    /// Enters buys held for a leased sale's fair-start draw (a key entered before, on
    /// any node, keeps its first entry); false when the draw's entries are already
    /// closed, and nothing was entered.
    async fn enter_draw(
        &self,
        sale: SaleId,
        node: &str,
        buys: &[HeldBuy],
    ) -> Result<bool, StoreError>;
    /// Closes the draw's entries with `proposed` unless a seed closed them before, and
    /// reads them: every node gets the same seed and entries.
    async fn close_draw(&self, terms: &SaleTerms, proposed: u64)
        -> Result<DrawEntries, StoreError>;
    /// Writes the draw's orders, once: false when a node wrote them before.
    async fn record_draw(
        &self,
        terms: &SaleTerms,
        node: &str,
        placed: &[LeasedBuy],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Registers a customer for a leased sale; true when new.
    async fn register_leased(&self, sale: SaleId, customer: CustomerId)
        -> Result<bool, StoreError>;
    /// Claims the report's event id and applies it to its leased order, in one
    /// transaction; a replay answers with the order as it stands.
    async fn pay_leased_order(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError>;
    async fn cancel_leased_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError>;
    /// Expires a leased sale's reserved orders past `pay_by`, each once whichever node
    /// asks; returns how many.
    async fn expire_leased_orders(
        &self,
        sale: SaleId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    async fn next_leased_expiry(&self, sale: SaleId) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Ends a leased sale once (true the first time): the leases are taken back and
    /// the unsold units go back to the location.
    async fn end_leased_sale(&self, sale: SaleId, at: DateTime<Utc>) -> Result<bool, StoreError>;
    async fn fulfil_leased_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        devices: &[Device],
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError>;
    /// Signals about sales from every node (this one's included).
    fn sale_signals(&self) -> tokio::sync::broadcast::Receiver<SaleSignal>;
    /// Sends a signal to every node.
    async fn signal(&self, signal: SaleSignal);

    // Who may act.
    /// Starts a dashboard session for the admin (`clerk` is `None`) or a clerk; only
    /// the hash of its id is kept. Sessions that can no longer be live are removed.
    async fn create_session(
        &self,
        id_hash: &str,
        clerk: Option<ClerkId>,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<(), StoreError>;
    /// Who a session is, if it is live at `now` (and its clerk not revoked); a use
    /// keeps it from going idle.
    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<Option<Principal>, StoreError>;
    /// Ends a session (signing out).
    async fn end_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Revokes a clerk (once: a second revocation keeps the first instant) and ends
    /// their sessions.
    async fn revoke_clerk(&self, clerk: ClerkId, at: DateTime<Utc>) -> Result<Clerk, StoreError>;
    /// Clerks, of one store when given, by id.
    async fn clerks(&self, store: Option<&LocationId>) -> Result<Vec<Clerk>, StoreError>;

    // Payments.
    /// Records a payment provider's event the first time its id is seen (`true`);
    /// the same id again is a replay (`false`) only if it carries the same report,
    /// and is refused (`event-id-reused`) otherwise.
    async fn claim_payment_event(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // Signature stores.
    /// Creates a clerk of a store.
    async fn create_clerk(
        &self,
        store: &LocationId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<ClerkId, StoreError>;
    /// Records a point-of-sale sale whole: its stock movements (refused when stock
    /// is short, unless offline), its devices (a serial sold and not returned is
    /// refused), its discrepancies. A `client_id` the store has used before records
    /// nothing and returns the earlier receipt; with another sale behind it, it is
    /// refused (`client-id-reused`).
    async fn record_pos_sale(&self, sale: &PosSaleRecord) -> Result<PosOutcome, StoreError>;
    /// A store's receipts, newest first, at most `limit`.
    async fn pos_sales(&self, store: &LocationId, limit: u32) -> Result<Vec<Receipt>, StoreError>;
    async fn device(&self, serial: &Serial) -> Result<Option<Device>, StoreError>;
    /// Takes a unit back: the stock movement, the device marked returned, the refund.
    async fn record_return(&self, record: &ReturnRecord) -> Result<Refund, StoreError>;
    /// Refunds, newest first; only one store's when `store` is given.
    async fn refunds(&self, store: Option<&LocationId>) -> Result<Vec<Refund>, StoreError>;
    /// Discrepancies, newest first; only one location's when given.
    async fn discrepancies(
        &self,
        location: Option<&LocationId>,
    ) -> Result<Vec<Discrepancy>, StoreError>;
    async fn resolve_discrepancy(
        &self,
        id: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<Discrepancy, StoreError>;

    // Transfers.
    /// Creates a transfer between two locations of one market; `ship` ships it at once.
    async fn create_transfer(
        &self,
        transfer: &NewTransfer,
        ship: bool,
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError>;
    /// Ships a requested transfer: out of the source, incoming at the destination.
    async fn ship_transfer(&self, id: i64, at: DateTime<Utc>) -> Result<Transfer, StoreError>;
    /// Counts a transfer in: what arrived goes on hand, a shortfall becomes a
    /// discrepancy.
    async fn receive_transfer(
        &self,
        id: i64,
        counts: &[UnitCount],
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError>;
    async fn transfer(&self, id: i64) -> Result<Option<Transfer>, StoreError>;
    /// Transfers from or to a location, newest first.
    async fn transfers(&self, location: &LocationId) -> Result<Vec<Transfer>, StoreError>;

    // Campaigns.
    /// Creates a campaign unless it overlaps one on a shared SKU in its market.
    async fn create_campaign(&self, campaign: &Campaign) -> Result<Campaign, StoreError>;
    /// Campaigns, oldest first; one market's when given.
    async fn campaigns(&self, market: Option<&MarketCode>) -> Result<Vec<Campaign>, StoreError>;

    // Online orders.
    /// Places an online order: the same key with the same request returns the first
    /// order (`true`: a replay); with another request it is refused. Units are
    /// reserved in the ledger in the same transaction.
    async fn place_online_order(
        &self,
        order: &NewOnlineOrder,
    ) -> Result<(OnlineOrder, bool), StoreError>;
    async fn online_order(&self, id: OrderId) -> Result<Option<OnlineOrder>, StoreError>;
    /// Applies a payment provider's event to an online order, once per event id.
    async fn pay_online_order(
        &self,
        id: OrderId,
        event_id: &str,
        outcome: PaymentOutcome,
        amount: Amount,
        currency: Currency,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError>;
    /// Cancels an unpaid online order of `customer`; its units are released.
    async fn cancel_online_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError>;
    /// Expires every reserved online order whose `pay_by` is at or before `now`,
    /// releasing its units; returns how many expired.
    async fn expire_online_orders(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
    /// The earliest `pay_by` of a reserved online order.
    async fn next_online_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Hands a paid online order over: the units leave the ledger, the serials become
    /// devices, the order is fulfilled.
    async fn fulfil_online_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError>;

    // Shipments.
    /// The ledger's rows in a quarter, oldest first.
    async fn shipments(&self, quarter: Quarter) -> Result<Vec<Shipment>, StoreError>;
    /// The ledger's running totals for each of `quarters`.
    async fn shipment_totals(&self, quarters: &[Quarter]) -> Result<Vec<TotalRow>, StoreError>;
    /// The batch an identical file of `kind` was imported as, and its rows, if one was.
    async fn imported_batch(
        &self,
        kind: &str,
        hash: &str,
    ) -> Result<Option<(String, u64)>, StoreError>;
    /// The exchange rates of `quarters` (the latest import of each).
    async fn fx_rates(&self, quarters: &[Quarter])
        -> Result<soldout_core::fx::FxTable, StoreError>;
    /// Imports rows of one kind as they arrive on `rows` (`Some(chunk)`, then `None`
    /// to say the file is complete), all in one transaction, as `batch` (replacing
    /// that batch's earlier rows). Returns the rows written and whether an earlier
    /// batch of that name was replaced. A channel closed without `None` writes
    /// nothing; so does content imported meanwhile (`AlreadyExists` naming its
    /// batch).
    async fn import_rows(
        &self,
        kind: ImportKind,
        batch: &str,
        hash: &str,
        at: DateTime<Utc>,
        rows: tokio::sync::mpsc::Receiver<Option<ImportChunk>>,
    ) -> Result<(u64, bool), StoreError>;
    /// Tracker rows of a market in a quarter.
    async fn tracker_rows(
        &self,
        period: Quarter,
        market: &MarketCode,
    ) -> Result<Vec<TrackerRow>, StoreError>;
    /// Sets (or replaces) a year's unit target.
    async fn set_target(&self, year: i32, units: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Every year's target.
    async fn targets(&self) -> Result<std::collections::BTreeMap<i32, i64>, StoreError>;

    // Settings and markers.
    // OS rollouts.
    /// Records a release; a second with its id is `AlreadyExists`.
    async fn create_release(&self, release: &Release, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Every release, oldest first.
    async fn releases(&self) -> Result<Vec<Release>, StoreError>;
    /// Records a rollout of an existing release.
    async fn create_rollout(
        &self,
        terms: &RolloutTerms,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Every rollout, oldest first.
    async fn rollouts(&self) -> Result<Vec<RolloutTerms>, StoreError>;
    /// A rollout's events, in order.
    async fn rollout_journal(&self, rollout: &RolloutId) -> Result<Vec<RolloutEvent>, StoreError>;
    /// One group commit of the rollouts, by `node`: their new events and the devices'
    /// new versions, in one durable transaction.
    async fn record_rollout_progress(
        &self,
        events: &[(RolloutId, Vec<RolloutEvent>)],
        versions: &[DeviceVersion],
        node: &str,
    ) -> Result<(), StoreError>;
    /// The newest group of rollout events' number (0 when none).
    async fn rollout_journal_head(&self) -> Result<i64, StoreError>;
    /// The groups of rollout events after number `after` that nodes other than `node`
    /// wrote, in order, each with its number.
    async fn rollout_journal_after(
        &self,
        after: i64,
        node: &str,
    ) -> Result<Vec<(i64, RolloutId, Vec<RolloutEvent>)>, StoreError>;
    /// Imports the installed base, all or nothing: every SKU and market must exist, and
    /// no serial may be registered already. Returns the devices imported.
    async fn import_devices(
        &self,
        devices: &[ImportedDevice],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    /// A device with a buyer (sold and not returned, or imported).
    async fn registered_device(
        &self,
        serial: &Serial,
    ) -> Result<Option<RegisteredDevice>, StoreError>;
    /// Every device with a buyer in one of `markets` whose product is one of
    /// `products`.
    async fn registered_devices(
        &self,
        markets: &[MarketCode],
        products: &[ProductId],
    ) -> Result<Vec<RegisteredDevice>, StoreError>;

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
}
