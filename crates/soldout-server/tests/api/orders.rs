//! Regular online orders (shipped and picked up) and fulfilment in every channel:
//! one order lifecycle, the same webhook, the same expiry.

use crate::helpers::{
    assert_balanced, expect, fresh_database, problem_slug, spawn_app, spawn_app_in, statuses_of,
    TestApp,
};
use crate::stores::{sale_body, BLR, DEL, LIST_PRICE, SKU};
use reqwest::Method;
use serde_json::{json, Value};

impl TestApp {
    async fn order(&self, token: &str, key: &str, body: Value) -> reqwest::Response {
        self.anonymous(Method::POST, "/v1/orders")
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn pay(&self, order: &Value, event_id: &str) -> Value {
        let event = json!({"event_id": event_id, "type": "payment.succeeded", "order_id": order["id"],
                           "amount": order["amount"], "currency": order["currency"]});
        expect(self.webhook(event, 0).await, 200, "pay").await
    }
}

fn ship(quantity: u32) -> Value {
    json!({"market": "IN", "lines": [{"sku": SKU, "quantity": quantity}], "fulfillment": {"type": "ship"}})
}

fn pickup(store: &str, quantity: u32) -> Value {
    json!({"market": "IN", "lines": [{"sku": SKU, "quantity": quantity}], "fulfillment": {"type": "pickup", "store": store}})
}

fn handed(serials: &[&str]) -> Value {
    json!({"lines": [{"sku": SKU, "serials": serials}]})
}

#[tokio::test]
async fn a_shipped_order_is_reserved_paid_and_handed_over_with_serials() {
    let app = spawn_app().await;
    app.seed_stores(0).await;
    let buyer = app.sign_up("online@example.com").await;
    let order = expect(app.order(&buyer.token, "o-1", ship(2)).await, 201, "order").await;
    assert_eq!(order["channel"], "online");
    assert_eq!(order["status"], "reserved");
    assert_eq!(order["amount"], 2 * LIST_PRICE);
    assert_eq!(order["location"], "wh-in-sricity");
    assert_eq!(app.level("wh-in-sricity", "reserved").await, 2);
    assert_eq!(app.level("wh-in-sricity", "available").await, 98);
    // The same key and body: the same order; another body: 422.
    let replay = expect(app.order(&buyer.token, "o-1", ship(2)).await, 201, "replay").await;
    assert_eq!(replay, order);
    let mismatch = app.order(&buyer.token, "o-1", ship(1)).await;
    assert_eq!(
        problem_slug(&expect(mismatch, 422, "mismatch").await),
        "idempotency-mismatch"
    );
    assert_eq!(app.level("wh-in-sricity", "reserved").await, 2);
    // Not paid: cannot be handed over.
    let id = order["id"].as_str().unwrap();
    let early = app
        .admin(Method::POST, &format!("/v1/orders/{id}/fulfill"))
        .json(&handed(&["SH-1", "SH-2"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(early, 409, "unpaid").await),
        "not-fulfillable"
    );
    let paid = app.pay(&order, "evt-o-1").await;
    assert_eq!(paid["status"], "paid");
    let wrong = app
        .admin(Method::POST, &format!("/v1/orders/{id}/fulfill"))
        .json(&handed(&["SH-1"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(wrong, 422, "one serial short").await),
        "serial-count"
    );
    let done = app
        .send(
            Method::POST,
            &format!("/v1/orders/{id}/fulfill"),
            handed(&["SH-1", "SH-2"]),
            200,
        )
        .await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(app.level("wh-in-sricity", "on_hand").await, 98);
    assert_eq!(app.level("wh-in-sricity", "reserved").await, 0);
    let device = app.get("/v1/devices/SH-2").await;
    assert_eq!(device["channel"], "online");
    assert_eq!(device["price"], LIST_PRICE);
    // The buyer reads it; another customer does not see it.
    let other = app.sign_up("other@example.com").await;
    let response = app
        .call(&other.token, Method::GET, &format!("/v1/orders/{id}"), None)
        .await;
    expect(response, 404, "another customer's order").await;
}

#[tokio::test]
async fn a_pickup_order_is_handed_over_by_that_store_only() {
    let app = spawn_app().await;
    let (blr, del) = app.seed_stores(3).await;
    let buyer = app.sign_up("pickup@example.com").await;
    let order = expect(
        app.order(&buyer.token, "p-1", pickup(BLR, 1)).await,
        201,
        "order",
    )
    .await;
    assert_eq!(order["location"], BLR);
    assert_eq!(app.level(BLR, "available").await, 2);
    let id = order["id"].as_str().unwrap();
    app.pay(&order, "evt-p-1").await;
    // The other store's clerk neither sees nor hands it over.
    let seen = app
        .call(&del.0, Method::GET, &format!("/v1/orders/{id}"), None)
        .await;
    expect(seen, 404, "other clerk reads").await;
    let other = app
        .call(
            &del.0,
            Method::POST,
            &format!("/v1/orders/{id}/fulfill"),
            Some(handed(&["PK-1"])),
        )
        .await;
    expect(other, 403, "other clerk hands over").await;
    let own = app
        .call(&blr.0, Method::GET, &format!("/v1/orders/{id}"), None)
        .await;
    expect(own, 200, "own clerk reads").await;
    let done = expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/orders/{id}/fulfill"),
            Some(handed(&["PK-1"])),
        )
        .await,
        200,
        "hand over",
    )
    .await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(app.level(BLR, "on_hand").await, 2);
    assert_eq!(app.level(BLR, "available").await, 2);
    // A store in another market, or a warehouse, is no pickup point.
    let bad = app
        .order(&buyer.token, "p-2", pickup("wh-in-sricity", 1))
        .await;
    expect(bad, 422, "pickup at a warehouse").await;
    // A customer cannot hand an order over.
    let response = app
        .call(
            &buyer.token,
            Method::POST,
            &format!("/v1/orders/{id}/fulfill"),
            Some(handed(&["PK-9"])),
        )
        .await;
    expect(response, 403, "customer hands over").await;
}

#[tokio::test]
async fn unpaid_online_orders_expire_and_release_their_units_even_across_downtime() {
    let start = chrono::Utc::now() - chrono::Duration::days(3000);
    let app = spawn_app_in(fresh_database().await, start).await;
    app.seed_stores(2).await;
    let buyer = app.sign_up("late@example.com").await;
    let order = expect(
        app.order(&buyer.token, "e-1", pickup(BLR, 2)).await,
        201,
        "order",
    )
    .await;
    assert_eq!(app.level(BLR, "available").await, 0);
    let now = app.now().await;
    let app = app.restart_after(chrono::Duration::minutes(31), now).await;
    let id = order["id"].as_str().unwrap();
    let expired = app
        .call(&buyer.token, Method::GET, &format!("/v1/orders/{id}"), None)
        .await;
    assert_eq!(expect(expired, 200, "read").await["status"], "expired");
    assert_eq!(app.level(BLR, "available").await, 2);
    assert_eq!(app.level(BLR, "reserved").await, 0);
    // A payment that arrives after the expiry is owed back.
    let late = app.pay(&order, "evt-late").await;
    assert_eq!(late["status"], "refund_due");
}

#[tokio::test]
async fn a_buyer_cancels_an_unpaid_online_order_and_its_units_return() {
    let app = spawn_app().await;
    app.seed_stores(2).await;
    let buyer = app.sign_up("cancel@example.com").await;
    let order = expect(
        app.order(&buyer.token, "c-1", pickup(DEL, 1)).await,
        201,
        "order",
    )
    .await;
    let id = order["id"].as_str().unwrap();
    let cancelled = app
        .call(
            &buyer.token,
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        expect(cancelled, 200, "cancel").await["status"],
        "cancelled"
    );
    assert_eq!(app.level(DEL, "available").await, 2);
    let again = app
        .call(
            &buyer.token,
            Method::POST,
            &format!("/v1/orders/{id}/cancel"),
            None,
        )
        .await;
    expect(again, 409, "cancel twice").await;
}

#[tokio::test]
async fn pos_sales_and_pickup_orders_racing_for_the_last_units_never_oversell() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(6).await;
    let mut buyers = Vec::new();
    for i in 0..12 {
        buyers.push(app.sign_up(&format!("racer{i}@example.com")).await);
    }
    let mut requests = Vec::new();
    for (i, buyer) in buyers.iter().enumerate() {
        let pos = app
            .anonymous(Method::POST, &format!("/v1/locations/{BLR}/sales"))
            .bearer_auth(&blr.0)
            .json(&sale_body(&format!("race-{i}"), &[&format!("RC-{i}")]));
        let online = app
            .anonymous(Method::POST, "/v1/orders")
            .bearer_auth(&buyer.token)
            .header("idempotency-key", format!("race-{i}"))
            .json(&pickup(BLR, 1));
        requests.push(pos);
        requests.push(online);
    }
    let statuses = statuses_of(requests).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        6,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 201 || s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.level(BLR, "available").await, 0);
    assert!(app.level(BLR, "on_hand").await >= 0);
}

