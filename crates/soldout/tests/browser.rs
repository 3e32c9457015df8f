//! The pages in a real headless Chromium (Debian's `chromium` and `chromedriver`),
//! served by the real `soldout demo` on an ephemeral loopback port:
//!
//! - the overview shows the demo's quarter and both charts draw their bars;
//! - a purchase made through the API shows on the live sale page within two seconds,
//!   without a reload;
//! - the storefront: sign up, register, wait for the start, double-click Buy (one
//!   order), see the reservation, pay through the demo provider;
//! - a clerk cannot open another store's page;
//! - no page logs a JavaScript error, and none is wider than a phone at phone width.
//!
//! Screenshots of every page land in `target/browser-screenshots/`. Without a browser
//! the test says it was skipped and passes; `BROWSER_TESTS_REQUIRED=1` (set by
//! `.ci/run`) makes that a failure.

#[path = "browser/harness.rs"]
mod harness;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use harness::Browser;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN_TOKEN: &str = "browser-test-admin";
const WAIT: Duration = Duration::from_secs(10);

/// `soldout demo` serving on 127.0.0.1:0; killed when dropped.
struct Demo {
    child: Child,
    base: String,
    /// `(store, token)` of each clerk the demo created.
    clerks: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo on SQLite only: these tests drive pages in a browser, and what the pages
/// read and write goes through the same API routes the API suite runs on both
/// backends; a second browser run would double the slowest suite and test no store
/// code the API suite does not.
fn start_demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_soldout"))
        .args(["demo", "--database", &database, "--listen", "127.0.0.1:0"])
        .env("SOLDOUT_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("SOLDOUT_CLOCK_START")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start soldout demo");
    let mut clerks = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the demo stopped before listening")
            .unwrap();
        if let Some(rest) = line.strip_prefix("soldout listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [store, token] = words[..] {
            if store.starts_with("store-") && token.starts_with("k.") {
                clerks.push((store.to_owned(), token.to_owned()));
            }
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Demo {
        child,
        base,
        clerks,
        _dir: dir,
    }
}

impl Demo {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let health = self.api(reqwest::Method::GET, "/healthz", None).await;
        health["now"].as_str().unwrap().parse().unwrap()
    }

    /// A sale of the Redmi Note 4 in India from the Sri City warehouse.
    async fn open_sale(&self, starts_in_secs: i64, registration_required: bool) -> i64 {
        let now = self.now().await;
        let sale = self
            .api(
                reqwest::Method::POST,
                "/v1/sales",
                Some(json!({
                    "sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity",
                    "quantity": 10, "per_customer_limit": 2, "payment_window_secs": 900,
                    "starts_at": now + chrono::Duration::seconds(starts_in_secs),
                    "ends_at": now + chrono::Duration::hours(1),
                    "registration_required": registration_required, "fair_start_secs": 0
                })),
            )
            .await;
        sale["id"].as_i64().unwrap()
    }
}

fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target
        .join("browser-screenshots")
        .join(format!("{name}.png"))
}

impl Browser {
    async fn open(&self, demo: &Demo, path: &str) {
        self.client()
            .goto(&format!("{}{path}", demo.base))
            .await
            .unwrap();
    }

    async fn text_of(&self, css: &str) -> String {
        let element = self.client().find(Locator::Css(css)).await.unwrap();
        element.text().await.unwrap()
    }

