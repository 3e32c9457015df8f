//! The peers soldout is measured against, each an axum server on the same route:
//! the ceiling (an in-memory atomic: no durability, no logic), Redis with a Lua
//! check-and-decrement, and PostgreSQL with a conditional `UPDATE` on one row.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

const ROUTE: &str = "/v1/sales/{id}/orders";
/// The check-in benchmark aims the same bare handler at the devices' route.
const CHECK_IN_ROUTE: &str = "/v1/devices/check-in";

fn answer(sold: bool) -> (StatusCode, &'static str) {
    if sold {
        (StatusCode::CREATED, r#"{"status":"reserved"}"#)
    } else {
        (StatusCode::CONFLICT, r#"{"type":"sold-out"}"#)
    }
}

/// The ceiling: decrement an atomic if it is above zero.
pub fn ceiling(units: i64) -> Router {
    let left = Arc::new(AtomicI64::new(units));
    let take = post(|State(left): State<Arc<AtomicI64>>| async move {
        let sold = left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > 0).then(|| n - 1)
            })
            .is_ok();
        answer(sold)
    });
    Router::new()
        .route(ROUTE, take.clone())
        .route(CHECK_IN_ROUTE, take)
        .with_state(left)
}

const LUA_TAKE_ONE: &str = r#"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  redis.call('DECR', KEYS[1])
  return 1
end
return 0
"#;

/// Redis: a Lua script takes one unit atomically.
pub async fn redis(url: &str, units: i64) -> anyhow::Result<Router> {
    let client = redis::Client::open(url)?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let key = "soldout-bench:units";
    redis::cmd("SET")
        .arg(key)
        .arg(units)
        .query_async::<()>(&mut connection)
        .await?;
    let script = Arc::new(redis::Script::new(LUA_TAKE_ONE));
    Ok(Router::new()
        .route(
            ROUTE,
            post(
                move |State(mut connection): State<redis::aio::MultiplexedConnection>| {
                    let script = script.clone();
                    async move {
                        match script.key(key).invoke_async::<i64>(&mut connection).await {
                            Ok(taken) => answer(taken == 1),
                            Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "redis failed"),
                        }
                    }
                },
            ),
        )
        .with_state(connection))
}

/// PostgreSQL: one row, `UPDATE ... SET n = n - 1 WHERE n > 0`.
pub async fn postgres(url: &str, units: i64) -> anyhow::Result<Router> {
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
    Ok(Router::new()
        .route(
            ROUTE,
            post(|State(pool): State<sqlx::PgPool>| async move {
                match sqlx::query("UPDATE soldout_bench_units SET n = n - 1 WHERE id = 1 AND n > 0")
                    .execute(&pool)
                    .await
                {
                    Ok(done) => answer(done.rows_affected() == 1),
                    Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "postgres failed"),
                }
            }),
        )
        .with_state(pool))
}