#[tokio::test]
async fn a_flash_sale_order_is_handed_over_the_same_way() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 4})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("flash@example.com").await;
    let order = expect(app.buy(&buyer, id, 2, "f-1").await, 201, "buy").await;
    assert_eq!(order["channel"], "flash_sale");
    let oid = order["id"].as_str().unwrap();
    let early = app
        .admin(Method::POST, &format!("/v1/orders/{oid}/fulfill"))
        .json(&handed(&["FS-1", "FS-2"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(early, 409, "unpaid").await),
        "not-fulfillable"
    );
    app.pay(&order, "evt-f-1").await;
    let done = app
        .send(
            Method::POST,
            &format!("/v1/orders/{oid}/fulfill"),
            handed(&["FS-1", "FS-2"]),
            200,
        )
        .await;
    assert_eq!(done["status"], "fulfilled");
    let counters = app.sale(id).await;
    assert_eq!(counters["fulfilled"], 2);
    assert_eq!(counters["paid"], 0);
    assert_balanced(&counters);
    assert_eq!(app.level("wh-in-sricity", "on_hand").await, 8);
    assert_eq!(app.get("/v1/devices/FS-1").await["channel"], "flash_sale");
    // A serial already handed over cannot be handed over again.
    let other = app.sign_up("flash2@example.com").await;
    let second = expect(app.buy(&other, id, 1, "f-2").await, 201, "another buyer").await;
    app.pay(&second, "evt-f-2").await;
    let sid = second["id"].as_str().unwrap();
    let reused = app
        .admin(Method::POST, &format!("/v1/orders/{sid}/fulfill"))
        .json(&handed(&["FS-1"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(reused, 409, "reused serial").await),
        "serial-sold"
    );
    // Fulfilment survives a restart: it is in the journal.
    let app = app.restart().await;
    assert_eq!(app.sale(id).await["fulfilled"], 2);
}

#[tokio::test]
async fn online_orders_pay_the_online_campaign_price() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(5).await;
    let now = app.now().await;
    app.send(Method::POST, "/v1/campaigns", json!({"name": "Mi Fan Festival", "market": "IN", "skus": [SKU], "price": 999_900,
        "channels": ["online"], "starts_at": now - chrono::Duration::hours(1), "ends_at": now + chrono::Duration::hours(1)}), 201).await;
    let buyer = app.sign_up("fan@example.com").await;
    let order = expect(app.order(&buyer.token, "cp-1", ship(1)).await, 201, "order").await;
    assert_eq!(order["amount"], 999_900);
    assert!(order["lines"][0]["campaign"].is_i64());
    let receipt = expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(sale_body("cp-pos", &["CPX-1"])),
        )
        .await,
        201,
        "pos",
    )
    .await;
    assert_eq!(receipt["total"], LIST_PRICE, "the campaign is online only");
}

