//! Malformed JSON, unknown fields, negative and absurd quantities, unknown ids, long
//! names and huge bodies: each gets a 4xx problem that says what was wrong, and
//! changes nothing.

use crate::helpers::{expect, problem_slug, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// The whole observable state of the seeded warehouse.
async fn snapshot(app: &TestApp) -> (Value, Value, Value) {
    (
        app.get("/v1/locations/wh-in-sricity/stock").await,
        app.get("/v1/locations/wh-in-sricity/movements").await,
        app.get("/v1/locations").await,
    )
}

async fn seeded() -> TestApp {
    let app = spawn_app().await;
    app.seed_india().await;
    app.send(
        Method::POST,
        "/v1/locations/wh-in-sricity/receipts",
        json!({"sku": "RN4-3-32-GLD", "quantity": 10, "reference": "PO-1"}),
        201,
    )
    .await;
    app
}

#[tokio::test]
async fn bad_bodies_are_refused_and_change_nothing() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let receipts = "/v1/locations/wh-in-sricity/receipts";
    let adjustments = "/v1/locations/wh-in-sricity/adjustments";
    let cases: Vec<(&str, &str, u16, &str, &str)> = vec![
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 5"#,
            400,
            "malformed-request",
            "EOF",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 5, "colour": "red"}"#,
            422,
            "invalid-request",
            "unknown field `colour`",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD"}"#,
            422,
            "invalid-request",
            "missing field `quantity`",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": "5"}"#,
            422,
            "invalid-request",
            "invalid type",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": -5}"#,
            422,
            "invalid-request",
            "between 1 and 1000000",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 0}"#,
            422,
            "invalid-request",
            "between 1 and 1000000",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 1000001}"#,
            422,
            "invalid-request",
            "between 1 and 1000000",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 99999999999999999999999}"#,
            422,
            "invalid-request",
            "",
        ),
        (
            receipts,
            r#"{"sku": "RN4-3-32-GLD", "quantity": 2.5}"#,
            422,
            "invalid-request",
            "",
        ),
        (
            receipts,
            r#"{"sku": "rn4 gold", "quantity": 5}"#,
            422,
            "invalid-request",
            "capital letters",
        ),
        (
            receipts,
            r#"{"sku": "NO-SUCH-SKU", "quantity": 5}"#,
            404,
            "not-found",
            "NO-SUCH-SKU",
        ),
        (receipts, r#"[1, 2, 3]"#, 422, "invalid-request", ""),
        (
            adjustments,
            r#"{"sku": "RN4-3-32-GLD", "delta": 0, "reason": "count"}"#,
            422,
            "invalid-request",
            "not 0",
        ),
        (
            adjustments,
            r#"{"sku": "RN4-3-32-GLD", "delta": -1000001, "reason": "count"}"#,
            422,
            "invalid-request",
            "1000000",
        ),
        (
            adjustments,
            r#"{"sku": "RN4-3-32-GLD", "delta": -11, "reason": "count"}"#,
            409,
            "insufficient-stock",
            "only 10 on_hand",
        ),
        (
            adjustments,
            r#"{"sku": "RN4-3-32-GLD", "delta": 1, "reason": "   "}"#,
            422,
            "invalid-request",
            "reason must not be empty",
        ),
        (
            "/v1/locations/no-such-place/receipts",
            r#"{"sku": "RN4-3-32-GLD", "quantity": 5}"#,
            404,
            "not-found",
            "no-such-place",
        ),
        (
            "/v1/locations/No%20Such/receipts",
            r#"{"sku": "RN4-3-32-GLD", "quantity": 5}"#,
            422,
            "invalid-request",
            "location id",
        ),
    ];
    for (path, body, status, slug, detail) in cases {
        let response = app
            .admin(Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = expect(response, status, &format!("POST {path} {body}")).await;
        assert_eq!(problem_slug(&problem), slug, "{body}: {problem}");
        assert_eq!(problem["status"], status);
        assert!(!problem["title"].as_str().unwrap().is_empty());
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{body}: detail {:?} lacks {detail:?}",
            problem["detail"]
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn wrong_content_type_and_huge_bodies_are_refused() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    let path = "/v1/locations/wh-in-sricity/receipts";
    let response = app
        .admin(Method::POST, path)
        .header("content-type", "text/plain")
        .body(r#"{"sku": "RN4-3-32-GLD", "quantity": 5}"#)
        .send()
        .await
        .unwrap();
    let problem = expect(response, 415, "text/plain body").await;
    assert_eq!(problem_slug(&problem), "unsupported-media-type");

    let padding = "x".repeat(1 << 20);
    let huge = format!(r#"{{"sku": "RN4-3-32-GLD", "quantity": 5, "reference": "{padding}"}}"#);
    let response = app
        .admin(Method::POST, path)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let problem = expect(response, 413, "a body over 1 MiB").await;
    assert_eq!(problem_slug(&problem), "payload-too-large");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn names_and_ids_over_200_characters_are_refused() {
    let app = seeded().await;
    let long = "a".repeat(201);
    let ok = "a".repeat(200);
    let cases = [
        (
            "/v1/markets",
            json!({"code": "RU", "name": long, "currency": "RUB"}),
        ),
        (
            "/v1/locations",
            json!({"id": long, "kind": "store", "market": "IN", "name": "Store", "city": "Pune"}),
        ),
        (
            "/v1/locations",
            json!({"id": "store-in-pune", "kind": "store", "market": "IN", "name": long, "city": "Pune"}),
        ),
        (
            "/v1/locations",
            json!({"id": "store-in-pune", "kind": "store", "market": "IN", "name": "Store", "city": long}),
        ),
        (
            "/v1/locations/wh-in-sricity/receipts",
            json!({"sku": "RN4-3-32-GLD", "quantity": 1, "reference": long}),
        ),
        (
            "/v1/locations/wh-in-sricity/adjustments",
            json!({"sku": "RN4-3-32-GLD", "delta": 1, "reason": long}),
        ),
        (
            "/v1/products/redmi-note-4/skus",
            json!({"sku": "A".repeat(201), "colour": "Red", "ram_gb": 2, "storage_gb": 16}),
        ),
    ];
    let before = snapshot(&app).await;
    for (path, body) in cases {
        let problem = app.send(Method::POST, path, body.clone(), 422).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("201"),
            "{path}: {problem}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(app.get("/v1/markets").await.as_array().unwrap().len(), 1);
    // 200 is the limit, not 199.
    app.send(
        Method::POST,
        "/v1/locations",
        json!({"id": ok, "kind": "store", "market": "IN", "name": ok, "city": "Pune"}),
        201,
    )
    .await;
}

#[tokio::test]
async fn wrong_kinds_and_unknown_markets_are_refused() {
    let app = seeded().await;
    let problem = app
        .send(
            Method::POST,
            "/v1/locations",
            json!({"id": "kiosk-1", "kind": "kiosk", "market": "IN", "name": "Kiosk", "city": "Pune"}),
            422,
        )
        .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("unknown variant `kiosk`"));
    app.send(
        Method::POST,
        "/v1/locations",
        json!({"id": "store-de-berlin", "kind": "store", "market": "DE", "name": "Store", "city": "Berlin"}),
        404,
    )
    .await;
    app.send(
        Method::POST,
        "/v1/markets",
        json!({"code": "DE", "name": "Germany", "currency": "DEM"}),
        422,
    )
    .await;
    app.send(
        Method::POST,
        "/v1/markets",
        json!({"code": "germany", "name": "Germany", "currency": "EUR"}),
        422,
    )
    .await;
    let movements = app
        .admin(Method::GET, "/v1/locations/wh-in-sricity/movements?limit=0")
        .send()
        .await
        .unwrap();
    expect(movements, 422, "limit 0").await;
    let movements = app
        .admin(
            Method::GET,
            "/v1/locations/wh-in-sricity/movements?after=abc",
        )
        .send()
        .await
        .unwrap();
    expect(
        movements,
        422,
        "after=abc: a wrong type is a 422 everywhere",
    )
    .await;
    assert_eq!(app.get("/v1/locations").await.as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/markets").await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_store_transfer_campaign_and_order_bodies_change_nothing() {
    let app = seeded().await;
    app.send(
        Method::POST,
        "/v1/locations",
        json!({"id": "store-in-pune", "kind": "store", "market": "IN", "name": "Mi Home Pune", "city": "Pune"}),
        201,
    )
    .await;
    let buyer = app.sign_up("bad@example.com").await;
    let before = snapshot(&app).await;
    let long = "x".repeat(201);
    let sale = "/v1/locations/store-in-pune/sales";
    let cases: Vec<(&str, Value, u16)> = vec![
        (
            sale,
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": -1, "serials": []}], "payment": {"method": "cash"}, "client_id": "a"}),
            422,
        ),
        (
            sale,
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["lower-case"]}], "payment": {"method": "cash"}, "client_id": "a"}),
            422,
        ),
        (
            sale,
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["S1"]}], "payment": {"method": "cheque"}, "client_id": "a"}),
            422,
        ),
        (
            sale,
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["S1"]}], "payment": {"method": "cash"}, "client_id": long}),
            422,
        ),
        (
            sale,
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["S1"]}], "payment": {"method": "cash"}, "client_id": "a", "occurred_at": "2017-07-01T00:00:00Z"}),
            422,
        ),
        (
            "/v1/locations/wh-in-sricity/sales",
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["S1"]}], "payment": {"method": "cash"}, "client_id": "a"}),
            422,
        ),
        (
            "/v1/locations/nowhere/sales",
            json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["S1"]}], "payment": {"method": "cash"}, "client_id": "a"}),
            404,
        ),
        (
            "/v1/locations/store-in-pune/returns",
            json!({"serial": "S1", "reason": "x", "condition": "broken"}),
            422,
        ),
        (
            "/v1/locations/store-in-pune/clerks",
            json!({"name": long}),
            422,
        ),
        (
            "/v1/locations/wh-in-sricity/clerks",
            json!({"name": "Asha"}),
            422,
        ),
        (
            "/v1/transfers",
            json!({"from": "wh-in-sricity", "to": "store-in-pune", "lines": [{"sku": "RN4-3-32-GLD", "quantity": -5}]}),
            422,
        ),
        (
            "/v1/transfers",
            json!({"from": "wh-in-sricity", "to": "store-in-pune", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 11}]}),
            409,
        ),
        (
            "/v1/transfers",
            json!({"from": "wh-in-sricity", "to": "nowhere", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 1}]}),
            404,
        ),
        ("/v1/transfers/999/ship", json!({}), 404),
        ("/v1/discrepancies/999/resolve", json!({"note": "x"}), 404),
        (
            "/v1/campaigns",
            json!({"name": "x", "market": "IN", "skus": ["NOPE-1"], "price": 1, "channels": ["store"], "starts_at": "2017-07-01T00:00:00Z", "ends_at": "2017-07-02T00:00:00Z"}),
            404,
        ),
        (
            "/v1/campaigns",
            json!({"name": "x", "market": "IN", "skus": ["RN4-3-32-GLD"], "percent_off": 0, "channels": ["store"], "starts_at": "2017-07-01T00:00:00Z", "ends_at": "2017-07-02T00:00:00Z"}),
            422,
        ),
    ];
    for (path, body, status) in cases {
        let response = app
            .admin(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(response, status, &format!("POST {path} {body}")).await;
    }
    for (body, status) in [
        (
            json!({"market": "IN", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 0}], "fulfillment": {"type": "ship"}}),
            422,
        ),
        (
            json!({"market": "IN", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 1}], "fulfillment": {"type": "drone"}}),
            422,
        ),
        (
            json!({"market": "IN", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 11}], "fulfillment": {"type": "ship"}}),
            409,
        ),
        (
            json!({"market": "XX", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 1}], "fulfillment": {"type": "ship"}}),
            404,
        ),
    ] {
        let response = app
            .anonymous(Method::POST, "/v1/orders")
            .bearer_auth(&buyer.token)
            .header("idempotency-key", "bad-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(response, status, &format!("order {body}")).await;
    }
    let missing_key = app.anonymous(Method::POST, "/v1/orders").bearer_auth(&buyer.token)
        .json(&json!({"market": "IN", "lines": [{"sku": "RN4-3-32-GLD", "quantity": 1}], "fulfillment": {"type": "ship"}}))
        .send().await.unwrap();
    assert_eq!(
        problem_slug(&expect(missing_key, 400, "no key").await),
        "idempotency-key-required"
    );
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(
        app.get("/v1/locations/store-in-pune/stock").await,
        json!([])
    );
    assert_eq!(app.get("/v1/discrepancies").await, json!([]));
    assert_eq!(app.get("/v1/campaigns").await, json!([]));
}

