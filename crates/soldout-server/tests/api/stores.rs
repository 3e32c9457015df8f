//! Signature stores: clerk scoping, the point of sale, offline sync, returns,
//! transfers, discrepancies and campaign prices, over real HTTP.

use crate::helpers::{expect, problem_slug, spawn_app, statuses_of, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) const BLR: &str = "store-in-bengaluru";
pub(crate) const DEL: &str = "store-in-delhi";
pub(crate) const SKU: &str = "RN4-3-32-GLD";
/// The list price of RN4-3-32-GLD in India (minor units).
pub(crate) const LIST_PRICE: i64 = 1_099_900;

/// A clerk's token.
pub(crate) struct Clerk(pub(crate) String);

impl TestApp {
    /// India seeded, two stores with `stock` units of RN4-3-32-GLD each, 100 at the
    /// warehouse, and a clerk per store.
    pub(crate) async fn seed_stores(&self, stock: i64) -> (Clerk, Clerk) {
        self.seed_india().await;
        for (id, city) in [(BLR, "Bengaluru"), (DEL, "Delhi")] {
            self.send(
                Method::POST,
                "/v1/locations",
                json!({"id": id, "kind": "store", "market": "IN", "name": format!("Mi Home {city}"), "city": city}),
                201,
            )
            .await;
            if stock > 0 {
                self.send(
                    Method::POST,
                    &format!("/v1/locations/{id}/receipts"),
                    json!({"sku": SKU, "quantity": stock}),
                    201,
                )
                .await;
            }
        }
        self.send(
            Method::POST,
            "/v1/locations/wh-in-sricity/receipts",
            json!({"sku": SKU, "quantity": 100}),
            201,
        )
        .await;
        let blr = self.clerk(BLR, "Priya").await;
        let del = self.clerk(DEL, "Arjun").await;
        (blr, del)
    }

    pub(crate) async fn clerk(&self, store: &str, name: &str) -> Clerk {
        let created = self
            .send(
                Method::POST,
                &format!("/v1/locations/{store}/clerks"),
                json!({ "name": name }),
                201,
            )
            .await;
        assert_eq!(created["store"], store);
        Clerk(created["token"].as_str().unwrap().to_owned())
    }

    /// A request with a given bearer token.
    pub(crate) async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.anonymous(method, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn level(&self, location: &str, field: &str) -> i64 {
        let stock = self.get(&format!("/v1/locations/{location}/stock")).await;
        stock
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["sku"] == SKU)
            .map(|l| l[field].as_i64().unwrap())
            .unwrap_or(0)
    }
}

pub(crate) fn sale_body(client_id: &str, serials: &[&str]) -> Value {
    json!({
        "lines": [{"sku": SKU, "quantity": serials.len(), "serials": serials}],
        "payment": {"method": "card", "reference": "TID-1"},
        "client_id": client_id
    })
}

fn offline_body(
    client_id: &str,
    serials: &[&str],
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let mut body = sale_body(client_id, serials);
    body["occurred_at"] = json!(occurred_at);
    body
}

