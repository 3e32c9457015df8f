use crate::helpers::{problem_slug, redmi_note_4, spawn_app};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn markets_default_their_return_window_and_are_public() {
    let app = spawn_app().await;
    let market = app
        .send(
            Method::POST,
            "/v1/markets",
            json!({"code": "CN", "name": "China", "currency": "CNY"}),
            201,
        )
        .await;
    assert_eq!(market["return_window_days"], 14);
    app.send(
        Method::POST,
        "/v1/markets",
        json!({"code": "RU", "name": "Russia", "currency": "RUB", "return_window_days": 30}),
        201,
    )
    .await;
    let response = app
        .anonymous(Method::GET, "/v1/markets")
        .send()
        .await
        .unwrap();
    let markets: Value = response.json().await.unwrap();
    assert_eq!(markets.as_array().unwrap().len(), 2);
    assert_eq!(markets[1]["code"], "RU");
    assert_eq!(markets[1]["currency"], "RUB");
    assert_eq!(markets[1]["return_window_days"], 30);

    let again = app
        .send(
            Method::POST,
            "/v1/markets",
            json!({"code": "CN", "name": "China", "currency": "CNY"}),
            409,
        )
        .await;
    assert_eq!(problem_slug(&again), "already-exists");
}

#[tokio::test]
async fn products_carry_specs_and_skus() {
    let app = spawn_app().await;
    let created = app
        .send(Method::POST, "/v1/products", redmi_note_4(), 201)
        .await;
    assert_eq!(created["skus"].as_array().unwrap().len(), 2);
    let sku = app
        .send(
            Method::POST,
            "/v1/products/redmi-note-4/skus",
            json!({"sku": "RN4-2-32-GRY", "colour": "Dark Grey", "ram_gb": 2, "storage_gb": 32}),
            201,
        )
        .await;
    assert_eq!(sku["product"], "redmi-note-4");

    let product: Value = app.public_get("/v1/products/redmi-note-4").await;
    assert_eq!(product["name"], "Redmi Note 4");
    assert_eq!(product["specs"]["os_version"], "8.1.0");
    assert_eq!(product["specs"]["battery_mah"], 4100);
    let codes: Vec<&str> = product["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sku"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RN4-2-32-GRY", "RN4-3-32-GLD", "RN4-4-64-BLK"]);

    let all: Value = app.public_get("/v1/products").await;
    assert_eq!(all.as_array().unwrap().len(), 1);

    // A SKU code is unique across the catalog.
    let taken = app
        .send(
            Method::POST,
            "/v1/products/redmi-note-4/skus",
            json!({"sku": "RN4-3-32-GLD", "colour": "Gold", "ram_gb": 3, "storage_gb": 32}),
            409,
        )
        .await;
    assert_eq!(problem_slug(&taken), "already-exists");
    app.send(
        Method::POST,
        "/v1/products/no-such-phone/skus",
        json!({"sku": "X-1", "colour": "Red", "ram_gb": 1, "storage_gb": 8}),
        404,
    )
    .await;
}

#[tokio::test]
async fn the_lineup_shows_each_launched_product_once_with_its_status_and_prices() {
    let app = spawn_app().await;
    app.seed_india().await;
    let mut mi_max_2 = redmi_note_4();
    mi_max_2["id"] = json!("mi-max-2");
    mi_max_2["name"] = json!("Mi Max 2");
    mi_max_2["skus"] =
        json!([{"sku": "MIMAX2-4-64-GLD", "colour": "Gold", "ram_gb": 4, "storage_gb": 64}]);
    app.send(Method::POST, "/v1/products", mi_max_2, 201).await;
    // Teased on 3 July, unveiled on 18 July: the clock says 4 July.
    let launch = app
        .send(
            Method::PUT,
            "/v1/products/mi-max-2/launches/IN",
            json!({"teaser_at": "2017-07-03T12:00:00+05:30", "unveil_at": "2017-07-18T12:00:00+05:30", "sale_from": "2017-07-20T12:00:00+05:30"}),
            200,
        )
        .await;
    assert_eq!(launch["status"], "teased");
    // A product without a launch in India is not in its lineup.
    let mut mi_6 = redmi_note_4();
    mi_6["id"] = json!("mi-6");
    mi_6["skus"] = json!([]);
    app.send(Method::POST, "/v1/products", mi_6, 201).await;
    // Moving a launch replaces it rather than adding a second one.
    app.send(
        Method::PUT,
        "/v1/products/redmi-note-4/launches/IN",
        json!({"teaser_at": "2017-01-10T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"}),
        200,
    )
    .await;

    let lineup: Value = app.public_get("/v1/markets/IN/lineup").await;
    assert_eq!(lineup["currency"], "INR");
    let products = lineup["products"].as_array().unwrap();
    let ids: Vec<&str> = products.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["redmi-note-4", "mi-max-2"]);
    assert_eq!(products[0]["status"], "on_sale");
    assert_eq!(products[0]["launch"]["teaser_at"], "2017-01-10T06:30:00Z");
    assert_eq!(products[0]["skus"][0]["sku"], "RN4-3-32-GLD");
    assert_eq!(products[0]["skus"][0]["price"], 1_099_900);
    assert_eq!(products[0]["skus"][1]["price"], Value::Null);
    assert_eq!(products[1]["status"], "teased");

    let unknown = app
        .anonymous(Method::GET, "/v1/markets/DE/lineup")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn prices_and_launches_check_what_they_name() {
    let app = spawn_app().await;
    app.seed_india().await;
    let price = app
        .send(
            Method::PUT,
            "/v1/markets/IN/prices/RN4-4-64-BLK",
            json!({"amount": 1_299_900}),
            200,
        )
        .await;
    assert_eq!(price["currency"], "INR");
    app.send(
        Method::PUT,
        "/v1/markets/DE/prices/RN4-4-64-BLK",
        json!({"amount": 1}),
        404,
    )
    .await;
    app.send(
        Method::PUT,
        "/v1/markets/IN/prices/NO-SUCH-SKU",
        json!({"amount": 1}),
        404,
    )
    .await;
    let negative = app
        .send(
            Method::PUT,
            "/v1/markets/IN/prices/RN4-4-64-BLK",
            json!({"amount": -1}),
            422,
        )
        .await;
    assert!(negative["detail"].as_str().unwrap().contains("negative"));

    let dates = json!({"teaser_at": "2017-01-09T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"});
    app.send(
        Method::PUT,
        "/v1/products/redmi-note-4/launches/DE",
        dates.clone(),
        404,
    )
    .await;
    app.send(
        Method::PUT,
        "/v1/products/no-such-phone/launches/IN",
        dates,
        404,
    )
    .await;
    let backwards = app
        .send(
            Method::PUT,
            "/v1/products/redmi-note-4/launches/IN",
            json!({"teaser_at": "2017-02-01T00:00:00Z", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"}),
            422,
        )
        .await;
    assert!(backwards["detail"]
        .as_str()
        .unwrap()
        .contains("out of order"));
    // The refused change left the launch as it was.
    let lineup = app.get("/v1/markets/IN/lineup").await;
    assert_eq!(
        lineup["products"][0]["launch"]["teaser_at"],
        "2017-01-09T06:30:00Z"
    );
}
