//! What a connection is doing, watched from inside its socket: [`GuardedStream`]
//! wraps the TCP stream hyper reads and writes, and notes in an [`Activity`] when bytes
//! move and when the client stops taking them. The connection's watchdog turns that
//! into a [`Verdict`].
//!
//! The stream also puts right the one kind of answer soldout does not write itself:
//! when hyper cannot parse a request it writes a bare head (400, 414 or 431, no body)
//! and closes. Such a head can only be hyper's (soldout's own answers are written
//! while a request is in flight, and its errors always carry a body), so it is
//! replaced by a problem document with the same status.

use super::ConnectionLimits;
use crate::problem::Problem;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// "Never" for the times below.
const NONE: u64 = u64::MAX;
/// Longest head of hyper's own that we recognize.
const AUTOMATIC_HEAD_BYTES_MAX: usize = 512;

/// A connection's recent history, in milliseconds since it opened. Written by the
/// stream and the service on the connection's task, read by its watchdog.
pub(crate) struct Activity {
    opened: Instant,
    /// Requests whose answer is not yet fully handed to hyper (0 or 1 on HTTP/1.1).
    in_flight: AtomicU32,
    /// When a byte last moved either way.
    last_io_ms: AtomicU64,
    /// When the first byte of a request head arrived, while no request was in flight.
    head_since_ms: AtomicU64,
    /// Since when the client has not taken a byte we wanted to write.
    write_blocked_since_ms: AtomicU64,
    /// The watchdog gave up on a slow head: answer 408 and fail the next read.
    expired: AtomicBool,
}

/// What the watchdog does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    /// A request head has taken longer than the header timeout: 408, then close.
    HeadTooSlow,
    /// Nothing in flight and nothing moved for the idle timeout: close.
    Idle,
    /// The client has not read our answer for the write timeout: close.
    NotReading,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            last_io_ms: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(NONE),
            write_blocked_since_ms: AtomicU64::new(NONE),
            expired: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn bytes_read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_since_ms.load(Ordering::Relaxed) == NONE
        {
            self.head_since_ms.store(now, Ordering::Relaxed);
        }
    }

    fn wrote(&self, blocked: bool) {
        if blocked {
            if self.write_blocked_since_ms.load(Ordering::Relaxed) == NONE {
                self.write_blocked_since_ms
                    .store(self.now_ms(), Ordering::Relaxed);
            }
        } else {
            self.write_blocked_since_ms.store(NONE, Ordering::Relaxed);
            self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A request's head has been parsed and handed to the router.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since_ms.store(NONE, Ordering::Relaxed);
    }

    /// A request's answer is fully handed to hyper (or abandoned).
    pub(crate) fn request_finished(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn expire(&self) {
        self.expired.store(true, Ordering::Relaxed);
    }

    pub(crate) fn verdict(&self, limits: &ConnectionLimits, under_pressure: bool) -> Verdict {
        let now = self.now_ms();
        let older_than = |since: u64, timeout: std::time::Duration| {
            since != NONE && now.saturating_sub(since) >= timeout.as_millis() as u64
        };
        if older_than(
            self.write_blocked_since_ms.load(Ordering::Relaxed),
            limits.write_timeout,
        ) {
            return Verdict::NotReading;
        }
        if !self.idle() {
            return Verdict::Keep;
        }
        let head_since = self.head_since_ms.load(Ordering::Relaxed);
        if head_since != NONE {
            return if older_than(head_since, limits.header_read_timeout) {
                Verdict::HeadTooSlow
            } else {
                Verdict::Keep
            };
        }
        let idle_timeout = if under_pressure {
            limits.idle_timeout.min(super::IDLE_TIMEOUT_UNDER_PRESSURE)
        } else {
            limits.idle_timeout
        };
        if older_than(self.last_io_ms.load(Ordering::Relaxed), idle_timeout) {
            Verdict::Idle
        } else {
            Verdict::Keep
        }
    }
}

/// A whole HTTP/1.1 answer carrying `problem`, written straight to a socket that is
/// closed after it (so `Connection: close`, whatever headers the problem carries).
pub(crate) fn problem_response(problem: &Problem) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(problem.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let body = serde_json::to_string(problem).unwrap_or_default();
    format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        problem.status,
        body.len()
    )
    .into_bytes()
}

