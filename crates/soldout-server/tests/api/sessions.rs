//! Sessions are sessions: the dashboard's cookie is an opaque id kept on the server
//! with idle expiry, ended at logout; customer tokens expire and are renewed on use;
//! a clerk an admin revoked is turned away everywhere, also after a restart.

use crate::helpers::{expect, problem_slug, spawn_app, TestApp};
use crate::web::browser;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};
use reqwest::Method;
use serde_json::json;
use soldout_server::ConnectionLimits;

impl TestApp {
    /// Where the dashboard's overview sends this session: 200 if it is live.
    async fn overview_with(&self, session: &str) -> (u16, Option<String>) {
        let response = browser()
            .get(self.url("/"))
            .header(COOKIE, session)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    }
}

#[tokio::test]
async fn the_dashboard_cookie_is_a_session_that_logout_ends() {
    let app = spawn_app().await;
    let session = app.session_for(&app.admin_token).await;
    assert!(!session.contains(&app.admin_token), "{session}");
    assert_eq!(app.overview_with(&session).await.0, 200);
    // A second sign-in is a second session; ending one leaves the other.
    let other = app.session_for(&app.admin_token).await;
    assert_ne!(other, session);
    let out = browser()
        .post(app.url("/logout"))
        .header(ORIGIN, format!("http://{}", app.addr))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // The same cookie, sent again after logout, signs nobody in.
    assert_eq!(
        app.overview_with(&session).await,
        (303, Some("/login".to_owned()))
    );
    assert_eq!(app.overview_with(&other).await.0, 200);
    // A made-up id is nobody.
    assert_eq!(
        app.overview_with("soldout_session=00000000000000000000000000000000")
            .await
            .0,
        303
    );
}

#[tokio::test]
async fn a_session_outlives_a_restart_but_not_its_idle_time() {
    let app = spawn_app().await;
    let session = app.session_for(&app.admin_token).await;
    let now = app.now().await;
    let app = app.restart_after(chrono::Duration::minutes(20), now).await;
    assert_eq!(
        app.overview_with(&session).await.0,
        200,
        "kept across a restart"
    );
    let now = app.now().await;
    let app = app.restart_after(chrono::Duration::minutes(31), now).await;
    assert_eq!(
        app.overview_with(&session).await,
        (303, Some("/login".to_owned())),
        "idle for 31 minutes"
    );
}

#[tokio::test]
async fn customer_tokens_expire_and_are_renewed_on_use() {
    let app = spawn_app().await;
    let buyer = app.sign_up("renewed@example.com").await;
    let me = format!("/v1/customers/{}/token", buyer.id);
    let sale = app.open_sale(10, json!({"quantity": 5})).await;
    let id = sale["id"].as_i64().unwrap();
    // Fresh: no renewal yet.
    let early = app.buy(&buyer, id, 1, "k-1").await;
    assert!(early.headers().get("soldout-customer-token").is_none());
    let order = expect(early, 201, "buy").await;
    // The buyer's own order: a read that needs the token.
    let mine = format!("/v1/orders/{}", order["id"].as_str().unwrap());
    // In the second half of its life, a use answers with a renewed token.
    let now = app.now().await;
    let app = app.restart_after(chrono::Duration::days(20), now).await;
    let late = app.call(&buyer.token, Method::GET, &mine, None).await;
    assert_eq!(late.status(), 200);
    let renewed = late.headers()["soldout-customer-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(renewed, buyer.token);
    // Past thirty days the old token is refused, the renewed one is not.
    let now = app.now().await;
    let app = app.restart_after(chrono::Duration::days(15), now).await;
    let expired = app.call(&buyer.token, Method::GET, &mine, None).await;
    assert_eq!(
        problem_slug(&expect(expired, 401, "expired token").await),
        "token-expired"
    );
    let fresh = app.call(&renewed, Method::GET, &mine, None).await;
    assert_eq!(fresh.status(), 200);
    // An admin can issue a new token for a customer whose token lapsed.
    let issued = app.send(Method::POST, &me, json!({}), 201).await;
    let token = issued["token"].as_str().unwrap();
    let with_issued = app.call(token, Method::GET, &mine, None).await;
    assert_eq!(with_issued.status(), 200);
}

#[tokio::test]
async fn a_revoked_clerk_is_turned_away_everywhere() {
    use crate::stores::BLR;
    let app = spawn_app().await;
    let (blr, _) = app.seed_stores(2).await;
    let session = app.session_for(&blr.0).await;
    let clerks = app.get(&format!("/v1/locations/{BLR}/clerks")).await;
    let clerk = clerks.as_array().unwrap()[0]["id"].as_i64().unwrap();
    assert!(
        clerks.to_string().find(&blr.0).is_none(),
        "no token in the list: {clerks}"
    );
    let sales = format!("/v1/locations/{BLR}/sales");
    assert_eq!(
        app.call(&blr.0, Method::GET, &sales, None).await.status(),
        200
    );
    app.send(
        Method::POST,
        &format!("/v1/clerks/{clerk}/revoke"),
        json!({}),
        200,
    )
    .await;
    let refused = app.call(&blr.0, Method::GET, &sales, None).await;
    assert_eq!(
        problem_slug(&expect(refused, 401, "revoked").await),
        "unauthorized"
    );
    assert_eq!(
        app.overview_with(&session).await,
        (303, Some("/login".to_owned()))
    );
    // Revoked stays revoked after a restart; revoking twice or an unknown clerk is told.
    let app = app.restart().await;
    let refused = app.call(&blr.0, Method::GET, &sales, None).await;
    expect(refused, 401, "revoked after a restart").await;
    app.send(Method::POST, "/v1/clerks/999/revoke", json!({}), 404)
        .await;
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    use reqwest::header::SET_COOKIE;
    let plain = spawn_app().await;
    let cookie = plain.sign_in(&plain.admin_token).await.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!cookie.contains("Secure"), "{cookie}");
    let behind_tls = crate::helpers::spawn_app_with(ConnectionLimits::default(), |settings| {
        settings.secure_cookies = true;
    })
    .await;
    let cookie = behind_tls.sign_in(&behind_tls.admin_token).await.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}
