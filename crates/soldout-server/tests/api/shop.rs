//! The storefront's endpoints and the live sale page over real HTTP (the browser test
//! in `crates/soldout/tests/browser.rs` clicks through the same pages): a buyer's
//! cookie, same-origin posts, one order per Idempotency-Key, the demo payment signed
//! as the provider signs; the live page's server-sent events and answer counts; the
//! catalog's calendar.

use crate::helpers::{expect, problem_slug, spawn_app, spawn_demo_app, TestApp};
use crate::web::browser;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

impl TestApp {
    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signs up through the sale page's form; the buyer's cookie.
    async fn shop_sign_up(&self, sale: i64, email: &str) -> String {
        let response = browser()
            .post(self.url("/shop/sign-up"))
            .header(ORIGIN, self.origin())
            .form(&[("email", email), ("sale", &sale.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        // Lax: a buyer who follows a link to the sale from elsewhere stays signed in.
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(
            cookie.contains("Max-Age="),
            "kept across browser restarts: {cookie}"
        );
        assert!(cookie.starts_with("soldout_customer="), "{cookie}");
        cookie.split(';').next().unwrap().to_owned()
    }

    /// A post from the shop's page: this site's Origin, the buyer's cookie.
    fn shop_post(&self, path: &str, cookie: &str) -> reqwest::RequestBuilder {
        browser()
            .post(self.url(path))
            .header(ORIGIN, self.origin())
            .header(COOKIE, cookie)
    }

    async fn shop_buy(
        &self,
        sale: i64,
        cookie: &str,
        key: &str,
        quantity: u32,
    ) -> reqwest::Response {
        self.shop_post(&format!("/shop/sales/{sale}/orders"), cookie)
            .header("idempotency-key", key)
            .json(&json!({ "quantity": quantity }))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_buyer_signs_up_registers_and_buys_once_per_key() {
    let app = spawn_app().await;
    let now = app.now().await;
    let sale = app
        .open_sale(
            10,
            json!({"registration_required": true, "starts_at": now + chrono::Duration::seconds(2)}),
        )
        .await;
    let id = sale["id"].as_i64().unwrap();

    let (status, page) = app.page(&format!("/shop/sales/{id}"), "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("INR 10,999.00"), "the price: {page}");
    assert!(
        page.contains(r#"<label for="email">"#),
        "sign up first: {page}"
    );
    assert!(!page.contains(r#"id="pay""#), "no demo pay button: {page}");
    assert_eq!(app.page("/shop/sales/999", "").await.0, 404);

    // The sign-up form refuses other sites and bad emails, and an email twice.
    let forged = browser()
        .post(app.url("/shop/sign-up"))
        .header(ORIGIN, "http://evil.example")
        .form(&[("email", "a@example.com"), ("sale", &id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get(SET_COOKIE).is_none());
    let bad = browser()
        .post(app.url("/shop/sign-up"))
        .header(ORIGIN, app.origin())
        .form(&[("email", "not an email"), ("sale", &id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let cookie = app.shop_sign_up(id, "buyer@example.com").await;
    let twice = browser()
        .post(app.url("/shop/sign-up"))
        .header(ORIGIN, app.origin())
        .form(&[("email", "buyer@example.com"), ("sale", &id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 409);
    let (_, page) = app.page(&format!("/shop/sales/{id}"), &cookie).await;
    assert!(page.contains(r#"id="register""#), "{page}");
    assert!(page.contains(r#"id="buy""#), "{page}");

    // Posts without the cookie, or from another site, change nothing.
    let anonymous = browser()
        .post(app.url(&format!("/shop/sales/{id}/registration")))
        .header(ORIGIN, app.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(expect(anonymous, 401, "no cookie").await["status"], 401);
    let cross_site = browser()
        .post(app.url(&format!("/shop/sales/{id}/registration")))
        .header(ORIGIN, "http://evil.example")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(app.sale(id).await["registrations"], 0);

    let registered = app
        .shop_post(&format!("/shop/sales/{id}/registration"), &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let early = app.shop_buy(id, &cookie, "key-1", 1).await;
    assert_eq!(
        problem_slug(&expect(early, 409, "before the start").await),
        "not-started"
    );

    app.sale_when(id, |s| s["status"] == "active").await;
    for (body, status) in [
        ("{", 400),
        (r#"{"quantity": -1}"#, 422),
        (r#"{"quantity": 0}"#, 422),
    ] {
        let response = app
            .shop_post(&format!("/shop/sales/{id}/orders"), &cookie)
            .header("idempotency-key", "bad-input")
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let first = expect(app.shop_buy(id, &cookie, "key-1", 1).await, 201, "buy").await;
    let again = expect(
        app.shop_buy(id, &cookie, "key-1", 1).await,
        201,
        "the same click",
    )
    .await;
    assert_eq!(first["id"], again["id"], "one key, one order");
    assert_eq!(app.sale(id).await["reserved"], 1);
    let second = expect(
        app.shop_buy(id, &cookie, "key-2", 1).await,
        201,
        "a second buy",
    )
    .await;
    assert_ne!(first["id"], second["id"]);
    let over = app.shop_buy(id, &cookie, "key-3", 1).await;
    assert_eq!(
        problem_slug(&expect(over, 409, "over the limit").await),
        "limit-reached"
    );

    // Outside demo mode the shop cannot pay: a real provider calls the webhook.
    let order = first["id"].as_str().unwrap();
    let pay = app
        .shop_post(&format!("/shop/orders/{order}/pay"), &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 404);
    assert_eq!(app.sale(id).await["paid"], 0);
}

#[tokio::test]
async fn the_demo_pays_as_the_provider_would_and_only_the_buyers_own_order() {
    let app = spawn_demo_app().await;
    let sale = app.open_sale(10, json!({})).await;
    let id = sale["id"].as_i64().unwrap();
    let (_, page) = app.page(&format!("/shop/sales/{id}"), "").await;
    assert!(page.contains(r#"id="pay""#), "{page}");
    let buyer = app.shop_sign_up(id, "payer@example.com").await;
    let other = app.shop_sign_up(id, "other@example.com").await;
    let order = expect(app.shop_buy(id, &buyer, "pay-1", 2).await, 201, "buy").await;
    let order = order["id"].as_str().unwrap();

    let not_theirs = app
        .shop_post(&format!("/shop/orders/{order}/pay"), &other)
        .send()
        .await
        .unwrap();
    assert_eq!(not_theirs.status(), 404);
    for bad in ["not-an-order", "01BX5ZZKBKACTAV9WEVGEMMVRZ"] {
        let response = app
            .shop_post(&format!("/shop/orders/{bad}/pay"), &buyer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{bad}");
    }
    let paid = app
        .shop_post(&format!("/shop/orders/{order}/pay"), &buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(expect(paid, 200, "pay").await["status"], "paid");
    let again = app
        .shop_post(&format!("/shop/orders/{order}/pay"), &buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(again, 200, "the same event again").await["status"],
        "paid"
    );
    let sale = app.sale(id).await;
    assert_eq!(
        (sale["reserved"].clone(), sale["paid"].clone()),
        (json!(0), json!(2))
    );
}

/// The `update` events the live page receives within `window`.
async fn updates(app: &TestApp, session: &str, sale: i64, window: Duration) -> Vec<Value> {
    let mut response = browser()
        .get(app.url(&format!("/sales/{sale}/events")))
        .header(COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    let mut text = String::new();
    let until = Instant::now() + window;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(
        until.saturating_duration_since(Instant::now()),
        response.chunk(),
    )
    .await
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.split("\n\n")
        .filter(|event| event.contains("event: update"))
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

#[tokio::test]
async fn the_live_page_streams_counters_and_answers_a_few_times_a_second() {
    let app = spawn_app().await;
    let sale = app
        .open_sale(4, json!({"quantity": 4, "per_customer_limit": 1}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let admin = app.session_for(&app.admin_token).await;

    let mut buyers = Vec::new();
    for i in 0..5 {
        buyers.push(app.sign_up(&format!("live{i}@example.com")).await);
    }
    let mut statuses = Vec::new();
    for (i, buyer) in buyers[..3].iter().enumerate() {
        statuses.push(
            app.buy(buyer, id, 1, &format!("k{i}"))
                .await
                .status()
                .as_u16(),
        );
        if i == 0 {
            // Over the per-customer limit while units remain.
            statuses.push(app.buy(buyer, id, 1, "k-again").await.status().as_u16());
        }
    }
    assert_eq!(statuses, [201, 409, 201, 201]);

    let (status, page) = app.page(&format!("/sales/{id}"), &admin).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"data-field="reserved">3<"#), "{page}");
    assert!(page.contains("<svg"), "the units-over-time chart: {page}");
    assert!(
        page.contains(&format!("new EventSource('/sales/{id}/events')")),
        "{page}"
    );

    // While the page listens, the last unit sells, its buyer sends the key again
    // (answered with the same order, not counted as sold) and one more buyer is
    // refused.
    let late_buys = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let sold = app.buy(&buyers[3], id, 1, "k3").await.status();
        let replayed = app.buy(&buyers[3], id, 1, "k3").await.status();
        let refused = app.buy(&buyers[4], id, 1, "k4").await.status();
        (sold.as_u16(), replayed.as_u16(), refused.as_u16())
    };
    let (seen, late) = tokio::join!(
        updates(&app, &admin, id, Duration::from_millis(1600)),
        late_buys
    );
    assert_eq!(late, (201, 201, 409));
    assert!(seen.len() >= 2, "updates keep coming: {}", seen.len());
    assert!(
        seen.len() <= 4,
        "at most two a second: {} in 1.6 s",
        seen.len()
    );
    assert_eq!(seen[0]["reserved"], 3);
    let first_chart = seen[0]["chart"].as_str().unwrap().to_owned();
    assert!(first_chart.contains("<svg"));
    let last = seen.last().unwrap();
    assert_eq!(last["reserved"], 4);
    assert_eq!(last["available"], 0);
    assert_eq!(last["status"], "sold out");
    let answers = &last["answers"];
    assert_eq!(answers["requests"], 7, "{answers}");
    assert_eq!(answers["sold"], 4, "{answers}");
    assert_eq!(answers["replayed"], 1, "{answers}");
    // The storefront's script says "sold out", not "on sale now", from the page's
    // own count.
    let (status, shop) = app.page(&format!("/shop/sales/{id}"), "").await;
    assert_eq!(status, 200, "{shop}");
    assert!(shop.contains(r#"data-available="0""#), "{shop}");
    assert!(shop.contains("Sold out for now"), "{shop}");
    assert_eq!(answers["limit"], 1, "{answers}");
    assert_eq!(answers["sold_out"], 1, "{answers}");
    assert_eq!(answers["overloaded"], 0, "{answers}");
    let charts: Vec<&str> = seen[1..]
        .iter()
        .filter_map(|u| u["chart"].as_str())
        .collect();
    assert_eq!(
        charts.len(),
        1,
        "the chart again once, when the last unit sold"
    );
    assert_ne!(charts[0], first_chart);

    // After a restart the curve is rebuilt from the journal: the same chart.
    let app = app.restart().await;
    let admin = app.session_for(&app.admin_token).await;
    let seen = updates(&app, &admin, id, Duration::from_millis(300)).await;
    assert_eq!(seen[0]["chart"].as_str(), Some(charts[0]));
    assert_eq!(
        seen[0]["answers"]["requests"], 0,
        "answers count from the start"
    );

    // Only an admin's session sees it.
    let clerk = app.delhi_clerk_session().await;
    for path in [
        format!("/sales/{id}"),
        format!("/sales/{id}/events"),
        "/sales".into(),
    ] {
        assert_eq!(app.page(&path, &clerk).await.0, 403, "{path}");
        assert_eq!(app.page(&path, "").await.0, 303, "{path}");
    }
    assert_eq!(app.page("/sales/999", &admin).await.0, 404);
    assert_eq!(app.page("/sales/999/events", &admin).await.0, 404);
    let (status, list) = app.page("/sales", &admin).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!(r#"href="/sales/{id}""#)), "{list}");
}

#[tokio::test]
async fn the_catalog_lists_lineups_and_what_comes_next() {
    let app = spawn_app().await;
    let admin = app.session_for(&app.admin_token).await;
    let (status, empty) = app.page("/catalog", &admin).await;
    assert_eq!(status, 200);
    assert!(empty.contains("No market yet"), "{empty}");
    assert!(empty.contains("Nothing is scheduled"), "{empty}");

    let now = app.now().await;
    let sale = app
        .open_sale(
            10,
            json!({"starts_at": now + chrono::Duration::hours(2), "ends_at": now + chrono::Duration::hours(3)}),
        )
        .await;
    app.send(
        Method::PUT,
        "/v1/products/redmi-note-4/launches/IN",
        json!({"teaser_at": now - chrono::Duration::days(1), "unveil_at": now + chrono::Duration::days(3), "sale_from": now + chrono::Duration::days(5)}),
        200,
    )
    .await;
    let (status, page) = app.page("/catalog", &admin).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Lineup in IN (INR)"), "{page}");
    assert!(page.contains("<td>teased</td>"), "{page}");
    assert!(page.contains("INR 10,999.00"), "{page}");
    assert!(page.contains("Redmi Note 4: unveiling"), "{page}");
    assert!(page.contains("Redmi Note 4: first sale day"), "{page}");
    assert!(
        !page.contains("Redmi Note 4: teaser"),
        "the teaser is past: {page}"
    );
    assert!(
        page.contains(&format!("Flash sale #{}", sale["id"])),
        "the scheduled sale: {page}"
    );
    assert_eq!(app.page("/catalog", "").await.0, 303);
    // A customer's token is no dashboard session.
    let customer = app.sign_up("looker@example.com").await;
    let as_customer = format!("soldout_session={}", customer.token);
    assert_eq!(app.page("/catalog", &as_customer).await.0, 303);
    assert_eq!(app.page("/", &as_customer).await.0, 303);
}

#[tokio::test]
async fn an_open_live_page_does_not_hold_up_a_shutdown() {
    let app = spawn_app().await;
    let sale = app.open_sale(1, json!({"quantity": 1})).await;
    let id = sale["id"].as_i64().unwrap();
    let admin = app.session_for(&app.admin_token).await;
    let mut stream = browser()
        .get(app.url(&format!("/sales/{id}/events")))
        .header(COOKIE, &admin)
        .send()
        .await
        .unwrap();
    assert!(stream.chunk().await.unwrap().is_some(), "the first update");
    assert!(app.stop_gracefully(Duration::from_secs(5)).await);
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended with the server");
}
