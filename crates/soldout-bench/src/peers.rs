//! The peers soldout is measured against, each an axum server on the same route.
//!
//! A fair peer does the request work soldout does for a buy, with soldout's own code:
//! the customer token verified under the same key, the `Idempotency-Key` required,
//! the body parsed with unknown fields refused, and the answer an order (a fresh ULID)
//! serialized as soldout serializes it, or a problem. Only the decision and its
//! durability differ:
//! - the ceiling: an in-memory atomic (no durability, no limit, no keys);
//! - Redis: one Lua script keeps the stock, each customer's count under the limit and
//!   the keys seen (a seen key answers its order again); Redis keeps nothing on disk;
//! - PostgreSQL: `UPDATE ... SET n = n - q WHERE n >= q` on one row, autocommit.
//!
//! The bare ceiling does no request work at all; it is printed for the record.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use soldout_core::pos::Channel;
use soldout_core::sale::{OrderId, OrderStatus, Rejection, SaleId};
use soldout_core::{Currency, CustomerId};
use soldout_engine::OrderView;
use soldout_server::auth::{bearer_token, Tokens};
use soldout_server::problem::extract::{Json, Path};
use soldout_server::problem::Problem;
use soldout_server::routes::sales::{BuyBody, IdempotencyKey};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

const ROUTE: &str = "/v1/sales/{id}/orders";
/// The check-in benchmark aims the same bare handler at the devices' route.
const CHECK_IN_ROUTE: &str = "/v1/devices/check-in";
/// The unit price the peers' orders carry (as the fixture's sale).
const PRICE: i64 = 999_900;
/// How long a peer's order is held unpaid.
const PAY_WITHIN_MINUTES: i64 = 10;

fn bare_answer(sold: bool) -> (StatusCode, &'static str) {
    if sold {
        (StatusCode::CREATED, r#"{"status":"reserved"}"#)
    } else {
        (StatusCode::CONFLICT, r#"{"type":"sold-out"}"#)
    }
}

/// The bare ceiling: decrement an atomic if it is above zero, no request work.
pub fn bare_ceiling(units: i64) -> Router {
    let left = Arc::new(AtomicI64::new(units));
    let take =
        post(|State(left): State<Arc<AtomicI64>>| async move { bare_answer(take_from(&left, 1)) });
    Router::new()
        .route(ROUTE, take.clone())
        .route(CHECK_IN_ROUTE, take)
        .with_state(left)
}

fn take_from(left: &AtomicI64, quantity: i64) -> bool {
    left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n >= quantity).then(|| n - quantity)
    })
    .is_ok()
}

/// A peer's state: the token key soldout's servers check, the clock they check it
/// at, and the decision.
struct Peer<D> {
    tokens: Tokens,
    clock: soldout_engine::Clock,
    decide: D,
}

/// What every fair peer shares with the soldout under test: the token key and the
/// clock (the fixture's tokens are checked at the fixture's time, as soldout does).
#[derive(Clone)]
pub struct RequestWork {
    pub tokens: Tokens,
    pub clock: soldout_engine::Clock,
}

/// The caller of a peer's buy, who must be a customer, checked as soldout checks it.
struct PeerCustomer(CustomerId);

impl<D: Send + Sync> FromRequestParts<Arc<Peer<D>>> for PeerCustomer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, peer: &Arc<Peer<D>>) -> Result<Self, Problem> {
        let token = bearer_token(&parts.headers)?;
        match peer.tokens.check(token, peer.clock.now())? {
            soldout_core::access::Principal::Customer(id) => Ok(PeerCustomer(id)),
            _ => Err(Problem::forbidden("this route is for customers")),
        }
    }
}

/// One buy as every peer receives it, after the request work.
pub struct Buy {
    sale: SaleId,
    customer: CustomerId,
    quantity: u32,
    key: String,
}

/// What a peer's decision answers: the order's id, or why not.
type Decided = Result<OrderId, Problem>;

/// The order a peer answers with, built and serialized as soldout's.
fn order_view(buy: &Buy, id: OrderId, now: DateTime<Utc>) -> OrderView {
    OrderView {
        id,
        channel: Channel::FlashSale,
        sale: Some(buy.sale),
        customer: buy.customer,
        status: OrderStatus::Reserved,
        quantity: buy.quantity,
        amount: PRICE * i64::from(buy.quantity),
        currency: Currency::parse("INR").expect("a currency code"),
        created_at: now,
        pay_by: now + chrono::Duration::minutes(PAY_WITHIN_MINUTES),
        refunds_due: 0,
        lines: None,
        fulfillment: None,
        location: None,
    }
}

fn fresh_order_id(sale: SaleId, now: DateTime<Utc>) -> OrderId {
    OrderId::of_sale(sale, now.timestamp_millis() as u64, rand::random())
}