#[tokio::test]
async fn control_characters_and_zero_prices_are_refused() {
    let app = seeded().await;
    let before = snapshot(&app).await;
    // NUL, ESC, DEL and a C1 control, escaped or raw, in a name, a city or an email.
    let store = |field: &str, value: &str| {
        let mut body = String::from(
            r#"{"id": "store-x", "kind": "store", "market": "IN", "name": "Mi Home", "city": "Pune"}"#,
        );
        body = body.replace(
            &format!(r#""{field}": "Mi Home""#),
            &format!(r#""{field}": "{value}""#),
        );
        body.replace(
            &format!(r#""{field}": "Pune""#),
            &format!(r#""{field}": "{value}""#),
        )
    };
    let cases = [
        ("/v1/locations", store("name", r"Mi\u0000Home")),
        ("/v1/locations", store("city", r"Pu\u001bne")),
        ("/v1/locations", store("name", "Mi\u{7f}Home")),
        ("/v1/locations", store("city", "Pu\u{85}ne")),
        (
            "/v1/customers",
            r#"{"email": "a\u0000@example.com"}"#.to_owned(),
        ),
    ];
    for (path, body) in cases {
        let response = app
            .admin(Method::POST, path)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let problem = expect(response, 422, &body).await;
        assert_eq!(problem_slug(&problem), "invalid-request", "{body}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("control character"),
            "{problem}"
        );
    }
    assert_eq!(snapshot(&app).await, before);

    // A price of 0 is a giveaway: only when it says so.
    let price = "/v1/markets/IN/prices/RN4-3-32-GLD";
    let zero = app
        .send(Method::PUT, price, json!({"amount": 0}), 422)
        .await;
    assert!(
        zero["detail"]
            .as_str()
            .unwrap()
            .contains("allow_zero_price"),
        "{zero}"
    );
    let lineup = app.public_get("/v1/markets/IN/lineup").await.to_string();
    assert!(
        lineup.contains("1099900"),
        "the list price stands: {lineup}"
    );
    let now = app.now().await;
    let sale = json!({
        "sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity", "quantity": 1,
        "starts_at": now + chrono::Duration::hours(1), "ends_at": now + chrono::Duration::hours(2),
        "price": 0
    });
    app.send(Method::POST, "/v1/sales", sale.clone(), 422).await;
    let campaign = json!({"name": "Free", "market": "IN", "skus": ["RN4-3-32-GLD"], "price": 0,
        "channels": ["online"], "starts_at": now, "ends_at": now + chrono::Duration::hours(1)});
    app.send(Method::POST, "/v1/campaigns", campaign.clone(), 422)
        .await;
    assert!(app
        .get("/v1/campaigns")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(app.get("/v1/sales").await.as_array().unwrap().len(), 0);
    // Said explicitly, each is taken.
    let mut allowed = sale;
    allowed["allow_zero_price"] = json!(true);
    let created = app.send(Method::POST, "/v1/sales", allowed, 201).await;
    assert_eq!(created["price"], 0);
    app.send(
        Method::PUT,
        price,
        json!({"amount": 0, "allow_zero_price": true}),
        200,
    )
    .await;
}