    async fn click(&self, css: &str) {
        let element = self.client().find(Locator::Css(css)).await.unwrap();
        element.click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.client().find(Locator::Css(css)).await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    async fn script(&self, js: &str) -> Value {
        self.client().execute(js, vec![]).await.unwrap()
    }

    /// Saves the page, checks it logged no error, then checks it at phone width (no
    /// sideways scrolling) and saves that too.
    async fn check_page(&self, name: &str) {
        self.screenshot(&screenshot_path(name)).await;
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        self.set_width(390, 844).await;
        let widths = self
            .script("return [document.documentElement.scrollWidth, window.innerWidth]")
            .await;
        assert!(
            widths[0].as_u64() <= widths[1].as_u64(),
            "{name} is wider than a phone: {widths}"
        );
        self.screenshot(&screenshot_path(&format!("{name}-phone")))
            .await;
        self.set_width(1280, 900).await;
    }

    /// The bars of each chart on the page: `<rect>`s in the bar colours.
    async fn bars_per_chart(&self) -> Vec<u64> {
        let counts = self
            .script(
                "return Array.from(document.querySelectorAll('svg')).map(s => \
                 s.querySelectorAll('rect[fill=\"#4682B4\" i], rect[fill=\"#E6550D\" i]').length)",
            )
            .await;
        counts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let demo = start_demo();

    // Sign in as the admin; the overview of the demo's latest complete quarter.
    browser.open(&demo, "/login").await;
    browser.check_page("login").await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text("h1", "Overview", WAIT).await.unwrap();
    // By default the latest complete quarter by the server's clock: 2017Q2.
    let main = browser.text_of("main").await;
    assert!(main.contains("2017Q2"), "{main}");
    assert!(main.contains("23.16 M"), "the quarter's units: {main}");
    let bars = browser.bars_per_chart().await;
    assert_eq!(bars.len(), 2, "two charts: {bars:?}");
    assert!(
        bars.iter().all(|&n| n >= 2),
        "every chart has bars: {bars:?}"
    );
    browser.check_page("overview").await;
    browser.open(&demo, "/?period=2017Q2&market=IN").await;
    let main = browser.text_of("main").await;
    assert!(main.contains("+328.0%"), "India's revenue YoY: {main}");
    assert!(main.contains("#2"), "India's rank: {main}");
    let bars = browser.bars_per_chart().await;
    assert!(bars.len() == 2 && bars.iter().all(|&n| n >= 2), "{bars:?}");
    browser.check_page("overview-india").await;

    for (name, path, heading) in [
        ("catalog", "/catalog", "Catalog"),
        ("stores", "/stores", "Stores"),
        ("store", "/stores/store-in-delhi", "Delhi"),
        ("sales", "/sales", "Flash sales"),
        ("demo-sale", "/sales/1", "Sale #1"),
        ("rollouts", "/rollouts", "miui-9-global"),
        ("rollout", "/rollouts/miui-9-global", "Waves"),
    ] {
        browser.open(&demo, path).await;
        let main = browser.text_of("main").await;
        assert!(main.contains(heading), "{path}: {main}");
        browser.check_page(name).await;
    }

    // The live page of a sale under way: a purchase through the API shows within two
    // seconds, without a reload.
    let live = demo.open_sale(-60, false).await;
    browser.open(&demo, &format!("/sales/{live}")).await;
    browser
        .wait_for_text("[data-live=state]", "live", WAIT)
        .await
        .unwrap();
    assert_eq!(browser.text_of("[data-field=reserved]").await, "0");
    let marker = browser
        .script("window.notReloaded = true; return true")
        .await;
    assert_eq!(marker, json!(true));
    let buyer = reqwest::Client::new()
        .post(format!("{}/v1/customers", demo.base))
        .json(&json!({"email": "live.page@example.com"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let bought = reqwest::Client::new()
        .post(format!("{}/v1/sales/{live}/orders", demo.base))
        .bearer_auth(buyer["token"].as_str().unwrap())
        .header("idempotency-key", "live-page-1")
        .json(&json!({"quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(bought.status(), 201);
    let within = Duration::from_secs(2);
    browser
        .wait_for_text("[data-field=reserved]", "2", within)
        .await
        .unwrap();
    browser
        .wait_for_text("[data-field=sold]", "1", within)
        .await
        .unwrap();
    assert_eq!(browser.text_of("[data-field=available]").await, "8");
    assert_eq!(
        browser.script("return window.notReloaded === true").await,
        json!(true),
        "the page was not reloaded"
    );
    browser.check_page("live-sale").await;

    // The storefront: sign up, register, wait for the start, double-click Buy.
    // Twelve seconds leave time to sign up and register on a busy machine.
    let shop = demo.open_sale(12, true).await;
    browser.open(&demo, &format!("/shop/sales/{shop}")).await;
    assert!(browser.text_of("#price").await.contains("INR"));
    browser.type_into("#email", "shopper@example.com").await;
    browser.click("form button[type=submit]").await;
    browser
        .wait_for_text("#register", "Register", WAIT)
        .await
        .unwrap();
    browser.click("#register").await;
    browser
        .wait_for_text("#outcome", "registered", WAIT)
        .await
        .unwrap();
    assert!(browser.text_of("#countdown").await.contains("Starts in"));
    browser.check_page("shop-before-start").await;
    browser
        .wait_for_text("#countdown", "On sale now", 3 * WAIT)
        .await
        .unwrap();
    browser.wait_for_text("#buy", "Buy", WAIT).await.unwrap();
    let buy = browser.client().find(Locator::Css("#buy")).await.unwrap();
    let double_click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: buy,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser
        .client()
        .perform_actions(double_click)
        .await
        .unwrap();
    browser
        .wait_for_text("#outcome", "Reserved", WAIT)
        .await
        .unwrap();
    browser.check_page("shop-reserved").await;
    let sale = demo
        .api(reqwest::Method::GET, &format!("/v1/sales/{shop}"), None)
        .await;
    // The page stops the second click (the API tests check that a retry with the
    // page's one key gives the same order).
    assert_eq!(sale["reserved"], 1, "a double click buys once: {sale}");
    assert_eq!(sale["registrations"], 1, "{sale}");
    browser.click("#pay").await;
    browser
        .wait_for_text("#outcome", "Paid", WAIT)
        .await
        .unwrap();
    let sale = demo
        .api(reqwest::Method::GET, &format!("/v1/sales/{shop}"), None)
        .await;
    assert_eq!(
        (sale["reserved"].clone(), sale["paid"].clone()),
        (json!(0), json!(1))
    );
    browser.check_page("shop-paid").await;

    // A clerk: their own store, and a 403 for another's.
    browser.open(&demo, "/").await;
    browser.click("header form button").await;
    browser.wait_for_text("h1", "Sign in", WAIT).await.unwrap();
    let (_, token) = demo
        .clerks
        .iter()
        .find(|(store, _)| store == "store-in-delhi")
        .expect("the demo's Delhi clerk");
    browser.type_into("#token", token).await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text("main", "Delhi (IN)", WAIT)
        .await
        .unwrap();
    browser.check_page("clerk-own-store").await;
    browser.open(&demo, "/stores/store-in-bengaluru").await;
    browser
        .wait_for_text("h1", "Not allowed", WAIT)
        .await
        .unwrap();
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|e| e.contains("status of 403")),
        "only the refused page itself: {errors:?}"
    );
    browser
        .screenshot(&screenshot_path("clerk-other-store"))
        .await;
    browser.close().await;
}