#[tokio::test]
async fn clerks_act_only_in_their_own_store_and_roles_do_not_mix() {
    let app = spawn_app().await;
    let (blr, _del) = app.seed_stores(5).await;
    let customer = app.sign_up("buyer@example.com").await;
    // Another store's stock, sales, returns, transfers: 403.
    let other_store = [
        (Method::GET, format!("/v1/locations/{DEL}/stock")),
        (Method::GET, format!("/v1/locations/{DEL}/movements")),
        (Method::POST, format!("/v1/locations/{DEL}/sales")),
        (Method::GET, format!("/v1/locations/{DEL}/sales")),
        (Method::POST, format!("/v1/locations/{DEL}/sales:sync")),
        (Method::POST, format!("/v1/locations/{DEL}/returns")),
        (Method::GET, format!("/v1/locations/{DEL}/transfers")),
    ];
    for (method, path) in &other_store {
        let body = match path.as_str() {
            p if p.ends_with("/sales") => Some(sale_body("x-1", &["S-OTHER"])),
            p if p.ends_with(":sync") => Some(json!({"sales": []})),
            p if p.ends_with("/returns") => {
                Some(json!({"serial": "S1", "reason": "r", "condition": "resellable"}))
            }
            _ => None,
        };
        let response = app.call(&blr.0, method.clone(), path, body).await;
        let problem = expect(response, 403, &format!("clerk: {method} {path}")).await;
        assert_eq!(problem_slug(&problem), "forbidden");
    }
    // A clerk requesting a transfer into another store: 403.
    let response = app
        .call(
            &blr.0,
            Method::POST,
            "/v1/transfers",
            Some(
                json!({"from": "wh-in-sricity", "to": DEL, "lines": [{"sku": SKU, "quantity": 1}]}),
            ),
        )
        .await;
    expect(response, 403, "clerk transfer into another store").await;
    // Admin routes: 403 for a clerk.
    let admin_routes = [
        (Method::POST, "/v1/locations".to_owned(), json!({})),
        (
            Method::POST,
            "/v1/locations/store-in-bengaluru/receipts".to_owned(),
            json!({"sku": SKU, "quantity": 1}),
        ),
        (
            Method::POST,
            "/v1/locations/store-in-bengaluru/adjustments".to_owned(),
            json!({"sku": SKU, "delta": 1, "reason": "x"}),
        ),
        (
            Method::POST,
            format!("/v1/locations/{BLR}/clerks"),
            json!({"name": "x"}),
        ),
        (Method::POST, "/v1/campaigns".to_owned(), json!({})),
        (Method::GET, "/v1/campaigns".to_owned(), json!({})),
        (
            Method::POST,
            "/v1/discrepancies/1/resolve".to_owned(),
            json!({"note": "x"}),
        ),
        (Method::GET, "/v1/devices/S1".to_owned(), json!({})),
        (Method::POST, "/v1/transfers/1/ship".to_owned(), json!({})),
        (Method::POST, "/v1/sales".to_owned(), json!({})),
        (Method::GET, "/v1/sales".to_owned(), json!({})),
        (Method::GET, "/v1/locations".to_owned(), json!({})),
    ];
    for (method, path, body) in &admin_routes {
        let response = app
            .call(&blr.0, method.clone(), path, Some(body.clone()))
            .await;
        expect(
            response,
            403,
            &format!("clerk on admin route {method} {path}"),
        )
        .await;
    }
    // Clerk routes: 403 for a customer, even in "their" store.
    for (method, path) in other_store.iter().chain(
        [
            (Method::GET, "/v1/refunds".to_owned()),
            (Method::GET, "/v1/discrepancies".to_owned()),
            (Method::POST, "/v1/transfers".to_owned()),
            (Method::GET, "/v1/transfers/1".to_owned()),
            (Method::POST, "/v1/transfers/1/receive".to_owned()),
        ]
        .iter(),
    ) {
        let response = app
            .call(&customer.token, method.clone(), path, Some(json!({})))
            .await;
        expect(
            response,
            403,
            &format!("customer on clerk route {method} {path}"),
        )
        .await;
    }
    // A clerk cannot buy in a flash sale or place an online order: customers' routes.
    let response = app
        .call(&blr.0, Method::POST, "/v1/sales/1/registrations", None)
        .await;
    expect(response, 403, "clerk on a customer route").await;
    let order = json!({"market": "IN", "lines": [{"sku": SKU, "quantity": 1}], "fulfillment": {"type": "ship"}});
    let response = app
        .call(&blr.0, Method::POST, "/v1/orders", Some(order))
        .await;
    expect(response, 403, "clerk places an order").await;
    // Nothing changed anywhere.
    assert_eq!(app.level(DEL, "on_hand").await, 5);
    assert_eq!(app.level(BLR, "on_hand").await, 5);
    // Their own store works.
    let response = app
        .call(
            &blr.0,
            Method::GET,
            &format!("/v1/locations/{BLR}/stock"),
            None,
        )
        .await;
    expect(response, 200, "own stock").await;
}