#[tokio::test]
async fn every_channel_writes_the_shipment_ledger_once() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 4})).await;
    // A store on top of the flash sale's India.
    app.send(
        Method::POST,
        "/v1/locations",
        json!({"id": BLR, "kind": "store", "market": "IN", "name": "Mi Home", "city": "Bengaluru"}),
        201,
    )
    .await;
    app.send(
        Method::POST,
        &format!("/v1/locations/{BLR}/receipts"),
        json!({"sku": SKU, "quantity": 5}),
        201,
    )
    .await;
    let blr = app.clerk(BLR, "Priya").await;
    let quarter = crate::helpers::CLOCK_START[..4].to_owned() + "Q3";
    // A counter sale of 2, sent twice (online, then again in a sync): one row.
    let pos = sale_body("ledger-1", &["LG-1", "LG-2"]);
    expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(pos.clone()),
        )
        .await,
        201,
        "pos",
    )
    .await;
    expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(pos),
        )
        .await,
        200,
        "pos again",
    )
    .await;
    // An online order of 1, shipped once paid; a flash-sale order of 2, handed over.
    let buyer = app.sign_up("ledger@example.com").await;
    let online = expect(app.order(&buyer.token, "lg-o", ship(1)).await, 201, "order").await;
    app.pay(&online, "evt-lg-o").await;
    let oid = online["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/v1/orders/{oid}/fulfill"),
        handed(&["LG-3"]),
        200,
    )
    .await;
    let flash = expect(
        app.buy(&buyer, sale["id"].as_i64().unwrap(), 2, "lg-f")
            .await,
        201,
        "buy",
    )
    .await;
    app.pay(&flash, "evt-lg-f").await;
    let fid = flash["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/v1/orders/{fid}/fulfill"),
        handed(&["LG-4", "LG-5"]),
        200,
    )
    .await;
    // One unit comes back: a negative row in the channel it was sold through.
    let refund = expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/returns"),
            Some(json!({"serial": "LG-4", "reason": "x", "condition": "resellable"})),
        )
        .await,
        201,
        "return",
    )
    .await;
    let rows = app.get(&format!("/v1/shipments?period={quarter}")).await;
    let rows = rows.as_array().unwrap();
    let by_channel = |channel: &str| -> (i64, i64) {
        rows.iter()
            .filter(|r| r["channel"] == channel)
            .fold((0, 0), |(u, r), row| {
                (
                    u + row["units"].as_i64().unwrap(),
                    r + row["revenue"].as_i64().unwrap(),
                )
            })
    };
    assert_eq!(by_channel("store"), (2, 2 * LIST_PRICE), "{rows:?}");
    assert_eq!(by_channel("online"), (1, LIST_PRICE), "{rows:?}");
    assert_eq!(
        by_channel("flash_sale"),
        (1, 2 * LIST_PRICE - refund["amount"].as_i64().unwrap()),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 4, "three hand-overs and one return: {rows:?}");
    assert!(rows
        .iter()
        .all(|r| r["market"] == "IN" && r["currency"] == "INR" && r["product"] == "redmi-note-4"));
    let bad = app
        .admin(Method::GET, "/v1/shipments?period=2017Q5")
        .send()
        .await
        .unwrap();
    expect(bad, 422, "bad period").await;
}

