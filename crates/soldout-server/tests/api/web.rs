//! The dashboard over real HTTP (the browser tests come with the rest of the pages):
//! signing in keeps an `HttpOnly`, `SameSite=Strict` session; a post from another site
//! is refused; the overview shows the quarter from the reports, with its charts, and
//! an empty state where there is nothing yet; a clerk cannot open it.

use crate::helpers::{spawn_app, TestApp};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::Method;

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Posts the sign-in form as a page of this site would; the response.
    pub async fn sign_in(&self, token: &str) -> reqwest::Response {
        browser()
            .post(self.url("/login"))
            .header(ORIGIN, format!("http://{}", self.addr))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str, session: &str) -> (u16, String) {
        let response = browser()
            .get(self.url(path))
            .header(COOKIE, session)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn the_overview_needs_a_session_and_shows_the_quarter() {
    let app = spawn_app().await;
    let anonymous = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/login");
    let form = browser().get(app.url("/login")).send().await.unwrap();
    let form = form.text().await.unwrap();
    assert!(form.contains(r#"<label for="token">"#), "{form}");
    assert!(form.contains("<title>Sign in"), "{form}");

    // A post from another site, or without an Origin, signs nobody in.
    let forged = browser()
        .post(app.url("/login"))
        .header(ORIGIN, "http://evil.example")
        .form(&[("token", app.admin_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get(SET_COOKIE).is_none());
    let bare = browser()
        .post(app.url("/login"))
        .form(&[("token", app.admin_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let wrong = app.sign_in("not-a-token").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("not an admin"));

    let signed_in = app.sign_in(&app.admin_token).await;
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();

    // Nothing shipped yet: an empty state, not a blank.
    let (status, empty) = app.page("/", &session).await;
    assert_eq!(status, 200, "{empty}");
    assert!(
        empty.contains("2017Q2, all markets"),
        "the latest complete quarter: {empty}"
    );
    assert!(empty.contains("No shipments in 2017Q2 yet"), "{empty}");
    assert!(empty.contains("No markets yet"), "{empty}");

    app.seed_india().await;
    let csv = "date,market,channel,product,sku,units,revenue,currency\n\
        2017-05-01,IN,partner,redmi-note-4,,4000,4000.00,INR\n\
        2016-05-01,IN,partner,redmi-note-4,,1000,1000.00,INR\n";
    let imported = app
        .admin(Method::POST, "/v1/imports/shipments")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 201);
    let (status, page) = app.page("/?period=2017Q2&market=IN", &session).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("2017Q2, IN"), "{page}");
    assert!(page.contains("<b>4000</b>"), "units: {page}");
    assert!(page.contains("<b>+300.0%</b>"), "YoY: {page}");
    assert!(page.contains("<svg"), "the units chart: {page}");
    assert!(page.contains("<rect"), "bars: {page}");
    assert!(page.contains("No tracker data for 2017Q2"), "{page}");
    assert!(
        page.contains(r#"<option value="2017Q2" selected>"#),
        "{page}"
    );

    for (path, status) in [("/?period=2017Q5", 422), ("/?market=XX", 404)] {
        assert_eq!(app.page(path, &session).await.0, status, "{path}");
    }

    // A clerk signs in, but the company's overview is not theirs.
    let clerk_cookie = &app.delhi_clerk_session().await;
    assert_eq!(app.page("/", clerk_cookie).await.0, 403);

    // Signing out ends the session in the browser.
    let out = browser()
        .post(app.url("/logout"))
        .header(ORIGIN, format!("http://{}", app.addr))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

impl TestApp {
    /// A store in Delhi (India must exist), a clerk there, and the clerk's session
    /// cookie.
    pub async fn delhi_clerk_session(&self) -> String {
        self.send(
            Method::POST,
            "/v1/locations",
            serde_json::json!({"id": "store-in-delhi", "kind": "store", "market": "IN", "name": "Delhi", "city": "Delhi"}),
            201,
        )
        .await;
        let clerk = self
            .send(
                Method::POST,
                "/v1/locations/store-in-delhi/clerks",
                serde_json::json!({"name": "Arjun"}),
                201,
            )
            .await;
        self.session_for(clerk["token"].as_str().unwrap()).await
    }

    /// A session cookie for `token`.
    pub async fn session_for(&self, token: &str) -> String {
        let response = self.sign_in(token).await;
        assert_eq!(response.status(), 303);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_clerk_sees_their_own_store_and_not_another() {
    use crate::stores::{BLR, DEL, SKU};
    let app = spawn_app().await;
    let (bengaluru, _delhi) = app.seed_stores(5).await;
    let admin = app.session_for(&app.admin_token).await;
    let (status, list) = app.page("/stores", &admin).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&format!(r#"href="/stores/{BLR}""#)), "{list}");
    assert!(list.contains(&format!(r#"href="/stores/{DEL}""#)), "{list}");

    let clerk = app.session_for(&bengaluru.0).await;
    let own = browser()
        .get(app.url("/stores"))
        .header(COOKIE, &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 303);
    assert_eq!(own.headers()[LOCATION], format!("/stores/{BLR}"));
    let (status, page) = app.page(&format!("/stores/{BLR}"), &clerk).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("{SKU} (low)")),
        "5 available is low: {page}"
    );
    assert!(page.contains("No sales yet today."), "{page}");
    assert!(page.contains("Nothing on its way."), "{page}");
    let (status, other) = app.page(&format!("/stores/{DEL}"), &clerk).await;
    assert_eq!(status, 403, "{other}");
    assert!(
        !other.contains(SKU),
        "nothing of Delhi's stock shows: {other}"
    );
    assert_eq!(app.page("/stores/nowhere", &admin).await.0, 404);
    assert_eq!(
        app.page("/stores/wh-in-sricity", &admin).await.0,
        404,
        "a warehouse is not a store page"
    );
    let anonymous = browser()
        .get(app.url(&format!("/stores/{BLR}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
}

#[tokio::test]
async fn every_error_is_a_page_or_a_problem_never_bare_text() {
    let app = spawn_app().await;
    // A path the page's extractor cannot read: an HTML page, not axum's plain text.
    let page = browser()
        .get(app.url("/shop/sales/not-a-number"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let text = page.text().await.unwrap();
    assert!(text.contains("<title>Bad Request"), "{text}");
    assert!(text.contains("role=\"alert\""), "{text}");
    // The same on the API is a problem document.
    let api = app
        .admin(Method::GET, "/v1/sales/not-a-number")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 422);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}