#[tokio::test]
async fn a_pos_sale_records_serials_once_per_client_id() {
    let app = spawn_app().await;
    let (blr, del) = app.seed_stores(3).await;
    let path = format!("/v1/locations/{BLR}/sales");
    let body = sale_body("pos-1-0001", &["865321030000001", "865321030000002"]);
    let receipt = expect(
        app.call(&blr.0, Method::POST, &path, Some(body.clone()))
            .await,
        201,
        "sale",
    )
    .await;
    assert_eq!(receipt["total"], 2 * LIST_PRICE);
    assert_eq!(receipt["currency"], "INR");
    assert_eq!(receipt["lines"][0]["unit_price"], LIST_PRICE);
    assert_eq!(
        receipt["lines"][0]["serials"],
        json!(["865321030000001", "865321030000002"])
    );
    assert_eq!(receipt["offline"], false);
    assert_eq!(app.level(BLR, "on_hand").await, 1);
    // The same client_id again: the same receipt, nothing new.
    let again = expect(
        app.call(&blr.0, Method::POST, &path, Some(body)).await,
        200,
        "resend",
    )
    .await;
    assert_eq!(again, receipt);
    assert_eq!(app.level(BLR, "on_hand").await, 1);
    // The same client_id for another sale in this store: refused, nothing recorded.
    let reused = app
        .call(
            &blr.0,
            Method::POST,
            &path,
            Some(sale_body("pos-1-0001", &["865321030000003"])),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(reused, 409, "client id reused").await),
        "client-id-reused"
    );
    assert_eq!(app.level(BLR, "on_hand").await, 1);
    // The same client_id in another store is another sale.
    let other = expect(
        app.call(
            &del.0,
            Method::POST,
            &format!("/v1/locations/{DEL}/sales"),
            Some(sale_body("pos-1-0001", &["865321030000009"])),
        )
        .await,
        201,
        "same client id, other store",
    )
    .await;
    assert_ne!(other["id"], receipt["id"]);
    // The device registry knows each unit.
    let device = app.get("/v1/devices/865321030000001").await;
    assert_eq!(device["channel"], "store");
    assert_eq!(device["market"], "IN");
    assert_eq!(device["os_version"], "8.1.0");
    assert_eq!(device["location"], BLR);
    // Serials must match quantities; a sold serial cannot be sold again.
    let mismatch = json!({"lines": [{"sku": SKU, "quantity": 2, "serials": ["A1"]}], "payment": {"method": "cash", "reference": null}, "client_id": "pos-1-0002"});
    expect(
        app.call(&blr.0, Method::POST, &path, Some(mismatch)).await,
        422,
        "serial count",
    )
    .await;
    let resold = app
        .call(
            &blr.0,
            Method::POST,
            &path,
            Some(sale_body("pos-1-0003", &["865321030000002"])),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(resold, 409, "resold serial").await),
        "serial-sold"
    );
    // More than the store has: 409, nothing recorded.
    let short = app
        .call(
            &blr.0,
            Method::POST,
            &path,
            Some(sale_body("pos-1-0004", &["B1", "B2"])),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(short, 409, "short").await),
        "insufficient-stock"
    );
    assert_eq!(app.level(BLR, "on_hand").await, 1);
    let response = app
        .admin(Method::GET, "/v1/devices/B1")
        .send()
        .await
        .unwrap();
    expect(response, 404, "no device for a refused sale").await;
    // Unknown SKU: 404; a product not launched in the market: 409.
    let mut unknown = sale_body("pos-1-0005", &["C1"]);
    unknown["lines"][0]["sku"] = json!("NOPE-1");
    expect(
        app.call(&blr.0, Method::POST, &path, Some(unknown)).await,
        404,
        "unknown sku",
    )
    .await;
    app.send(Method::PUT, "/v1/products/redmi-note-4/launches/IN", json!({"teaser_at": "2018-01-09T12:00:00Z", "unveil_at": "2018-01-19T12:00:00Z", "sale_from": "2018-01-23T12:00:00Z"}), 200).await;
    let early = app
        .call(
            &blr.0,
            Method::POST,
            &path,
            Some(sale_body("pos-1-0006", &["C2"])),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(early, 409, "not launched").await),
        "not-launched"
    );
    // The store's receipts, newest first.
    let list = app.call(&blr.0, Method::GET, &path, None).await;
    let list = expect(list, 200, "receipts").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let mut sold = receipt.clone();
    let tokens = sold
        .as_object_mut()
        .unwrap()
        .remove("device_tokens")
        .unwrap();
    assert_eq!(
        tokens.as_array().unwrap().len(),
        2,
        "a device token per unit: {tokens}"
    );
    assert_eq!(list[0], sold, "the receipt as listed, without the tokens");
}

