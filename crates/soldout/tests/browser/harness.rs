//! Headless-Chromium test harness on top of `fantoccini` + Debian's `chromedriver`.
//!
//! Each [`Browser`] owns a private chromedriver (own port, own process group,
//! own `TMPDIR`), so tests may run in parallel. Set `BROWSER_TESTS_REQUIRED=1`
//! to turn a missing browser into a panic instead of a skip (useful in CI).

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A chromedriver process plus one WebDriver session on it.
pub struct Browser {
    client: Client,
    driver: Child,
    tmp: PathBuf,
}

/// Finds `name` on `PATH`, falling back to `/usr/bin`.
fn find_bin(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Legacy chromedriver log endpoint: `POST /session/{id}/se/log {"type":"browser"}`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, sid: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", sid.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

impl Browser {
    /// Starts chromedriver + headless Chromium (1280x900); `None` if not installed.
    pub async fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (find_bin("chromedriver"), find_bin("chromium"))
        else {
            let what =
                "chromedriver/chromium not found (install Debian's chromium chromium-driver)";
            if std::env::var_os("BROWSER_TESTS_REQUIRED").is_some_and(|v| v != "0") {
                panic!("BROWSER_TESTS_REQUIRED is set but {what}");
            }
            // Straight to fd 2: libtest captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr(), "browser tests skipped: {what}");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let tmp = std::env::temp_dir().join(format!(
            "browser-harness-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&tmp).expect("create browser temp dir");
        // The port is picked by binding :0 and then released, so it may be raced: retry.
        let mut last_err = String::new();
        for _ in 0..3 {
            match launch(&driver, &chromium, &tmp).await {
                Ok((driver, client)) => {
                    let b = Browser {
                        client,
                        driver,
                        tmp,
                    };
                    b.set_width(1280, 900).await;
                    return Some(b);
                }
                Err(e) => last_err = e,
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
        panic!("could not start chromedriver/chromium: {last_err}");
    }

    /// The underlying fantoccini client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Browser console messages of level SEVERE since the previous call
    /// (`console.error`, uncaught exceptions, failed resource loads).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("read browser log");
        let entries = log.as_array().map(Vec::as_slice).unwrap_or_default();
        let severe = entries.iter().filter(|e| e["level"] == "SEVERE");
        severe
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a PNG screenshot of the viewport, creating parent directories.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("take screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create screenshot dir");
        }
        tokio::fs::write(path, png).await.expect("write screenshot");
    }

    /// Resizes the window so the *viewport* is `w`x`h` CSS px (e.g. 390x844 for a
    /// phone); headless Chromium's window frame is otherwise subtracted from it.
    pub async fn set_width(&self, w: u32, h: u32) {
        let js = "return [outerWidth - innerWidth, outerHeight - innerHeight]";
        let c = &self.client;
        let frame = c.execute(js, vec![]).await.expect("read window frame");
        let d = |i: usize| frame[i].as_u64().unwrap_or(0) as u32;
        let resized = c.set_window_size(w + d(0), h + d(1)).await;
        resized.expect("set window size");
    }

    /// Polls every 50 ms until the first element matching `css` contains `contains`.
    pub async fn wait_for_text(
        &self,
        css: &str,
        contains: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("<no element>");
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                match el.text().await {
                    Ok(t) if t.contains(contains) => return Ok(()),
                    Ok(t) => last = t,
                    Err(e) => last = format!("<error: {e}>"),
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for `{css}` to contain \
                     {contains:?}; last text: {last:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (Chromium quits cleanly), then stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills the process group and removes the temp dir.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Spawns chromedriver on a free port (own process group, private `TMPDIR`) and
/// opens a headless Chromium session on it; kills it all again on failure.
async fn launch(driver: &Path, chromium: &Path, tmp: &Path) -> Result<(Child, Client), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("pick port: {e}"))?
        .port();
    // chromedriver listens on loopback only (127.0.0.1 and ::1) by default.
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .env("TMPDIR", tmp) // Chromium's profile and scoped dirs land here
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0) // lets kill_group() take Chromium down with chromedriver
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn chromedriver: {e}"))?;
    let caps = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": { "browser": "ALL" },
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        },
    });
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(caps.as_object().cloned().unwrap_or_default());
    let url = format!("http://127.0.0.1:{port}");
    let session = tokio::time::timeout(Duration::from_secs(30), builder.connect(&url));
    let res = match wait_listening(&mut child, port).await {
        Ok(()) => match session.await {
            Ok(res) => res.map_err(|e| format!("new session: {e}")),
            Err(_) => Err("new session: no answer within 30 s".into()),
        },
        Err(e) => Err(e),
    };
    match res {
        Ok(client) => Ok((child, client)),
        Err(e) => {
            kill_group(&mut child);
            Err(e)
        }
    }
}

/// SIGKILLs chromedriver's process group (chromedriver and every Chromium process).
fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: plain syscall; the group was created by `process_group(0)` above.
        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    }
    let _ = child.start_kill();
}

/// Waits (at most 10 s) until chromedriver accepts TCP connections on `port`.
async fn wait_listening(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("chromedriver exited early: {status}"));
        }
        if Instant::now() >= deadline {
            return Err("chromedriver did not listen within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
