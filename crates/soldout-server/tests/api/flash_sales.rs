//! Flash sales over HTTP: creation and allotment, sign-up and roles, buying with
//! idempotency keys, limits, sell-out under concurrency, registration, fair start,
//! the end, expiry, cancellation and restarts.

use crate::helpers::{
    assert_balanced, expect, problem_slug, spawn_app, spawn_app_with_queue, Buyer,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

async fn warehouse_stock(app: &crate::helpers::TestApp) -> Value {
    app.get("/v1/locations/wh-in-sricity/stock").await[0].clone()
}

#[tokio::test]
async fn a_sale_allots_its_units_through_the_ledger() {
    let app = spawn_app().await;
    let sale = app.open_sale(100, json!({"quantity": 30})).await;
    assert_eq!(sale["quantity"], 30);
    assert_eq!(sale["available"], 30);
    assert_eq!(sale["status"], "active");
    assert_eq!(sale["price"], 1_099_900, "the market's list price");
    assert_eq!(sale["currency"], "INR");
    let stock = warehouse_stock(&app).await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(100), Some(30), Some(70))
    );
    let ledger = app.get("/v1/locations/wh-in-sricity/movements").await;
    assert_eq!(ledger["movements"][1]["kind"], "allotment");

    // More than is available: refused, nothing allotted.
    let problem = app.create_sale(json!({"quantity": 71}), 409).await;
    assert_eq!(problem_slug(&problem), "insufficient-stock");
    assert_eq!(warehouse_stock(&app).await["available"], 70);

    // A given price wins over the list price.
    let cheap = app
        .create_sale(json!({"quantity": 5, "price": 999_900}), 201)
        .await;
    assert_eq!(cheap["price"], 999_900);

    let listed = app.get("/v1/sales?market=IN&status=active").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(app.get("/v1/sales?status=ended").await, json!([]));
    app.admin(Method::GET, "/v1/sales?status=soon")
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 422))
        .unwrap();
}