#[tokio::test]
async fn offline_sales_apply_exactly_once_in_any_order_however_often_resent() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(3).await;
    let now = app.now().await;
    let hours = |h| now - chrono::Duration::hours(h);
    // One sale recorded online first: its client_id is a duplicate in the sync.
    let online = sale_body("pos-7-0001", &["OS-1"]);
    expect(
        app.call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(online),
        )
        .await,
        201,
        "online",
    )
    .await;
    let batch = vec![
        offline_body("pos-7-0001", &["OS-1"], hours(5)),
        offline_body("pos-7-0002", &["OS-2"], hours(4)),
        offline_body("pos-7-0003", &["OS-3", "OS-4"], hours(3)),
        offline_body("pos-7-0004", &["OS-5"], hours(2)),
        offline_body("pos-7-0005", &["OS-6"], now - chrono::Duration::days(31)),
        json!({"client_id": "pos-7-0006", "lines": "not a list"}),
    ];
    let sync_path = format!("/v1/locations/{BLR}/sales:sync");
    let sync = |sales: Vec<Value>| {
        let app = &app;
        let blr = &blr;
        let sync_path = &sync_path;
        async move {
            let response = app
                .call(
                    &blr.0,
                    Method::POST,
                    sync_path,
                    Some(json!({ "sales": sales })),
                )
                .await;
            expect(response, 200, "sync").await["results"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let first = sync(batch.clone()).await;
    let statuses: Vec<_> = first
        .iter()
        .map(|r| {
            (
                r["client_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("pos-7-0001", "duplicate"),
            ("pos-7-0002", "applied"),
            ("pos-7-0003", "applied"),
            ("pos-7-0004", "applied"),
            ("pos-7-0005", "rejected"),
            ("pos-7-0006", "rejected"),
        ]
        .map(|(c, s)| (c.to_owned(), s.to_owned()))
    );
    assert!(first[4]["reason"].as_str().unwrap().contains("30 days"));
    // Each applied sale's units come with their device tokens; a refusal has none.
    let tokens = first[2]["device_tokens"].as_array().unwrap();
    let serials: Vec<_> = tokens.iter().map(|t| t["serial"].clone()).collect();
    assert_eq!(serials, [json!("OS-3"), json!("OS-4")]);
    assert!(tokens
        .iter()
        .all(|t| t["token"].as_str().unwrap().starts_with("d.")));
    assert!(first[4].get("device_tokens").is_none());
    // 3 on hand: the online sale took 1, the sync 1 + 2 + 1 = 4 units, so the ledger
    // gave 2 and raised a discrepancy for the rest; on_hand stops at 0.
    assert_eq!(app.level(BLR, "on_hand").await, 0);
    assert_eq!(app.level(BLR, "available").await, 0);
    let discrepancies = app.get("/v1/discrepancies").await;
    let short: i64 = discrepancies
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "offline_oversold")
        .map(|d| d["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(short, 2);
    // Every unit is in the registry with the time the sale happened, to the
    // microsecond: PostgreSQL's timestamptz keeps no finer, SQLite keeps nanoseconds.
    use chrono::SubsecRound;
    assert_eq!(
        app.get("/v1/devices/OS-4").await["sold_at"]
            .as_str()
            .map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap().trunc_subsecs(6)),
        Some(hours(3).trunc_subsecs(6))
    );
    // Resent whole, reversed, and mixed with one new sale: only the new one applies.
    let ids: Vec<_> = first.iter().map(|r| r["sale"].clone()).collect();
    let mut reversed = batch.clone();
    reversed.reverse();
    reversed.insert(2, offline_body("pos-7-0007", &["OS-7"], hours(1)));
    let second = sync(reversed).await;
    let applied: Vec<_> = second
        .iter()
        .filter(|r| r["status"] == "applied")
        .map(|r| r["client_id"].clone())
        .collect();
    assert_eq!(applied, [json!("pos-7-0007")]);
    for r in &second {
        if let Some(i) = first
            .iter()
            .position(|f| f["client_id"] == r["client_id"] && f["status"] != "rejected")
        {
            assert_eq!(r["status"], "duplicate", "{r}");
            assert_eq!(r["sale"], ids[i]);
        }
    }
    let third = sync(batch).await;
    assert!(third.iter().all(|r| r["status"] != "applied"));
    let receipts = app
        .call(
            &blr.0,
            Method::GET,
            &format!("/v1/locations/{BLR}/sales"),
            None,
        )
        .await;
    assert_eq!(
        expect(receipts, 200, "receipts")
            .await
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // A clerk sees their store's discrepancies; an admin resolves them, once.
    let mine = expect(
        app.call(&blr.0, Method::GET, "/v1/discrepancies", None)
            .await,
        200,
        "clerk discrepancies",
    )
    .await;
    let id = mine[0]["id"].as_i64().unwrap();
    let resolved = app
        .send(
            Method::POST,
            &format!("/v1/discrepancies/{id}/resolve"),
            json!({"note": "recounted"}),
            200,
        )
        .await;
    assert_eq!(resolved["resolution"], "recounted");
    let again = app
        .admin(Method::POST, &format!("/v1/discrepancies/{id}/resolve"))
        .json(&json!({"note": "x"}))
        .send()
        .await
        .unwrap();
    expect(again, 409, "resolved twice").await;
    // Over 1,000 sales in one sync: refused whole.
    let too_many: Vec<Value> = (0..1001)
        .map(|i| offline_body(&format!("bulk-{i}"), &["X"], hours(1)))
        .collect();
    let response = app
        .call(
            &blr.0,
            Method::POST,
            &sync_path,
            Some(json!({ "sales": too_many })),
        )
        .await;
    expect(response, 422, "too many").await;
}

#[tokio::test]
async fn an_offline_sale_of_a_product_not_launched_yet_is_recorded_with_a_discrepancy() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(2).await;
    let now = app.now().await;
    app.send(Method::PUT, "/v1/products/redmi-note-4/launches/IN", json!({"teaser_at": "2018-01-09T12:00:00Z", "unveil_at": "2018-01-19T12:00:00Z", "sale_from": "2018-01-23T12:00:00Z"}), 200).await;
    let sale = offline_body("nl-1", &["NL-1"], now - chrono::Duration::hours(1));
    let response = app
        .call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales:sync"),
            Some(json!({"sales": [sale]})),
        )
        .await;
    let results = expect(response, 200, "sync").await;
    assert_eq!(results["results"][0]["status"], "applied");
    assert_eq!(
        app.level(BLR, "on_hand").await,
        1,
        "the phone left the store"
    );
    let discrepancies = expect(
        app.call(&blr.0, Method::GET, "/v1/discrepancies", None)
            .await,
        200,
        "list",
    )
    .await;
    assert_eq!(discrepancies[0]["kind"], "offline_not_launched");
    assert_eq!(discrepancies[0]["quantity"], 1);
    assert_eq!(app.get("/v1/devices/NL-1").await["channel"], "store");
}

#[tokio::test]
async fn returns_refund_inside_the_window_and_the_serial_sells_again() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(3).await;
    let now = app.now().await;
    let sell = |client: &'static str, serial: &'static str| {
        let app = &app;
        let blr = &blr;
        async move {
            let response = app
                .call(
                    &blr.0,
                    Method::POST,
                    &format!("/v1/locations/{BLR}/sales"),
                    Some(sale_body(client, &[serial])),
                )
                .await;
            expect(response, 201, "sell").await
        }
    };
    sell("r-1", "RS-1").await;
    sell("r-2", "RS-2").await;
    assert_eq!(app.level(BLR, "on_hand").await, 1);
    let returns = format!("/v1/locations/{BLR}/returns");
    let refund = expect(
        app.call(
            &blr.0,
            Method::POST,
            &returns,
            Some(json!({"serial": "RS-1", "reason": "changed mind", "condition": "resellable"})),
        )
        .await,
        201,
        "return",
    )
    .await;
    assert_eq!(refund["amount"], LIST_PRICE);
    assert_eq!(refund["currency"], "INR");
    assert_eq!(app.level(BLR, "on_hand").await, 2);
    let damaged = expect(
        app.call(
            &blr.0,
            Method::POST,
            &returns,
            Some(json!({"serial": "RS-2", "reason": "cracked screen", "condition": "damaged"})),
        )
        .await,
        201,
        "damaged return",
    )
    .await;
    assert_eq!(damaged["condition"], "damaged");
    assert_eq!(
        app.level(BLR, "on_hand").await,
        2,
        "a damaged unit is not sellable stock"
    );
    assert_eq!(app.level(BLR, "damaged").await, 1);
    // Returned twice: refused; never sold: 404.
    let twice = app
        .call(
            &blr.0,
            Method::POST,
            &returns,
            Some(json!({"serial": "RS-1", "reason": "again", "condition": "resellable"})),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(twice, 409, "returned twice").await),
        "not-sold"
    );
    let never = app
        .call(
            &blr.0,
            Method::POST,
            &returns,
            Some(json!({"serial": "NEVER-1", "reason": "x", "condition": "resellable"})),
        )
        .await;
    expect(never, 404, "never sold").await;
    // The returned serial can be sold again.
    sell("r-3", "RS-1").await;
    assert!(app.get("/v1/devices/RS-1").await["returned_at"].is_null());
    // Outside the window: a unit sold offline 20 days ago, the window is 14 days.
    let old = offline_body("r-4", &["RS-OLD"], now - chrono::Duration::days(20));
    let response = app
        .call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales:sync"),
            Some(json!({"sales": [old]})),
        )
        .await;
    assert_eq!(
        expect(response, 200, "sync").await["results"][0]["status"],
        "applied"
    );
    let late = app
        .call(
            &blr.0,
            Method::POST,
            &returns,
            Some(json!({"serial": "RS-OLD", "reason": "x", "condition": "resellable"})),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(late, 409, "late").await),
        "return-window-closed"
    );
    let refunds = expect(
        app.call(&blr.0, Method::GET, "/v1/refunds", None).await,
        200,
        "refunds",
    )
    .await;
    assert_eq!(refunds.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_pos_sales_on_the_last_units_never_go_below_zero() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(5).await;
    let path = format!("/v1/locations/{BLR}/sales");
    let mut requests = Vec::new();
    for i in 0..30 {
        let request = app
            .anonymous(Method::POST, &path)
            .bearer_auth(&blr.0)
            .json(&sale_body(&format!("c-{i}"), &[&format!("CS-{i}")]));
        requests.push(request);
    }
    let statuses = statuses_of(requests).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        25,
        "{statuses:?}"
    );
    assert_eq!(app.level(BLR, "on_hand").await, 0);
}

