//! A store that suffers the seed's [`Faults`] at the commits the engine's sale
//! owners and payments make (a sale's batch, a payment's claim), and dies with the
//! process at a crash: from then on no call returns. Every other call goes straight
//! to the real store underneath; they are written out one by one because a trait
//! object has no delegation of its own.

use crate::faults::{Fault, Faults};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use soldout_core::campaign::Campaign;
use soldout_core::device::{Device, Refund};
use soldout_core::discrepancy::Discrepancy;
use soldout_core::order::{HandedOver, OnlineOrder, PaymentReport};
use soldout_core::pos::Receipt;
use soldout_core::report::TotalRow;
use soldout_core::rollout::{Release, RolloutEvent, RolloutTerms};
use soldout_core::sale::draw::HeldBuy;
use soldout_core::sale::{Order, OrderId, PaymentOutcome, SaleId, SaleTerms};
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::tracker::TrackerRow;
use soldout_core::transfer::{NewTransfer, Transfer, UnitCount};
use soldout_core::{
    Amount, Clerk, ClerkId, Currency, CustomerId, Email, Launch, LineupEntry, Location, LocationId,
    Market, MarketCode, Movement, NewMovement, Principal, Product, ProductId, RolloutId, Serial,
    SessionPolicy, Sku, SkuCode, StockLine,
};
use soldout_store::{
    DeviceVersion, DrawEntries, ImportChunk, ImportKind, ImportedDevice, Lease, LeasedBuy,
    LeasedOutcome, MovementPage, NewOnlineOrder, PoolState, PosOutcome, PosSaleRecord,
    RegisteredDevice, ReturnRecord, SaleSignal, Store, StoreError,
};
use std::future::Future;
use std::sync::Arc;

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    faults: Arc<Faults>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>, faults: Arc<Faults>) -> FaultyStore {
        FaultyStore { inner, faults }
    }

    /// Never returns once the process has crashed.
    async fn alive(&self) {
        if self.faults.crashed() {
            std::future::pending::<()>().await;
        }
    }

    /// One commit, as the seed's next fault makes it.
    async fn commit<T>(
        &self,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.alive().await;
        match self.faults.next() {
            Fault::None => write.await,
            Fault::FailBefore => Err(StoreError::Backend(
                "simulated: the disk refused the commit".into(),
            )),
            Fault::FailAfter => {
                write.await?;
                Err(StoreError::Unavailable(
                    "simulated: the commit landed but its answer was lost".into(),
                ))
            }
            Fault::Stall(turns) => {
                for _ in 0..turns {
                    tokio::task::yield_now().await;
                }
                write.await
            }
            Fault::Crash { landed } => {
                if landed {
                    let _ = write.await;
                }
                self.faults.crash();
                std::future::pending().await
            }
        }
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.ping().await
    }

    async fn create_market(&self, market: &Market) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_market(market).await
    }

    async fn markets(&self) -> Result<Vec<Market>, StoreError> {
        self.alive().await;
        self.inner.markets().await
    }

    async fn market(&self, code: &MarketCode) -> Result<Option<Market>, StoreError> {
        self.alive().await;
        self.inner.market(code).await
    }

    async fn create_product(&self, product: &Product) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_product(product).await
    }

    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        self.alive().await;
        self.inner.products().await
    }

    async fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        self.alive().await;
        self.inner.product(id).await
    }

    async fn add_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.add_sku(sku).await
    }

    async fn set_price(
        &self,
        market: &MarketCode,
        sku: &SkuCode,
        amount: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.set_price(market, sku, amount, at).await
    }

    async fn put_launch(
        &self,
        product: &ProductId,
        market: &MarketCode,
        launch: &Launch,
    ) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.put_launch(product, market, launch).await
    }

    async fn prices(
        &self,
        market: &MarketCode,
    ) -> Result<std::collections::HashMap<SkuCode, Amount>, StoreError> {
        self.alive().await;
        self.inner.prices(market).await
    }

    async fn lineup(&self, market: &MarketCode) -> Result<Vec<LineupEntry>, StoreError> {
        self.alive().await;
        self.inner.lineup(market).await
    }

    async fn create_location(&self, location: &Location) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_location(location).await
    }

    async fn locations(&self) -> Result<Vec<Location>, StoreError> {
        self.alive().await;
        self.inner.locations().await
    }

    async fn location(&self, id: &LocationId) -> Result<Option<Location>, StoreError> {
        self.alive().await;
        self.inner.location(id).await
    }

    async fn record_movements(
        &self,
        movements: &[NewMovement],
    ) -> Result<Vec<Movement>, StoreError> {
        self.alive().await;
        self.inner.record_movements(movements).await
    }

    async fn stock(&self, location: &LocationId) -> Result<Vec<StockLine>, StoreError> {
        self.alive().await;
        self.inner.stock(location).await
    }

    async fn movements(
        &self,
        location: &LocationId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<MovementPage, StoreError> {
        self.alive().await;
        self.inner.movements(location, after, limit).await
    }

    async fn create_customer(
        &self,
        email: &Email,
        at: DateTime<Utc>,
    ) -> Result<CustomerId, StoreError> {
        self.alive().await;
        self.inner.create_customer(email, at).await
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Email>, StoreError> {
        self.alive().await;
        self.inner.customer(id).await
    }

    async fn create_customers(
        &self,
        emails: &[Email],
        at: DateTime<Utc>,
    ) -> Result<Vec<CustomerId>, StoreError> {
        self.alive().await;
        self.inner.create_customers(emails, at).await
    }

    async fn create_sale(&self, terms: &SaleTerms, leased: bool) -> Result<SaleTerms, StoreError> {
        self.alive().await;
        self.inner.create_sale(terms, leased).await
    }

    async fn sales(&self) -> Result<Vec<SaleTerms>, StoreError> {
        self.alive().await;
        self.inner.sales().await
    }

    async fn append_sale_batch(
        &self,
        sale: SaleId,
        batch: i64,
        events: u32,
        body: &[u8],
        movements: &[NewMovement],
        devices: &[Device],
    ) -> Result<(), StoreError> {
        self.commit(
            self.inner
                .append_sale_batch(sale, batch, events, body, movements, devices),
        )
        .await
    }

    async fn check_serials_free(&self, serials: &[Serial]) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.check_serials_free(serials).await
    }

    async fn sale_journal(&self, sale: SaleId) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.alive().await;
        self.inner.sale_journal(sale).await
    }

    async fn lease_units(
        &self,
        sale: SaleId,
        node: &str,
        want: u32,
        ttl_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<(Lease, bool), StoreError> {
        self.alive().await;
        self.inner.lease_units(sale, node, want, ttl_ms, now).await
    }

    async fn return_lease(
        &self,
        sale: SaleId,
        node: &str,
        epoch: i64,
        keep: u32,
    ) -> Result<u32, StoreError> {
        self.alive().await;
        self.inner.return_lease(sale, node, epoch, keep).await
    }

    async fn commit_leased_batch(
        &self,
        terms: &SaleTerms,
        node: &str,
        epoch: i64,
        ttl_ms: i64,
        buys: &[LeasedBuy],
    ) -> Result<Vec<LeasedOutcome>, StoreError> {
        self.alive().await;
        self.inner
            .commit_leased_batch(terms, node, epoch, ttl_ms, buys)
            .await
    }

    async fn pool_state(&self, sale: SaleId) -> Result<Option<PoolState>, StoreError> {
        self.alive().await;
        self.inner.pool_state(sale).await
    }

    async fn leased_keys(&self, sale: SaleId) -> Result<Vec<u128>, StoreError> {
        self.alive().await;
        self.inner.leased_keys(sale).await
    }

    async fn leased_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.alive().await;
        self.inner.leased_order(id).await
    }

    async fn leased_order_by_key(
        &self,
        sale: SaleId,
        key: u128,
    ) -> Result<Option<Order>, StoreError> {
        self.alive().await;
        self.inner.leased_order_by_key(sale, key).await
    }

    async fn leased_standing(
        &self,
        terms: &SaleTerms,
        buys: &[LeasedBuy],
    ) -> Result<Vec<Option<LeasedOutcome>>, StoreError> {
        self.alive().await;
        self.inner.leased_standing(terms, buys).await
    }

    async fn leased_curve(&self, sale: SaleId) -> Result<Vec<(DateTime<Utc>, i64)>, StoreError> {
        self.alive().await;
        self.inner.leased_curve(sale).await
    }

    async fn enter_draw(
        &self,
        sale: SaleId,
        node: &str,
        buys: &[HeldBuy],
    ) -> Result<bool, StoreError> {
        self.alive().await;
        self.inner.enter_draw(sale, node, buys).await
    }

    async fn close_draw(
        &self,
        terms: &SaleTerms,
        proposed: u64,
    ) -> Result<DrawEntries, StoreError> {
        self.alive().await;
        self.inner.close_draw(terms, proposed).await
    }

    async fn record_draw(
        &self,
        terms: &SaleTerms,
        node: &str,
        placed: &[LeasedBuy],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.alive().await;
        self.inner.record_draw(terms, node, placed, at).await
    }

    async fn register_leased(
        &self,
        sale: SaleId,
        customer: CustomerId,
    ) -> Result<bool, StoreError> {
        self.alive().await;
        self.inner.register_leased(sale, customer).await
    }

    async fn pay_leased_order(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.alive().await;
        self.inner.pay_leased_order(report, at).await
    }

    async fn cancel_leased_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.alive().await;
        self.inner.cancel_leased_order(id, customer, at).await
    }

    async fn expire_leased_orders(
        &self,
        sale: SaleId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.alive().await;
        self.inner.expire_leased_orders(sale, now).await
    }

    async fn next_leased_expiry(&self, sale: SaleId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.alive().await;
        self.inner.next_leased_expiry(sale).await
    }

    async fn end_leased_sale(&self, sale: SaleId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.alive().await;
        self.inner.end_leased_sale(sale, at).await
    }

    async fn fulfil_leased_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        devices: &[Device],
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.alive().await;
        self.inner
            .fulfil_leased_order(id, handed, devices, at)
            .await
    }

    fn sale_signals(&self) -> tokio::sync::broadcast::Receiver<SaleSignal> {
        self.inner.sale_signals()
    }

    async fn signal(&self, signal: SaleSignal) {
        self.alive().await;
        self.inner.signal(signal).await
    }

    async fn create_session(
        &self,
        id_hash: &str,
        clerk: Option<ClerkId>,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_session(id_hash, clerk, now, policy).await
    }

    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<Option<Principal>, StoreError> {
        self.alive().await;
        self.inner.session(id_hash, now, policy).await
    }

    async fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.end_session(id_hash).await
    }

    async fn revoke_clerk(&self, clerk: ClerkId, at: DateTime<Utc>) -> Result<Clerk, StoreError> {
        self.alive().await;
        self.inner.revoke_clerk(clerk, at).await
    }

    async fn clerks(&self, store: Option<&LocationId>) -> Result<Vec<Clerk>, StoreError> {
        self.alive().await;
        self.inner.clerks(store).await
    }

    async fn claim_payment_event(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.commit(self.inner.claim_payment_event(report, at))
            .await
    }

    async fn create_clerk(
        &self,
        store: &LocationId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<ClerkId, StoreError> {
        self.alive().await;
        self.inner.create_clerk(store, name, at).await
    }

    async fn record_pos_sale(&self, sale: &PosSaleRecord) -> Result<PosOutcome, StoreError> {
        self.alive().await;
        self.inner.record_pos_sale(sale).await
    }

    async fn pos_sales(&self, store: &LocationId, limit: u32) -> Result<Vec<Receipt>, StoreError> {
        self.alive().await;
        self.inner.pos_sales(store, limit).await
    }

    async fn device(&self, serial: &Serial) -> Result<Option<Device>, StoreError> {
        self.alive().await;
        self.inner.device(serial).await
    }

    async fn record_return(&self, record: &ReturnRecord) -> Result<Refund, StoreError> {
        self.alive().await;
        self.inner.record_return(record).await
    }

    async fn refunds(&self, store: Option<&LocationId>) -> Result<Vec<Refund>, StoreError> {
        self.alive().await;
        self.inner.refunds(store).await
    }

    async fn discrepancies(
        &self,
        location: Option<&LocationId>,
    ) -> Result<Vec<Discrepancy>, StoreError> {
        self.alive().await;
        self.inner.discrepancies(location).await
    }

    async fn resolve_discrepancy(
        &self,
        id: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<Discrepancy, StoreError> {
        self.alive().await;
        self.inner.resolve_discrepancy(id, note, at).await
    }

    async fn create_transfer(
        &self,
        transfer: &NewTransfer,
        ship: bool,
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        self.alive().await;
        self.inner.create_transfer(transfer, ship, at).await
    }

    async fn ship_transfer(&self, id: i64, at: DateTime<Utc>) -> Result<Transfer, StoreError> {
        self.alive().await;
        self.inner.ship_transfer(id, at).await
    }

    async fn receive_transfer(
        &self,
        id: i64,
        counts: &[UnitCount],
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        self.alive().await;
        self.inner.receive_transfer(id, counts, at).await
    }

    async fn transfer(&self, id: i64) -> Result<Option<Transfer>, StoreError> {
        self.alive().await;
        self.inner.transfer(id).await
    }

    async fn transfers(&self, location: &LocationId) -> Result<Vec<Transfer>, StoreError> {
        self.alive().await;
        self.inner.transfers(location).await
    }

    async fn create_campaign(&self, campaign: &Campaign) -> Result<Campaign, StoreError> {
        self.alive().await;
        self.inner.create_campaign(campaign).await
    }

    async fn campaigns(&self, market: Option<&MarketCode>) -> Result<Vec<Campaign>, StoreError> {
        self.alive().await;
        self.inner.campaigns(market).await
    }

    async fn place_online_order(
        &self,
        order: &NewOnlineOrder,
    ) -> Result<(OnlineOrder, bool), StoreError> {
        self.alive().await;
        self.inner.place_online_order(order).await
    }

    async fn online_order(&self, id: OrderId) -> Result<Option<OnlineOrder>, StoreError> {
        self.alive().await;
        self.inner.online_order(id).await
    }

    async fn pay_online_order(
        &self,
        id: OrderId,
        event_id: &str,
        outcome: PaymentOutcome,
        amount: Amount,
        currency: Currency,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.alive().await;
        self.inner
            .pay_online_order(id, event_id, outcome, amount, currency, at)
            .await
    }

    async fn cancel_online_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.alive().await;
        self.inner.cancel_online_order(id, customer, at).await
    }

    async fn expire_online_orders(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.alive().await;
        self.inner.expire_online_orders(now).await
    }

    async fn next_online_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.alive().await;
        self.inner.next_online_expiry().await
    }

    async fn fulfil_online_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.alive().await;
        self.inner.fulfil_online_order(id, handed, at).await
    }

    async fn shipments(&self, quarter: Quarter) -> Result<Vec<Shipment>, StoreError> {
        self.alive().await;
        self.inner.shipments(quarter).await
    }

    async fn shipment_totals(&self, quarters: &[Quarter]) -> Result<Vec<TotalRow>, StoreError> {
        self.alive().await;
        self.inner.shipment_totals(quarters).await
    }

    async fn imported_batch(
        &self,
        kind: &str,
        hash: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        self.alive().await;
        self.inner.imported_batch(kind, hash).await
    }

    async fn fx_rates(
        &self,
        quarters: &[Quarter],
    ) -> Result<soldout_core::fx::FxTable, StoreError> {
        self.alive().await;
        self.inner.fx_rates(quarters).await
    }

    async fn import_rows(
        &self,
        kind: ImportKind,
        batch: &str,
        hash: &str,
        at: DateTime<Utc>,
        rows: tokio::sync::mpsc::Receiver<Option<ImportChunk>>,
    ) -> Result<(u64, bool), StoreError> {
        self.alive().await;
        self.inner.import_rows(kind, batch, hash, at, rows).await
    }

    async fn tracker_rows(
        &self,
        period: Quarter,
        market: &MarketCode,
    ) -> Result<Vec<TrackerRow>, StoreError> {
        self.alive().await;
        self.inner.tracker_rows(period, market).await
    }

    async fn set_target(&self, year: i32, units: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.set_target(year, units, at).await
    }

    async fn targets(&self) -> Result<std::collections::BTreeMap<i32, i64>, StoreError> {
        self.alive().await;
        self.inner.targets().await
    }

    async fn create_release(&self, release: &Release, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_release(release, at).await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.alive().await;
        self.inner.releases().await
    }

    async fn create_rollout(
        &self,
        terms: &RolloutTerms,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.create_rollout(terms, at).await
    }

    async fn rollouts(&self) -> Result<Vec<RolloutTerms>, StoreError> {
        self.alive().await;
        self.inner.rollouts().await
    }

    async fn rollout_journal(&self, rollout: &RolloutId) -> Result<Vec<RolloutEvent>, StoreError> {
        self.alive().await;
        self.inner.rollout_journal(rollout).await
    }

    async fn record_rollout_progress(
        &self,
        events: &[(RolloutId, Vec<RolloutEvent>)],
        versions: &[DeviceVersion],
        node: &str,
    ) -> Result<(), StoreError> {
        self.alive().await;
        self.inner
            .record_rollout_progress(events, versions, node)
            .await
    }

    async fn rollout_journal_head(&self) -> Result<i64, StoreError> {
        self.alive().await;
        self.inner.rollout_journal_head().await
    }

    async fn rollout_journal_after(
        &self,
        after: i64,
        node: &str,
    ) -> Result<Vec<(i64, RolloutId, Vec<RolloutEvent>)>, StoreError> {
        self.alive().await;
        self.inner.rollout_journal_after(after, node).await
    }

    async fn import_devices(
        &self,
        devices: &[ImportedDevice],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.alive().await;
        self.inner.import_devices(devices, at).await
    }

    async fn registered_device(
        &self,
        serial: &Serial,
    ) -> Result<Option<RegisteredDevice>, StoreError> {
        self.alive().await;
        self.inner.registered_device(serial).await
    }

    async fn registered_devices(
        &self,
        markets: &[MarketCode],
        products: &[ProductId],
    ) -> Result<Vec<RegisteredDevice>, StoreError> {
        self.alive().await;
        self.inner.registered_devices(markets, products).await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.alive().await;
        self.inner.meta(key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.alive().await;
        self.inner.set_meta(key, value).await
    }
}
