//! Races that a single writer settles on SQLite and serializable transactions (retried
//! by the store itself) settle on PostgreSQL: many connections at once over HTTP, each
//! outcome exact, never a 500. The last unit at a store's point of sale is in
//! `stores.rs`; a flash sale's thousands of buyers in `flash_sales.rs`.

use crate::helpers::{spawn_app, statuses_of};
use crate::stores::{BLR, SKU};
use reqwest::Method;
use serde_json::json;

/// How many of `statuses` are `status`.
fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

#[tokio::test]
async fn sixty_adjustments_of_minus_one_on_twenty_units_exactly_twenty_succeed() {
    let app = spawn_app().await;
    app.seed_india().await;
    app.send(
        Method::POST,
        "/v1/locations/wh-in-sricity/receipts",
        json!({"sku": SKU, "quantity": 20}),
        201,
    )
    .await;
    let requests = (0..60)
        .map(|_| {
            app.admin(Method::POST, "/v1/locations/wh-in-sricity/adjustments")
                .json(&json!({"sku": SKU, "delta": -1, "reason": "breakage"}))
        })
        .collect();
    let statuses = statuses_of(requests).await;
    assert_eq!(count(&statuses, 201), 20, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 40, "{statuses:?}");
    assert_eq!(app.level("wh-in-sricity", "on_hand").await, 0);
}

#[tokio::test]
async fn the_same_transfer_received_twenty_times_at_once_is_received_once() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(0).await;
    let transfer = app
        .send(
            Method::POST,
            "/v1/transfers",
            json!({"from": "wh-in-sricity", "to": BLR, "lines": [{"sku": SKU, "quantity": 20}]}),
            201,
        )
        .await;
    let receive = format!("/v1/transfers/{}/receive", transfer["id"]);
    let requests = (0..20)
        .map(|_| {
            app.anonymous(Method::POST, &receive)
                .bearer_auth(&blr.0)
                .json(&json!({"lines": [{"sku": SKU, "quantity": 20}]}))
        })
        .collect();
    let statuses = statuses_of(requests).await;
    assert_eq!(count(&statuses, 200), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 19, "{statuses:?}");
    assert_eq!(app.level(BLR, "on_hand").await, 20);
    assert_eq!(app.level(BLR, "incoming").await, 0);
    assert_eq!(app.level("wh-in-sricity", "on_hand").await, 80);
}

#[tokio::test]
async fn the_same_import_started_ten_times_at_once_imports_once() {
    let app = spawn_app().await;
    app.seed_india().await;
    let csv = "date,market,channel,product,sku,units,revenue,currency\n\
               2017-04-03,IN,partner,redmi-note-4,,250000,2749750000.00,INR\n\
               2017-05-10,IN,online,redmi-note-4,RN4-3-32-GLD,1000,10999000,INR\n";
    let requests = (0..10)
        .map(|_| {
            app.admin(Method::POST, "/v1/imports/shipments")
                .header("content-type", "text/csv")
                .body(csv)
        })
        .collect();
    let statuses = statuses_of(requests).await;
    assert_eq!(count(&statuses, 201), 1, "imported once: {statuses:?}");
    assert_eq!(count(&statuses, 200), 9, "already imported: {statuses:?}");
    let rows = app.get("/v1/shipments?period=2017Q2").await;
    let units: i64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["units"].as_i64().unwrap())
        .sum();
    assert_eq!(units, 251_000);
}