#[tokio::test]
async fn a_transfer_is_incoming_until_counted_in_and_a_shortfall_is_a_discrepancy() {
    let app = spawn_app().await;
    let (blr, del) = app.seed_stores(0).await;
    let transfer = app
        .send(
            Method::POST,
            "/v1/transfers",
            json!({"from": "wh-in-sricity", "to": BLR, "lines": [{"sku": SKU, "quantity": 20}]}),
            201,
        )
        .await;
    assert_eq!(transfer["status"], "in_transit");
    let id = transfer["id"].as_i64().unwrap();
    assert_eq!(app.level("wh-in-sricity", "on_hand").await, 80);
    assert_eq!(app.level(BLR, "incoming").await, 20);
    assert_eq!(app.level(BLR, "available").await, 0);
    // Only the destination's clerk (or an admin) counts it in.
    let receive = format!("/v1/transfers/{id}/receive");
    let wrong = app
        .call(
            &del.0,
            Method::POST,
            &receive,
            Some(json!({"lines": [{"sku": SKU, "quantity": 20}]})),
        )
        .await;
    expect(wrong, 403, "other clerk").await;
    let too_many = app
        .call(
            &blr.0,
            Method::POST,
            &receive,
            Some(json!({"lines": [{"sku": SKU, "quantity": 21}]})),
        )
        .await;
    expect(too_many, 422, "more than shipped").await;
    let received = expect(
        app.call(
            &blr.0,
            Method::POST,
            &receive,
            Some(json!({"lines": [{"sku": SKU, "quantity": 18}]})),
        )
        .await,
        200,
        "receive",
    )
    .await;
    assert_eq!(received["status"], "received");
    assert_eq!(received["lines"][0]["received"], 18);
    assert_eq!(app.level(BLR, "on_hand").await, 18);
    assert_eq!(app.level(BLR, "incoming").await, 0);
    let twice = app
        .call(
            &blr.0,
            Method::POST,
            &receive,
            Some(json!({"lines": [{"sku": SKU, "quantity": 2}]})),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(twice, 409, "received twice").await),
        "transfer-status"
    );
    let discrepancies = app.get("/v1/discrepancies").await;
    assert_eq!(discrepancies[0]["kind"], "transfer_shortfall");
    assert_eq!(discrepancies[0]["quantity"], 2);
    assert_eq!(discrepancies[0]["location"], BLR);
    // A clerk requests a transfer into their store; nothing moves until an admin ships it.
    let requested = expect(
        app.call(
            &del.0,
            Method::POST,
            "/v1/transfers",
            Some(json!({"from": BLR, "to": DEL, "lines": [{"sku": SKU, "quantity": 5}]})),
        )
        .await,
        201,
        "request",
    )
    .await;
    assert_eq!(requested["status"], "requested");
    let rid = requested["id"].as_i64().unwrap();
    assert_eq!(app.level(BLR, "on_hand").await, 18);
    let early = app
        .call(
            &del.0,
            Method::POST,
            &format!("/v1/transfers/{rid}/receive"),
            Some(json!({"lines": [{"sku": SKU, "quantity": 5}]})),
        )
        .await;
    assert_eq!(
        problem_slug(&expect(early, 409, "receive before shipping").await),
        "transfer-status"
    );
    let shipped = app
        .send(
            Method::POST,
            &format!("/v1/transfers/{rid}/ship"),
            json!({}),
            200,
        )
        .await;
    assert_eq!(shipped["status"], "in_transit");
    assert_eq!(app.level(BLR, "on_hand").await, 13);
    assert_eq!(app.level(DEL, "incoming").await, 5);
    let again = app
        .admin(Method::POST, &format!("/v1/transfers/{rid}/ship"))
        .send()
        .await
        .unwrap();
    expect(again, 409, "shipped twice").await;
    // Both ends' clerks see it; the list shows it at each end.
    expect(
        app.call(&blr.0, Method::GET, &format!("/v1/transfers/{rid}"), None)
            .await,
        200,
        "source clerk",
    )
    .await;
    let list = expect(
        app.call(
            &del.0,
            Method::GET,
            &format!("/v1/locations/{DEL}/transfers"),
            None,
        )
        .await,
        200,
        "list",
    )
    .await;
    assert_eq!(list[0]["id"], rid);
    // More than the source has: refused whole; across markets or to itself: 422.
    let short = app
        .admin(Method::POST, "/v1/transfers")
        .json(&json!({"from": BLR, "to": DEL, "lines": [{"sku": SKU, "quantity": 14}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(short, 409, "short").await),
        "insufficient-stock"
    );
    assert_eq!(app.level(DEL, "incoming").await, 5);
    let same = app
        .admin(Method::POST, "/v1/transfers")
        .json(&json!({"from": BLR, "to": BLR, "lines": [{"sku": SKU, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    expect(same, 422, "same location").await;
}

#[tokio::test]
async fn campaign_prices_hold_from_start_to_end_and_never_overlap() {
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(10).await;
    let now = app.now().await;
    let hour = chrono::Duration::hours(1);
    let campaign = |starts: chrono::DateTime<chrono::Utc>, ends: chrono::DateTime<chrono::Utc>| {
        json!({"name": "Diwali with Mi", "market": "IN", "skus": [SKU], "percent_off": 10,
               "channels": ["store", "online"], "starts_at": starts, "ends_at": ends})
    };
    app.send(
        Method::POST,
        "/v1/campaigns",
        campaign(now - hour * 5, now - hour * 4),
        201,
    )
    .await;
    let created = app
        .send(
            Method::POST,
            "/v1/campaigns",
            campaign(now - hour * 2, now + hour),
            201,
        )
        .await;
    let cid = created["id"].as_i64().unwrap();
    // Overlapping on the same SKU: refused; touching at the end: fine.
    let overlap = app
        .admin(Method::POST, "/v1/campaigns")
        .json(&campaign(now, now + hour * 3))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(overlap, 409, "overlap").await),
        "campaign-overlap"
    );
    app.send(
        Method::POST,
        "/v1/campaigns",
        campaign(now + hour, now + hour * 2),
        201,
    )
    .await;
    let bad = app.admin(Method::POST, "/v1/campaigns").json(&json!({"name": "x", "market": "IN", "skus": [SKU], "price": 1, "percent_off": 5, "channels": ["store"], "starts_at": now, "ends_at": now + hour})).send().await.unwrap();
    expect(bad, 422, "price and percent").await;
    // During the campaign: its price, and the receipt names it.
    let path = format!("/v1/locations/{BLR}/sales");
    let during = expect(
        app.call(
            &blr.0,
            Method::POST,
            &path,
            Some(sale_body("cp-1", &["CP-1"])),
        )
        .await,
        201,
        "during",
    )
    .await;
    let campaign_price = (LIST_PRICE * 90 + 50) / 100;
    assert_eq!(during["lines"][0]["unit_price"], campaign_price);
    assert_eq!(during["lines"][0]["campaign"], cid);
    // An offline sale is priced at the time it happened: before the campaign, the list price.
    let before = offline_body("cp-2", &["CP-2"], now - hour * 3);
    let response = app
        .call(
            &blr.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales:sync"),
            Some(json!({"sales": [
                before,
                offline_body("cp-3", &["CP-3"], now - hour * 2),
                offline_body("cp-4", &["CP-4"], now - hour * 4),
                offline_body("cp-5", &["CP-5"], now - hour * 4 - chrono::Duration::seconds(1)),
            ]})),
        )
        .await;
    let results = expect(response, 200, "sync").await;
    let receipts = expect(
        app.call(&blr.0, Method::GET, &path, None).await,
        200,
        "receipts",
    )
    .await;
    let price_of = |client: &str| {
        receipts
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["client_id"] == client)
            .unwrap()["lines"][0]["unit_price"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(results["results"][0]["status"], "applied");
    assert_eq!(price_of("cp-2"), LIST_PRICE, "before the start");
    assert_eq!(price_of("cp-3"), campaign_price, "at the start exactly");
    assert_eq!(price_of("cp-4"), LIST_PRICE, "at the end exactly");
    assert_eq!(price_of("cp-5"), campaign_price, "just before the end");
    let campaigns = app.get("/v1/campaigns?market=IN").await;
    assert_eq!(campaigns.as_array().unwrap().len(), 3);
}