/// The time between an order's creation and its `pay_by`, in seconds.
fn hold_secs(order: &Value) -> i64 {
    let at =
        |field: &str| chrono::DateTime::parse_from_rfc3339(order[field].as_str().unwrap()).unwrap();
    (at("pay_by") - at("created_at")).num_seconds()
}

#[tokio::test]
async fn one_account_cannot_hold_a_stores_stock() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(8).await;
    let hoarder = app.sign_up("hoarder@example.com").await;
    // Five units of one SKU held unpaid is the cap; the pickup hold is the shorter one.
    let first = expect(
        app.order(&hoarder.token, "h-1", pickup(BLR, 5)).await,
        201,
        "order",
    )
    .await;
    assert_eq!(hold_secs(&first), 15 * 60);
    for (key, body) in [("h-2", pickup(BLR, 1)), ("h-3", ship(1))] {
        let refused = expect(app.order(&hoarder.token, key, body).await, 409, key).await;
        assert_eq!(problem_slug(&refused), "unpaid-units-per-sku-limit");
        assert!(
            refused["detail"].as_str().unwrap().contains("at most 5"),
            "{refused}"
        );
    }
    assert_eq!(app.level(BLR, "available").await, 3);
    // The store's own counter still sells what the hoarder could not take.
    expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(sale_body("counter-1", &["CT-1"])),
        )
        .await,
        201,
        "counter sale",
    )
    .await;
    // Paid units are no longer held: more orders may follow, three open at most,
    // even when twenty arrive at once.
    app.pay(&first, "evt-h-1").await;
    let burst = (0..20)
        .map(|i| {
            app.anonymous(Method::POST, "/v1/orders")
                .bearer_auth(&hoarder.token)
                .header("idempotency-key", format!("burst-{i}"))
                .json(&ship(1))
        })
        .collect();
    let statuses = statuses_of(burst).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        17,
        "{statuses:?}"
    );
    let fourth = expect(
        app.order(&hoarder.token, "h-4", ship(1)).await,
        409,
        "fourth",
    )
    .await;
    assert_eq!(problem_slug(&fourth), "unpaid-orders-limit");
    assert_eq!(app.level("wh-in-sricity", "reserved").await, 3);
    // A shipped order holds for the longer time; another buyer is not affected.
    let other = app.sign_up("other@example.com").await;
    let shipped = expect(app.order(&other.token, "o-1", ship(2)).await, 201, "other").await;
    assert_eq!(hold_secs(&shipped), 30 * 60);
}