#[tokio::test]
async fn a_sale_is_refused_before_the_launch_and_outside_its_market() {
    let app = spawn_app().await;
    app.open_sale(100, json!({})).await;
    // The Redmi Note 4 is on sale in India from 23 January 2017.
    let early = app
        .create_sale(
            json!({"starts_at": "2017-01-20T00:00:00Z", "ends_at": "2017-12-01T00:00:00Z"}),
            409,
        )
        .await;
    assert_eq!(problem_slug(&early), "not-launched");
    app.send(
        Method::POST,
        "/v1/markets",
        json!({"code": "RU", "name": "Russia", "currency": "RUB"}),
        201,
    )
    .await;
    app.send(
        Method::POST,
        "/v1/locations",
        json!({"id": "wh-ru-moscow", "kind": "warehouse", "market": "RU", "name": "Moscow", "city": "Moscow"}),
        201,
    )
    .await;
    let russia = app
        .create_sale(json!({"market": "RU", "location": "wh-ru-moscow"}), 409)
        .await;
    assert_eq!(problem_slug(&russia), "not-launched");
    let elsewhere = app
        .create_sale(json!({"location": "wh-ru-moscow"}), 422)
        .await;
    assert!(elsewhere["detail"]
        .as_str()
        .unwrap()
        .contains("is in market RU"));
    app.create_sale(json!({"sku": "NO-SUCH-SKU"}), 404).await;
    app.create_sale(json!({"quantity": 0}), 422).await;
    app.create_sale(json!({"per_customer_limit": 0}), 422).await;
    let backwards = app
        .create_sale(json!({"ends_at": "2017-07-01T00:00:00Z"}), 422)
        .await;
    assert!(backwards["detail"].as_str().unwrap().contains("ends_at"));
    assert_eq!(app.get("/v1/sales").await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn customers_sign_up_once_and_roles_are_kept_apart() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("buyer@example.com").await;
    let again = app
        .anonymous(Method::POST, "/v1/customers")
        .json(&json!({"email": " BUYER@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(again, 409, "same email").await),
        "already-exists"
    );
    let bad = app
        .anonymous(Method::POST, "/v1/customers")
        .json(&json!({"email": "nobody"}))
        .send()
        .await
        .unwrap();
    expect(bad, 422, "not an email").await;

    // A customer on an admin route, and an admin on a customer route: 403.
    let customer_on_admin = app
        .anonymous(Method::GET, "/v1/locations")
        .bearer_auth(&buyer.token)
        .send()
        .await
        .unwrap();
    let problem = expect(customer_on_admin, 403, "customer on admin route").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("customer role"));
    let admin_buys = app
        .admin(Method::POST, &format!("/v1/sales/{id}/orders"))
        .header("idempotency-key", "k1")
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    expect(admin_buys, 403, "admin on customer route").await;
    // A forged customer token is no token.
    let forged = Buyer {
        id: buyer.id + 1,
        token: buyer
            .token
            .replace(&format!("c.{}.", buyer.id), &format!("c.{}.", buyer.id + 1)),
    };
    expect(app.buy(&forged, id, 1, "k1").await, 401, "forged token").await;
    assert_eq!(app.sale(id).await["available"], 10);
}

#[tokio::test]
async fn buying_is_idempotent_per_customer_key() {
    let app = spawn_app().await;
    let sale = app
        .open_sale(10, json!({"quantity": 3, "per_customer_limit": 2}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let alice = app.sign_up("alice@example.com").await;
    let bob = app.sign_up("bob@example.com").await;

    let order = expect(app.buy(&alice, id, 1, "alice-1").await, 201, "buy").await;
    assert_eq!(order["status"], "reserved");
    assert_eq!(order["quantity"], 1);
    assert_eq!(order["amount"], 1_099_900);
    assert_eq!(order["currency"], "INR");
    assert!(order["pay_by"].as_str().is_some());
    let replay = expect(app.buy(&alice, id, 1, "alice-1").await, 201, "replay").await;
    assert_eq!(replay["id"], order["id"]);
    let mismatch = expect(
        app.buy(&alice, id, 2, "alice-1").await,
        422,
        "same key, other body",
    )
    .await;
    assert_eq!(problem_slug(&mismatch), "idempotency-mismatch");
    // The same key from another customer is another purchase.
    let bobs = expect(app.buy(&bob, id, 1, "alice-1").await, 201, "bob, same key").await;
    assert_ne!(bobs["id"], order["id"]);

    let over = expect(
        app.buy(&alice, id, 2, "alice-2").await,
        409,
        "over the limit",
    )
    .await;
    assert_eq!(problem_slug(&over), "limit-reached");
    expect(
        app.buy(&alice, id, 1, "alice-3").await,
        201,
        "up to the limit",
    )
    .await;
    let sold_out = expect(app.buy(&bob, id, 1, "bob-2").await, 409, "sold out").await;
    assert_eq!(problem_slug(&sold_out), "sold-out");
    // Even after the sell-out, a replay answers with the order.
    let late_replay = expect(
        app.buy(&alice, id, 1, "alice-1").await,
        201,
        "replay after sell-out",
    )
    .await;
    assert_eq!(late_replay["id"], order["id"]);

    let missing_key = app
        .anonymous(Method::POST, &format!("/v1/sales/{id}/orders"))
        .bearer_auth(&alice.token)
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(missing_key, 400, "no key").await),
        "idempotency-key-required"
    );
    expect(app.buy(&alice, id, 0, "alice-4").await, 422, "zero units").await;
    expect(
        app.buy(&alice, 999, 1, "alice-5").await,
        404,
        "unknown sale",
    )
    .await;

    let counters = app.sale(id).await;
    assert_eq!(
        (
            counters["available"].as_u64(),
            counters["reserved"].as_u64()
        ),
        (Some(0), Some(3))
    );
    assert!(counters["sold_out_at"].is_string());
    assert_balanced(&counters);
}

/// Thousands of buyers at once against a small sale: exactly the batch is reserved,
/// nobody holds more than the limit, and every other answer is sold-out or
/// limit-reached.
#[tokio::test]
async fn thousands_of_buyers_never_oversell() {
    let app = Arc::new(spawn_app().await);
    let sale = app
        .open_sale(500, json!({"quantity": 50, "per_customer_limit": 2}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let signups = futures::future::join_all((0..1_000).map(|i| {
        let app = app.clone();
        async move { app.sign_up(&format!("buyer{i}@example.com")).await }
    }))
    .await;
    let buyers: Vec<Arc<Buyer>> = signups.into_iter().map(Arc::new).collect();
    // Each buyer sends three requests for 1 unit, with three keys, all at once.
    let attempts = buyers
        .iter()
        .flat_map(|b| (0..3).map(move |k| (b.clone(), k)));
    let answers = futures::future::join_all(attempts.map(|(buyer, k)| {
        let app = app.clone();
        async move {
            let response = app.buy(&buyer, id, 1, &format!("key-{k}")).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (buyer.id, status, body)
        }
    }))
    .await;
    let mut units_by_customer: HashMap<i64, u64> = HashMap::new();
    let mut order_ids = HashSet::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for (customer, status, body) in answers {
        match status {
            201 => {
                *units_by_customer.entry(customer).or_default() +=
                    body["quantity"].as_u64().unwrap();
                assert!(order_ids.insert(body["id"].as_str().unwrap().to_owned()));
            }
            409 => *kinds.entry(problem_slug(&body).to_owned()).or_default() += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        units_by_customer.values().sum::<u64>(),
        50,
        "exactly the batch was sold"
    );
    assert!(
        units_by_customer.values().all(|&u| u <= 2),
        "nobody above the limit"
    );
    assert!(
        kinds
            .keys()
            .all(|k| k == "sold-out" || k == "limit-reached"),
        "{kinds:?}"
    );
    assert_eq!(kinds.values().sum::<usize>(), 3_000 - order_ids.len());
    let counters = app.sale(id).await;
    assert_eq!(counters["reserved"], 50);
    assert_eq!(counters["available"], 0);
    assert_balanced(&counters);
}

#[tokio::test]
async fn registration_is_required_when_the_sale_says_so() {
    let app = spawn_app().await;
    let now = app.now().await;
    let sale = app
        .open_sale(
            10,
            json!({"registration_required": true, "starts_at": now + chrono::Duration::milliseconds(1500)}),
        )
        .await;
    let id = sale["id"].as_i64().unwrap();
    assert_eq!(sale["status"], "scheduled");
    let early = app.sign_up("early@example.com").await;
    let late = app.sign_up("late@example.com").await;
    let register = |buyer: &Buyer| {
        app.anonymous(Method::POST, &format!("/v1/sales/{id}/registrations"))
            .bearer_auth(buyer.token.clone())
            .send()
    };
    expect(register(&early).await.unwrap(), 201, "register").await;
    expect(register(&early).await.unwrap(), 200, "register again").await;
    let not_started = expect(app.buy(&early, id, 1, "k").await, 409, "before the start").await;
    assert_eq!(problem_slug(&not_started), "not-started");
    assert_eq!(app.sale(id).await["registrations"], 1);

    tokio::time::sleep(Duration::from_millis(1700)).await;
    let closed = expect(
        register(&late).await.unwrap(),
        409,
        "register after the start",
    )
    .await;
    assert_eq!(problem_slug(&closed), "registration-closed");
    let refused = expect(app.buy(&late, id, 1, "k").await, 403, "unregistered").await;
    assert_eq!(problem_slug(&refused), "not-registered");
    expect(app.buy(&early, id, 1, "k").await, 201, "registered buyer").await;
}

#[tokio::test]
async fn the_fair_start_decides_the_window_in_a_recorded_random_order() {
    let app = Arc::new(spawn_app().await);
    let now = app.now().await;
    let sale = app
        .open_sale(
            20,
            json!({"quantity": 5, "per_customer_limit": 1, "fair_start_secs": 1,
                   "starts_at": now + chrono::Duration::milliseconds(500)}),
        )
        .await;
    let id = sale["id"].as_i64().unwrap();
    assert_eq!(sale["fair_start_seed"], Value::Null);
    let mut buyers = Vec::new();
    for i in 0..12 {
        buyers.push(Arc::new(app.sign_up(&format!("fair{i}@example.com")).await));
    }
    // Everyone asks before the start; all are held and decided together after the window.
    let started = std::time::Instant::now();
    let answers = futures::future::join_all(buyers.iter().map(|b| {
        let app = app.clone();
        let b = b.clone();
        async move { app.buy(&b, id, 1, "fair").await.status().as_u16() }
    }))
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answers waited for the draw"
    );
    assert_eq!(answers.iter().filter(|&&s| s == 201).count(), 5);
    assert_eq!(answers.iter().filter(|&&s| s == 409).count(), 7);
    let after = app.sale(id).await;
    assert!(
        after["fair_start_seed"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok(),
        "{after}"
    );
    // After the window: first come, first served.
    let late = app.sign_up("late@example.com").await;
    expect(
        app.buy(&late, id, 1, "late").await,
        409,
        "sold out after the draw",
    )
    .await;
}

#[tokio::test]
async fn unpaid_orders_expire_and_the_end_gives_units_back() {
    let app = spawn_app().await;
    let now = app.now().await;
    let sale = app
        .open_sale(
            100,
            json!({"quantity": 10, "payment_window_secs": 2, "per_customer_limit": 3,
                   "ends_at": now + chrono::Duration::milliseconds(3500)}),
        )
        .await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("slow@example.com").await;
    let order = expect(app.buy(&buyer, id, 3, "k1").await, 201, "buy").await;
    assert_eq!(app.sale(id).await["reserved"], 3);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    app.sale_when(id, |s| s["reserved"] == 0).await;
    let expired = app
        .get(&format!("/v1/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(expired["status"], "expired");
    let counters = app.sale(id).await;
    assert_eq!(
        (
            counters["available"].as_u64(),
            counters["reserved"].as_u64()
        ),
        (Some(10), Some(0))
    );
    // An expired order frees the limit.
    expect(app.buy(&buyer, id, 3, "k2").await, 201, "buy again").await;

    let ended = app
        .sale_when(id, |s| s["status"] == "ended" && s["released"] == 7)
        .await;
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["released"], 7, "unsold units went back at the end");
    assert_eq!(ended["reserved"], 3);
    assert_balanced(&ended);
    let stock = warehouse_stock(&app).await;
    assert_eq!(
        stock["reserved"], 3,
        "only the reserved order's units stay allotted"
    );
    assert_eq!(stock["available"], 97);
    let late = expect(app.buy(&buyer, id, 1, "k3").await, 409, "after the end").await;
    assert_eq!(problem_slug(&late), "ended");
    // The last reservation expires after the end: its units go to the location too.
    let done = app.sale_when(id, |s| s["reserved"] == 0).await;
    assert_eq!(
        (done["released"].as_u64(), done["reserved"].as_u64()),
        (Some(10), Some(0))
    );
    assert_eq!(warehouse_stock(&app).await["available"], 100);
}

#[tokio::test]
async fn owners_cancel_unpaid_orders_and_only_owners_see_them() {
    let app = spawn_app().await;
    let sale = app
        .open_sale(10, json!({"quantity": 2, "per_customer_limit": 2}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let alice = app.sign_up("alice@example.com").await;
    let mallory = app.sign_up("mallory@example.com").await;
    let order = expect(app.buy(&alice, id, 2, "k").await, 201, "buy").await;
    let order_id = order["id"].as_str().unwrap();
    let path = format!("/v1/orders/{order_id}");

    let theirs = app
        .anonymous(Method::GET, &path)
        .bearer_auth(&mallory.token)
        .send()
        .await
        .unwrap();
    expect(theirs, 404, "someone else's order").await;
    let mine = app
        .anonymous(Method::GET, &path)
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect(mine, 200, "own order").await["id"], order_id);
    let cancel = |token: &str| {
        app.anonymous(Method::POST, &format!("{path}/cancel"))
            .bearer_auth(token.to_owned())
            .send()
    };
    expect(
        cancel(&mallory.token).await.unwrap(),
        404,
        "cancel someone else's",
    )
    .await;
    assert_eq!(app.sale(id).await["reserved"], 2);
    let cancelled = expect(cancel(&alice.token).await.unwrap(), 200, "cancel").await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.sale(id).await["available"], 2);
    let twice = expect(cancel(&alice.token).await.unwrap(), 409, "cancel twice").await;
    assert_eq!(problem_slug(&twice), "not-cancellable");
    expect(
        app.admin(Method::GET, "/v1/orders/01BX5ZZKBKACTAV9WEVGEMMVRZ")
            .send()
            .await
            .unwrap(),
        404,
        "unknown",
    )
    .await;
    expect(
        app.admin(Method::GET, "/v1/orders/garbage")
            .send()
            .await
            .unwrap(),
        404,
        "garbage id",
    )
    .await;
}

#[tokio::test]
async fn orders_and_keys_survive_a_restart() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 4})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("durable@example.com").await;
    let order = expect(app.buy(&buyer, id, 2, "k").await, 201, "buy").await;

    let app = app.restart().await;
    let replay = expect(
        app.buy(&buyer, id, 2, "k").await,
        201,
        "replay after restart",
    )
    .await;
    assert_eq!(replay["id"], order["id"]);
    let counters = app.sale(id).await;
    assert_eq!(
        (
            counters["reserved"].as_u64(),
            counters["available"].as_u64()
        ),
        (Some(2), Some(2))
    );
    expect(
        app.buy(&buyer, id, 1, "k2").await,
        409,
        "the limit survived too",
    )
    .await;
}

#[tokio::test]
async fn orders_that_expired_while_the_server_was_down_expire_on_start() {
    let app = spawn_app().await;
    let sale = app
        .open_sale(10, json!({"quantity": 4, "payment_window_secs": 60}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("away@example.com").await;
    let order = expect(app.buy(&buyer, id, 2, "k").await, 201, "buy").await;
    let now = app.now().await;

    // Down for two minutes: the payment window passed meanwhile.
    let app = app.restart_after(chrono::Duration::minutes(2), now).await;
    let counters = app.sale(id).await;
    assert_eq!(
        (
            counters["available"].as_u64(),
            counters["reserved"].as_u64()
        ),
        (Some(4), Some(0))
    );
    let expired = app
        .get(&format!("/v1/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(expired["status"], "expired");
    assert_balanced(&counters);
}

/// A full queue answers 503 with Retry-After at once and decides nothing for that
/// request; what was admitted is decided as usual.
#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let app = Arc::new(spawn_app_with_queue(1).await);
    let sale = app
        .open_sale(500, json!({"quantity": 400, "per_customer_limit": 100}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = Arc::new(app.sign_up("crowd@example.com").await);
    let answers = futures::future::join_all((0..200).map(|n| {
        let app = app.clone();
        let buyer = buyer.clone();
        async move {
            let response = app.buy(&buyer, id, 1, &format!("k{n}")).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, retry_after, body)
        }
    }))
    .await;
    let mut created = 0;
    let mut overloaded = 0;
    for (status, retry_after, body) in answers {
        match status {
            201 => created += 1,
            409 if problem_slug(&body) == "limit-reached" => {}
            503 => {
                assert_eq!(problem_slug(&body), "overloaded");
                assert_eq!(retry_after.as_deref(), Some("1"));
                overloaded += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        overloaded > 0,
        "a queue of one must overflow under 200 concurrent buys"
    );
    let counters = app.sale(id).await;
    assert_eq!(
        counters["reserved"].as_u64(),
        Some(created),
        "only admitted requests reserved"
    );
    assert_balanced(&counters);
}