/// A peer router: soldout's request work, then `decide`.
fn fair_peer<D, F>(work: RequestWork, decide: D) -> Router
where
    D: Fn(Buy) -> F + Send + Sync + 'static,
    F: std::future::Future<Output = (Buy, Decided)> + Send + 'static,
{
    async fn handle<D, F>(
        PeerCustomer(customer): PeerCustomer,
        State(peer): State<Arc<Peer<D>>>,
        Path(sale): Path<i64>,
        IdempotencyKey(key): IdempotencyKey,
        Json(body): Json<BuyBody>,
    ) -> Response
    where
        D: Fn(Buy) -> F + Send + Sync + 'static,
        F: std::future::Future<Output = (Buy, Decided)> + Send + 'static,
    {
        if body.quantity == 0 {
            return Problem::invalid("quantity must be at least 1").into_response();
        }
        let buy = Buy {
            sale: SaleId(sale),
            customer,
            quantity: body.quantity,
            key,
        };
        match (peer.decide)(buy).await {
            (buy, Ok(id)) => {
                let now = peer.clock.now();
                (StatusCode::CREATED, axum::Json(order_view(&buy, id, now))).into_response()
            }
            (_, Err(problem)) => problem.into_response(),
        }
    }
    Router::new()
        .route(ROUTE, post(handle::<D, F>))
        .with_state(Arc::new(Peer {
            tokens: work.tokens,
            clock: work.clock,
            decide,
        }))
}

/// The ceiling: soldout's request work and an in-memory atomic.
pub fn ceiling(work: RequestWork, units: i64) -> Router {
    let left = Arc::new(AtomicI64::new(units));
    let clock = work.clock;
    fair_peer(work, move |buy: Buy| {
        let taken = take_from(&left, i64::from(buy.quantity));
        async move {
            let decided = if taken {
                Ok(fresh_order_id(buy.sale, clock.now()))
            } else {
                Err(Rejection::SoldOut.into())
            };
            (buy, decided)
        }
    })
}

/// Takes `quantity` (ARGV[3]) for the customer (ARGV[1]) under the key (ARGV[2]):
/// a seen key answers its order id again; a customer past the limit (ARGV[4]) is
/// refused; so is a buy the stock cannot fill. KEYS: the stock, the customers'
/// counts, the keys seen.
const LUA_BUY: &str = r#"
local seen = redis.call('HGET', KEYS[3], ARGV[2])
if seen then return {'replay', seen} end
local quantity = tonumber(ARGV[3])
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held + quantity > tonumber(ARGV[4]) then return {'limit', tostring(held)} end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left < quantity then return {'sold-out', ''} end
redis.call('DECRBY', KEYS[1], quantity)
redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[5])
return {'sold', ARGV[5]}
"#;

/// Redis: soldout's request work and one Lua script (stock, limit, keys).
pub async fn redis(work: RequestWork, url: &str, units: i64, limit: u32) -> anyhow::Result<Router> {
    let clock = work.clock;
    let client = redis::Client::open(url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let keys = [
        "soldout-bench:units",
        "soldout-bench:held",
        "soldout-bench:keys",
    ];
    redis::pipe()
        .del(&keys[..])
        .set(keys[0], units)
        .query_async::<()>(&mut connection)
        .await?;
    let script = Arc::new(redis::Script::new(LUA_BUY));
    Ok(fair_peer(work, move |buy: Buy| {
        let (script, mut connection) = (script.clone(), connection.clone());
        let id = fresh_order_id(buy.sale, clock.now());
        async move {
            let answer = script
                .key(&keys[..])
                .arg(buy.customer.0)
                .arg(&buy.key)
                .arg(buy.quantity)
                .arg(limit)
                .arg(id.to_string())
                .invoke_async::<(String, String)>(&mut connection)
                .await;
            let decided = match answer {
                Ok((verdict, value)) => match verdict.as_str() {
                    "sold" | "replay" => OrderId::parse(&value).ok_or_else(Problem::internal),
                    "limit" => Err(Rejection::LimitReached {
                        limit,
                        held: value.parse().unwrap_or(0),
                        asked: buy.quantity,
                    }
                    .into()),
                    _ => Err(Rejection::SoldOut.into()),
                },
                Err(_) => Err(unavailable()),
            };
            (buy, decided)
        }
    }))
}

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Temporarily unavailable",
        "the peer's database failed; retry",
    )
}

/// PostgreSQL: soldout's request work and `UPDATE ... WHERE n >= q` on one row.
pub async fn postgres(work: RequestWork, url: &str, units: i64) -> anyhow::Result<Router> {
    let clock = work.clock;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect(url)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS soldout_bench_units (id INT PRIMARY KEY, n BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("INSERT INTO soldout_bench_units (id, n) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = $1")
        .bind(units)
        .execute(&pool)
        .await?;
    Ok(fair_peer(work, move |buy: Buy| {
        let (pool, clock) = (pool.clone(), clock);
        async move {
            let taken =
                sqlx::query("UPDATE soldout_bench_units SET n = n - $1 WHERE id = 1 AND n >= $1")
                    .bind(i64::from(buy.quantity))
                    .execute(&pool)
                    .await;
            let decided = match taken {
                Ok(done) if done.rows_affected() == 1 => Ok(fresh_order_id(buy.sale, clock.now())),
                Ok(_) => Err(Rejection::SoldOut.into()),
                Err(_) => Err(unavailable()),
            };
            (buy, decided)
        }
    }))
}
