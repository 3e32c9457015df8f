use crate::helpers::{expect, problem_slug, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn levels_follow_the_ledger() {
    let app = spawn_app().await;
    app.seed_india().await;
    let receipt = app
        .send(
            Method::POST,
            "/v1/locations/wh-in-sricity/receipts",
            json!({"sku": "RN4-3-32-GLD", "quantity": 500, "reference": "PO-2017-0601"}),
            201,
        )
        .await;
    assert_eq!(receipt["kind"], "receipt");
    assert_eq!(receipt["levels_after"]["on_hand"], 500);
    app.send(
        Method::POST,
        "/v1/locations/wh-in-sricity/receipts",
        json!({"sku": "RN4-4-64-BLK", "quantity": 40}),
        201,
    )
    .await;
    let adjustment = app
        .send(
            Method::POST,
            "/v1/locations/wh-in-sricity/adjustments",
            json!({"sku": "RN4-3-32-GLD", "delta": -3, "reason": "cycle count"}),
            201,
        )
        .await;
    assert_eq!(adjustment["quantity"], -3);
    assert_eq!(adjustment["reference"], "cycle count");

    let stock = app.get("/v1/locations/wh-in-sricity/stock").await;
    assert_eq!(
        stock,
        json!([
            {"sku": "RN4-3-32-GLD", "on_hand": 497, "reserved": 0, "incoming": 0, "damaged": 0, "available": 497},
            {"sku": "RN4-4-64-BLK", "on_hand": 40, "reserved": 0, "incoming": 0, "damaged": 0, "available": 40},
        ])
    );

    let page = app
        .get("/v1/locations/wh-in-sricity/movements?limit=2")
        .await;
    let kinds: Vec<&str> = page["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["receipt", "receipt"]);
    // Movements are stamped by the server's clock, which the test started in 2017.
    assert!(page["movements"][0]["at"]
        .as_str()
        .unwrap()
        .starts_with("2017-07-04T01:00"));
    let next = page["next_after"].as_i64().unwrap();
    let rest = app
        .get(&format!(
            "/v1/locations/wh-in-sricity/movements?after={next}"
        ))
        .await;
    assert_eq!(rest["movements"].as_array().unwrap().len(), 1);
    assert_eq!(rest["movements"][0]["kind"], "adjustment");
    assert_eq!(rest["next_after"], serde_json::Value::Null);

    let unknown = app
        .admin(Method::GET, "/v1/locations/nowhere/stock")
        .send()
        .await
        .unwrap();
    expect(unknown, 404, "stock of an unknown location").await;
}

/// Many clients at once try to take stock down: exactly the ones the stock allows
/// succeed, the others get 409, and `available` never goes below zero.
#[tokio::test]
async fn concurrent_adjustments_never_drive_available_below_zero() {
    let app = spawn_app().await;
    app.seed_india().await;
    app.send(
        Method::POST,
        "/v1/locations/wh-in-sricity/receipts",
        json!({"sku": "RN4-3-32-GLD", "quantity": 100}),
        201,
    )
    .await;
    let app = std::sync::Arc::new(app);
    let attempts = 60;
    let tasks: Vec<_> = (0..attempts)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app
                    .admin(Method::POST, "/v1/locations/wh-in-sricity/adjustments")
                    .json(&json!({"sku": "RN4-3-32-GLD", "delta": -3, "reason": "breakage"}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut accepted = 0;
    let mut refused = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => {
                accepted += 1;
                assert!(body["levels_after"]["available"].as_i64().unwrap() >= 0);
            }
            409 => {
                refused += 1;
                assert_eq!(problem_slug(&body), "insufficient-stock");
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(accepted, 33, "100 units allow 33 takes of 3");
    assert_eq!(refused, attempts - 33);
    let stock = app.get("/v1/locations/wh-in-sricity/stock").await;
    assert_eq!(stock[0]["on_hand"], 1);
    assert_eq!(stock[0]["available"], 1);
    let ledger = app
        .get("/v1/locations/wh-in-sricity/movements?limit=1000")
        .await;
    assert_eq!(ledger["movements"].as_array().unwrap().len(), 1 + 33);
}
