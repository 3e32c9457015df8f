//! A lost database connection is not a crash (PostgreSQL only: an SQLite file has no
//! connection to lose). A TCP proxy of the test's own stands between the server and
//! PostgreSQL; the test cuts it (every open connection dropped, new ones refused) and
//! restores it, leaving the machine's shared PostgreSQL alone. While it is cut, requests
//! get a 503 `database-unavailable` problem with `Retry-After` and `/healthz` says the
//! database is down; once it is back the same server serves again, and nothing
//! acknowledged is lost.

use crate::helpers::{
    clock_start, expect, fresh_database, loopback_limits, problem_slug, spawn_on,
};
use reqwest::Method;
use serde_json::json;
use soldout_store::scratch::{around_host, TcpProxy as Proxy};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_server_answers_503_while_the_database_is_unreachable_and_recovers() {
    let database = fresh_database().await;
    let (user, upstream, path) = around_host(database.url());
    let proxy = Proxy::to(upstream.to_owned()).await;
    let through_proxy = format!("{user}{}{path}", proxy.addr);
    let settings = soldout_store::DatabaseSettings {
        acquire_timeout: Duration::from_millis(500),
        ..soldout_store::DatabaseSettings::default()
    };
    let store = soldout_store::open_with(&through_proxy, &settings)
        .await
        .expect("open the store through the proxy");
    let app = spawn_on(database, store, clock_start(), loopback_limits(), |_| {}).await;

    let sale = app.open_sale(10, json!({})).await;
    let id = sale["id"].as_i64().unwrap();
    let first = app.sign_up("first@example.com").await;
    let second = app.sign_up("second@example.com").await;
    let acknowledged = expect(app.buy(&first, id, 1, "first-1").await, 201, "buy").await;
    let health = app.public_get("/healthz").await;
    assert_eq!(health["database"], "up");

    proxy.cut();
    let down = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
    assert!(down.headers().contains_key("retry-after"));
    assert_eq!(
        problem_slug(&expect(down, 503, "healthz while down").await),
        "database-unavailable"
    );
    let refused = app
        .admin(Method::POST, "/v1/markets")
        .json(&json!({"code": "CN", "name": "China", "currency": "CNY"}))
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        problem_slug(&expect(refused, 503, "a write while down").await),
        "database-unavailable"
    );
    let buy = app.buy(&second, id, 1, "second-1").await;
    assert!(buy.headers().contains_key("retry-after"));
    assert_eq!(
        buy.status(),
        503,
        "a buy that cannot be made durable is never a 201"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
        if health.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The buyer who was told to retry does, with the same key, until the sale's owner
    // has rebuilt itself from the journal.
    let retried = loop {
        let response = app.buy(&second, id, 1, "second-1").await;
        if response.status() != 503 {
            break expect(response, 201, "the retried buy").await;
        }
        assert!(Instant::now() < deadline, "the sale did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(retried["id"], acknowledged["id"]);
    let replay = expect(app.buy(&first, id, 1, "first-1").await, 201, "replay").await;
    assert_eq!(
        replay["id"], acknowledged["id"],
        "the acknowledged order is still there"
    );
    let sale = app.sale(id).await;
    assert_eq!(sale["available"], 8, "{sale}");
    let markets = app.get("/v1/markets").await;
    assert!(
        !markets.to_string().contains("\"CN\""),
        "the refused write changed nothing: {markets}"
    );
    app.send(
        Method::POST,
        "/v1/markets",
        json!({"code": "CN", "name": "China", "currency": "CNY"}),
        201,
    )
    .await;
}
