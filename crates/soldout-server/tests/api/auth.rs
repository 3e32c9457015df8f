use crate::helpers::{expect, problem_slug, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn public_reads_need_no_token() {
    let app = spawn_app().await;
    app.seed_india().await;
    for path in [
        "/v1/markets",
        "/v1/products",
        "/v1/products/redmi-note-4",
        "/v1/markets/IN/lineup",
    ] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn every_other_route_needs_a_valid_token() {
    let app = spawn_app().await;
    app.seed_india().await;
    let routes = [
        (Method::POST, "/v1/markets"),
        (Method::POST, "/v1/products"),
        (Method::POST, "/v1/products/redmi-note-4/skus"),
        (Method::PUT, "/v1/markets/IN/prices/RN4-3-32-GLD"),
        (Method::PUT, "/v1/products/redmi-note-4/launches/IN"),
        (Method::POST, "/v1/locations"),
        (Method::GET, "/v1/locations"),
        (Method::POST, "/v1/locations/wh-in-sricity/receipts"),
        (Method::POST, "/v1/locations/wh-in-sricity/adjustments"),
        (Method::GET, "/v1/locations/wh-in-sricity/stock"),
        (Method::GET, "/v1/locations/wh-in-sricity/movements"),
        (Method::POST, "/v1/locations/store-in-bengaluru/clerks"),
        (Method::POST, "/v1/locations/store-in-bengaluru/sales"),
        (Method::GET, "/v1/locations/store-in-bengaluru/sales"),
        (Method::POST, "/v1/locations/store-in-bengaluru/sales:sync"),
        (Method::POST, "/v1/locations/store-in-bengaluru/returns"),
        (Method::GET, "/v1/refunds"),
        (Method::GET, "/v1/discrepancies"),
        (Method::POST, "/v1/discrepancies/1/resolve"),
        (Method::GET, "/v1/devices/865321030012345"),
        (Method::POST, "/v1/transfers"),
        (Method::GET, "/v1/transfers/1"),
        (Method::POST, "/v1/transfers/1/ship"),
        (Method::POST, "/v1/transfers/1/receive"),
        (Method::GET, "/v1/locations/wh-in-sricity/transfers"),
        (Method::POST, "/v1/campaigns"),
        (Method::GET, "/v1/campaigns"),
        (Method::POST, "/v1/orders"),
        (
            Method::POST,
            "/v1/orders/01BX5ZZKBKACTAV9WEVGEMMVRZ/fulfill",
        ),
    ];
    for (method, path) in routes {
        let missing = app
            .anonymous(method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            missing
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "{method} {path}"
        );
        let problem = expect(missing, 401, &format!("{method} {path} without a token")).await;
        assert_eq!(problem_slug(&problem), "unauthorized");

        let wrong = app
            .anonymous(method.clone(), path)
            .bearer_auth("not-the-admin-token")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect(wrong, 401, &format!("{method} {path} with a wrong token")).await;

        let not_bearer = app
            .anonymous(method.clone(), path)
            .header("authorization", format!("Basic {}", app.admin_token))
            .send()
            .await
            .unwrap();
        expect(not_bearer, 401, &format!("{method} {path} with basic auth")).await;
    }
    // Nothing was created by any of those requests.
    assert_eq!(app.get("/v1/locations").await.as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v1/locations/wh-in-sricity/stock").await,
        json!([])
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_one_authorization_only() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .anonymous(Method::GET, "/v1/locations")
            .header("authorization", format!("{scheme} {}", app.admin_token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    // Two Authorization headers, even both the admin's: which one counts is not
    // for the server to guess.
    let two = app
        .anonymous(Method::POST, "/v1/markets")
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .json(&json!({"code": "IN", "name": "India", "currency": "INR"}))
        .send()
        .await
        .unwrap();
    assert!(expect(two, 400, "two").await["detail"]
        .as_str()
        .unwrap()
        .contains("Authorization"));
    assert!(app
        .public_get("/v1/markets")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}