/// The problem document that replaces hyper's bare answer `head`, if it is one: a
/// whole head of an error status with no content type.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > AUTOMATIC_HEAD_BYTES_MAX
        || !head.starts_with(b"HTTP/1.1 ")
        || !head.ends_with(b"\r\n\r\n")
    {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    if text.to_ascii_lowercase().contains("\r\ncontent-type:") {
        return None;
    }
    let status: u16 = text.get(9..12)?.parse().ok()?;
    let problem = match status {
        431 => Problem::new(
            http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request headers too large",
            format!(
                "the request's head is over {} bytes or {} headers; send fewer or shorter headers",
                super::HEAD_BYTES_MAX,
                super::HEADERS_MAX
            ),
        ),
        414 => Problem::new(
            http::StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI too long",
            "the request's target is too long",
        ),
        400..=499 => Problem::new(
            http::StatusCode::from_u16(status).ok()?,
            "malformed-request",
            "Malformed request",
            "the request line or a header could not be parsed as HTTP/1.1",
        ),
        _ => return None,
    };
    Some(problem_response(&problem))
}

/// The TCP stream of one connection, noting its activity in an [`Activity`].
pub(crate) struct GuardedStream {
    stream: TcpStream,
    activity: std::sync::Arc<Activity>,
    /// Bytes we owe the socket before anything else (a rewritten answer).
    owed: Vec<u8>,
}

impl GuardedStream {
    pub(crate) fn new(stream: TcpStream, activity: std::sync::Arc<Activity>) -> Self {
        GuardedStream {
            stream,
            activity,
            owed: Vec::new(),
        }
    }

    /// Writes what we owe the socket; ready once it is all written.
    fn poll_pay(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.owed.is_empty() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.owed) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.owed.drain(..n);
                    self.activity.wrote(false);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.activity.wrote(true);
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes hyper's bare error head as written, owing its problem document instead.
    fn rewrite(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Option<Poll<io::Result<usize>>> {
        if !self.activity.idle() {
            return None;
        }
        let replacement = replacement_for(buf)?;
        self.owed = replacement;
        match self.poll_pay(cx) {
            Poll::Ready(Err(e)) => Some(Poll::Ready(Err(e))),
            _ => Some(Poll::Ready(Ok(buf.len()))),
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.activity.expired.load(Ordering::Relaxed) {
            if this.owed.is_empty() {
                this.owed = problem_response(&Problem::new(
                    http::StatusCode::REQUEST_TIMEOUT,
                    "request-timeout",
                    "Request timeout",
                    "the request's head did not arrive in time",
                ));
            }
            let _ = this.poll_pay(cx);
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pay(cx))?;
        if let Some(rewritten) = this.rewrite(cx, buf) {
            return rewritten;
        }
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.activity.wrote(result.is_pending());
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pay(cx))?;
        let mut written = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (written.next(), written.next()) {
            if let Some(rewritten) = this.rewrite(cx, only) {
                return rewritten;
            }
        }
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.activity.wrote(result.is_pending());
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pay(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pay(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_hypers_bare_error_heads_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(bare).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 431 "), "{replaced}");
        assert!(replaced.contains("application/problem+json"));
        assert!(replaced.contains("headers-too-large"));
        let (head, body) = replaced.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 431);

        let bad = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(replacement_for(bad).unwrap())
            .unwrap()
            .contains("malformed-request"));
        let ours = b"HTTP/1.1 409 Conflict\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n";
        assert_eq!(replacement_for(ours), None, "our own problems pass");
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(replacement_for(ok), None);
        let partial = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n";
        assert_eq!(replacement_for(partial), None, "only a whole head");
        assert_eq!(replacement_for(b"HTTP/1.1 4"), None);
    }

    #[test]
    fn the_watchdog_tells_a_slow_head_from_an_idle_connection() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_millis(40),
            idle_timeout: Duration::from_millis(80),
            write_timeout: Duration::from_millis(40),
            ..ConnectionLimits::default()
        };
        let activity = Activity::new();
        assert_eq!(activity.verdict(&limits, false), Verdict::Keep);
        std::thread::sleep(Duration::from_millis(90));
        assert_eq!(activity.verdict(&limits, false), Verdict::Idle);

        let activity = Activity::new();
        activity.bytes_read();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(activity.verdict(&limits, false), Verdict::HeadTooSlow);
        activity.request_started();
        assert_eq!(
            activity.verdict(&limits, false),
            Verdict::Keep,
            "a request in flight is the handler's"
        );
        activity.wrote(true);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(activity.verdict(&limits, false), Verdict::NotReading);
        activity.wrote(false);
        activity.request_finished();
        assert_eq!(activity.verdict(&limits, false), Verdict::Keep);
    }
}
