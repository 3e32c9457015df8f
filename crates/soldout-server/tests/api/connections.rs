//! Connections cannot starve the server: slow and idle clients are cut off, the caps
//! refuse fast, and the operators' reserve keeps `/healthz` answering at the cap.

use crate::helpers::spawn_app_with_limits;
use reqwest::Method;
use soldout_server::ConnectionLimits;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection to `server` from the loopback address `from` (127.0.0.2 and up are
/// other clients to the server, as the whole of 127/8 is this machine).
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from}:0").parse().unwrap())
        .expect("bind a loopback address");
    socket.connect(server).await.expect("connect")
}

/// Everything the server sends until it closes the connection, or None if it keeps
/// it open longer than `within`.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> Option<String> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&answer).into_owned())
}

/// A client that opens a new connection for every request.
fn one_connection_per_request() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_full_server_answers_its_operators_and_cuts_off_slow_clients() {
    let limits = ConnectionLimits {
        connections_max: 20,
        per_client_max: 12,
        operator_reserve: 2,
        header_read_timeout: Duration::from_secs(2),
        ..ConnectionLimits::default()
    };
    let app = spawn_app_with_limits(limits).await;
    // Twenty clients that start a request and never finish its head fill the cap.
    let mut slow = Vec::new();
    for i in 0..20 {
        let from = if i < 12 { "127.0.0.2" } else { "127.0.0.3" };
        let mut stream = connect_from(from, app.addr).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: soldout\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A thirteenth from the first address is over its per-client cap: refused at once.
    let mut over = connect_from("127.0.0.2", app.addr).await;
    let refusal = read_until_closed(&mut over, Duration::from_secs(2))
        .await
        .expect("the refusal closes the connection");
    assert!(refusal.starts_with("HTTP/1.1 429"), "{refusal}");
    assert!(refusal.contains("too-many-connections"), "{refusal}");

    // At the cap, the operators' reserve still answers /healthz and the admin token...
    let client = one_connection_per_request();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let admin = client
        .get(app.url("/v1/locations"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    // ...and tells everyone else to retry, fast.
    let buyer = client.get(app.url("/v1/products")).send().await.unwrap();
    assert_eq!(buyer.status(), 503);
    assert_eq!(buyer.headers()["retry-after"], "1");
    let body: serde_json::Value = buyer.json().await.unwrap();
    assert!(body["type"]
        .as_str()
        .unwrap()
        .ends_with("/connection-limit"));

    // The slow heads are answered 408 and closed once the header timeout is up.
    for mut stream in slow {
        let answer = read_until_closed(&mut stream, Duration::from_secs(6))
            .await
            .expect("a slow client is cut off");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request-timeout"), "{answer}");
    }
    // With them gone, buyers are served again.
    let mut served = false;
    for _ in 0..20 {
        let response = client.get(app.url("/v1/products")).send().await.unwrap();
        if response.status() == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "buyers are served once the slow clients are gone");
}

/// Sends `first`, then `drip` every 300 ms for 6 s, and returns what the server
/// answered if it closed the connection before the drip ended.
async fn drip(
    mut stream: TcpStream,
    first: &'static [u8],
    drip: fn(usize) -> String,
) -> Option<String> {
    stream.write_all(first).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    let dripping = tokio::spawn(async move {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writing.write_all(drip(i).as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let answer = read_until_closed(&mut reading, Duration::from_millis(5_500)).await;
    dripping.abort();
    answer
}

#[tokio::test]
async fn a_head_or_body_sent_a_byte_at_a_time_is_cut_off() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let app = spawn_app_with_limits(limits).await;

    // One header line every 300 ms: each line is progress, but the head's deadline
    // runs from its first byte.
    let head = drip(
        connect_from("127.0.0.2", app.addr).await,
        b"GET /healthz HTTP/1.1\r\n",
        |i| format!("X-Drip-{i}: 1\r\n"),
    )
    .await
    .expect("a head dripped for 6 s is cut off");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("request-timeout"), "{head}");

    // A body of 50 bytes sent one byte every 300 ms.
    let body = drip(
        connect_from("127.0.0.3", app.addr).await,
        b"POST /v1/customers HTTP/1.1\r\nHost: soldout\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
        |_| " ".to_owned(),
    )
    .await
    .expect("a body dripped for 6 s is cut off");
    assert!(body.starts_with("HTTP/1.1 408"), "{body}");
    assert!(body.contains("request-timeout"), "{body}");

    // Other clients were served all along.
    let fresh = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let limits = ConnectionLimits {
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let app = spawn_app_with_limits(limits).await;
    let mut stream = connect_from("127.0.0.2", app.addr).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: soldout\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the idle connection is closed after its answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1);
}

#[tokio::test]
async fn the_http_layers_own_refusals_are_problem_documents() {
    let app = crate::helpers::spawn_app().await;
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: soldout\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let bad_line = "GET /healthz HTTP/9.9 extra\r\nHost: soldout\r\n\r\n".to_owned();
    for (request, status) in [(huge_header, "431"), (bad_line, "400")] {
        let mut stream = connect_from("127.0.0.2", app.addr).await;
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .expect("the connection is closed after the refusal");
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("\"status\":"), "{answer}");
    }
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address_with_a_429_and_retry_after() {
    use crate::helpers::{loopback_limits, problem_slug, spawn_app_with};
    let app = spawn_app_with(loopback_limits(), |settings| {
        settings.sign_ups_per_minute = std::num::NonZeroU32::new(3);
    })
    .await;
    let from = |address: &str| {
        reqwest::Client::builder()
            .local_address(address.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let sign_up = |client: reqwest::Client, email: String| {
        let url = app.url("/v1/customers");
        async move {
            client
                .post(url)
                .json(&serde_json::json!({ "email": email }))
                .send()
                .await
                .unwrap()
        }
    };
    let first = from("127.0.0.1");
    for i in 0..3 {
        let answer = sign_up(first.clone(), format!("buyer{i}@example.com")).await;
        assert_eq!(answer.status(), 201);
    }
    let refused = sign_up(first.clone(), "buyer3@example.com".into()).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem_slug(&problem), "too-many-sign-ups");
    // The storefront's form is the same door.
    let form = first
        .post(app.url("/shop/sign-up"))
        .header("origin", format!("http://{}", app.addr))
        .form(&[("email", "buyer4@example.com"), ("sale", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    // Another address has its own allowance, and the refused email was not taken (a
    // taken one is a 409).
    let other = sign_up(from("127.0.0.2"), "buyer3@example.com".into()).await;
    assert_eq!(other.status(), 201, "another address signs up");
}
