//! The server's front door: it accepts TCP connections and serves HTTP/1.1 on them
//! under limits a hostile client cannot get around.
//!
//! - **Caps.** At most [`ConnectionLimits::connections_max`] open connections, and at
//!   most [`ConnectionLimits::per_client_max`] from one client address. Beyond a cap
//!   a connection is refused at once with a problem document (503, or 429 for one
//!   address), never left hanging in the backlog.
//! - **A reserve for operators.** Above the cap, [`ConnectionLimits::operator_reserve`]
//!   more connections are admitted as [`Admission::Reserve`]: each serves one request,
//!   and only `/healthz`, `/metrics` and admin-token requests are answered there (the
//!   router's gate refuses the rest), so an operator can still see and steer the
//!   server while it is full.
//! - **Timeouts.** A request's head must arrive within `header_read_timeout` of its
//!   first byte (else a 408, then the connection closes), its body within
//!   `body_read_timeout` of its head (else the handler answers 408), a connection with
//!   nothing in flight is closed after `idle_timeout` of silence (1 s when the server is
//!   three quarters full), and one whose client stopped reading our answer after
//!   `write_timeout`.
//! - **Every error is a problem.** The few answers hyper writes by itself (400 for an
//!   unparsable request, 414, 431) are rewritten into problem documents on their way
//!   out ([`guard`]).
//!
//! Shutdown is graceful: the listener closes, every connection finishes the request it
//! is serving, and [`serve`] returns when the last one has closed.

mod body;
mod guard;

use crate::problem::Problem;
use axum::Router;
use guard::{Activity, GuardedStream, Verdict};
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

pub use body::BodyReadTimeout;

/// Largest request head (request line and headers) we read, in bytes: beyond it a 431.
pub const HEAD_BYTES_MAX: usize = 32 * 1024;
/// Most headers one request may carry: beyond it a 431.
pub const HEADERS_MAX: usize = 100;
/// How long a connection we are closing gets to take its last answer (a 408).
const LAST_WORD_GRACE: Duration = Duration::from_millis(200);
/// The idle timeout while the server is three quarters full.
const IDLE_TIMEOUT_UNDER_PRESSURE: Duration = Duration::from_secs(1);

/// The limits of the front door; [`Default`] gives a shop's safe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most, not counting the operators' reserve.
    pub connections_max: usize,
    /// Open connections from one client address at most (behind a load balancer every
    /// connection comes from its address: raise this to `connections_max` there).
    pub per_client_max: usize,
    /// Connections admitted beyond `connections_max` for `/healthz`, `/metrics` and the
    /// admin token only.
    pub operator_reserve: usize,
    /// From a request's first byte to the end of its head.
    pub header_read_timeout: Duration,
    /// From a request's head to the end of its body.
    pub body_read_timeout: Duration,
    /// A connection with nothing in flight and no byte in either direction this long
    /// is closed.
    pub idle_timeout: Duration,
    /// A connection whose client has not taken any of our answer for this long is
    /// closed.
    pub write_timeout: Duration,
    /// Connections the kernel queues before we accept them.
    pub listen_backlog: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            connections_max: 8192,
            per_client_max: 512,
            operator_reserve: 64,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            listen_backlog: 4096,
        }
    }
}

impl ConnectionLimits {
    /// How often each connection's watchdog looks at it: a quarter of the shortest
    /// timeout, between 50 ms and 1 s.
    fn watch_interval(&self) -> Duration {
        [
            self.header_read_timeout,
            self.idle_timeout,
            self.write_timeout,
            IDLE_TIMEOUT_UNDER_PRESSURE,
        ]
        .into_iter()
        .min()
        .unwrap_or(Duration::from_secs(1))
        .div_f64(4.0)
        .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// Checks the limits make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if self.connections_max == 0 || self.per_client_max == 0 {
            return Err("connections_max and per_client_max must be at least 1".into());
        }
        for (name, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("write_timeout", self.write_timeout),
        ] {
            if timeout.is_zero() {
                return Err(format!("{name} must be longer than zero"));
            }
        }
        Ok(())
    }
}

/// How a connection was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Under the cap: any request, keep-alive.
    Regular,
    /// In the operators' reserve: one request, operators' routes only.
    Reserve,
}

/// Who a request came from and how its connection was admitted: every request
/// carries one in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConnection {
    pub peer: SocketAddr,
    pub admission: Admission,
}

/// Binds `addr` with a listen backlog of `backlog` (the kernel may cap it at its
/// `somaxconn`).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Raises this process's limit of open files to its hard limit and returns it, so the
/// connection cap is not cut short by a low default (1,024 on many systems).
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// Files the process keeps open besides its connections (database, logs, listener).
const FILES_BESIDES_CONNECTIONS: u64 = 256;

/// The limits cut to what the open-files limit allows.
fn fit_to_open_files(mut limits: ConnectionLimits) -> ConnectionLimits {
    let Some(files) = raise_open_files_limit() else {
        return limits;
    };
    let room = files.saturating_sub(FILES_BESIDES_CONNECTIONS).max(2) as usize;
    if limits.connections_max + limits.operator_reserve > room {
        let reserve = limits.operator_reserve.min(room / 8);
        let connections = room - reserve;
        tracing::warn!(
            open_files = files,
            connections_max = limits.connections_max,
            cut_to = connections,
            "the open-files limit is too low for the connection cap; cutting the cap"
        );
        limits.connections_max = connections;
        limits.operator_reserve = reserve;
    }
    limits
}

/// Serves `router` on `listener` with the default limits until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(
        listener,
        router,
        ConnectionLimits::default(),
        Gauge::default(),
        shutdown,
    )
    .await
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then lets
/// every connection finish the request it is serving and returns. `connections_open`
/// follows how many connections are open (the metrics' gauge).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    connections_open: Gauge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    limits
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let limits = Arc::new(fit_to_open_files(limits));
    let doors = Arc::new(Doors {
        gauge: connections_open,
        ..Doors::default()
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    // Each connection holds a sender; when the last one is gone, every connection is.
    let (alive, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or the like: wait a moment, never spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let admission = match doors.admit(peer.ip(), &limits) {
            Ok(admission) => admission,
            Err(refusal) => {
                refusal.send(&stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ticket = Ticket {
            doors: doors.clone(),
            ip: peer.ip(),
        };
        let connection = Connection {
            router: router.clone(),
            limits: limits.clone(),
            doors: doors.clone(),
            client: ClientConnection { peer, admission },
        };
        let stopping = stopping.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            connection.run(stream, stopping).await;
            drop(ticket);
            drop(alive);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    let _ = all_closed.recv().await;
    Ok(())
}

/// Who is inside: open connections in all, and per client address.
#[derive(Default)]
struct Doors {
    open: AtomicUsize,
    /// `open`, as the metrics show it.
    gauge: Gauge,
    per_client: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was turned away at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Full,
    ClientFull,
}

impl Refusal {
    /// Tells the client why, if its socket takes the bytes at once, and drops it.
    fn send(self, stream: &TcpStream) {
        let problem = match self {
            Refusal::Full => Problem::connection_limit(),
            Refusal::ClientFull => Problem::too_many_connections(),
        };
        let _ = stream.try_write(&guard::problem_response(&problem));
    }
}

impl Doors {
    fn admit(&self, ip: IpAddr, limits: &ConnectionLimits) -> Result<Admission, Refusal> {
        let mut per_client = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
        let mine = per_client.entry(ip).or_insert(0);
        if *mine >= limits.per_client_max {
            if *mine == 0 {
                per_client.remove(&ip);
            }
            return Err(Refusal::ClientFull);
        }
        let open = self.open.load(Ordering::Relaxed);
        if open >= limits.connections_max + limits.operator_reserve {
            if *mine == 0 {
                per_client.remove(&ip);
            }
            return Err(Refusal::Full);
        }
        *mine += 1;
        self.open.store(open + 1, Ordering::Relaxed);
        self.gauge.inc();
        Ok(if open >= limits.connections_max {
            Admission::Reserve
        } else {
            Admission::Regular
        })
    }

    fn leave(&self, ip: IpAddr) {
        let mut per_client = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = per_client.get_mut(&ip) {
            *mine -= 1;
            if *mine == 0 {
                per_client.remove(&ip);
            }
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.gauge.dec();
    }

    /// Three quarters of the cap in use: idle connections make room.
    fn under_pressure(&self, limits: &ConnectionLimits) -> bool {
        self.open.load(Ordering::Relaxed) * 4 >= limits.connections_max * 3
    }
}

/// A place inside; given back when the connection ends, however it ends.
struct Ticket {
    doors: Arc<Doors>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.doors.leave(self.ip);
    }
}

struct Connection {
    router: Router,
    limits: Arc<ConnectionLimits>,
    doors: Arc<Doors>,
    client: ClientConnection,
}

impl Connection {
    /// Serves HTTP/1.1 on `stream` until the client leaves, a timeout closes it, or the
    /// server stops (then after the request in flight).
    async fn run(self, stream: TcpStream, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(GuardedStream::new(stream, activity.clone()));
        let service = body::ConnectionService::new(
            self.router,
            activity.clone(),
            self.client,
            self.limits.body_read_timeout,
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        http.keep_alive(self.client.admission == Admission::Regular)
            .max_buf_size(HEAD_BYTES_MAX)
            .max_headers(HEADERS_MAX)
            .header_read_timeout(None);
        let connection = http.serve_connection(io, service);
        tokio::pin!(connection);
        let mut watch = tokio::time::interval(self.limits.watch_interval());
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop_asked = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, peer = %self.client.peer, "connection ended with an error");
                    }
                    return;
                }
                _ = watch.tick() => {
                    let pressure = self.doors.under_pressure(&self.limits);
                    match activity.verdict(&self.limits, pressure) {
                        Verdict::Keep => {}
                        Verdict::HeadTooSlow => {
                            // The stream answers 408 on hyper's next read, then fails it.
                            activity.expire();
                            let _ = tokio::time::timeout(LAST_WORD_GRACE, connection.as_mut()).await;
                            return;
                        }
                        Verdict::Idle | Verdict::NotReading => return,
                    }
                }
                changed = stopping.changed(), if !stop_asked => {
                    stop_asked = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_door_counts_per_client_and_keeps_a_reserve() {
        let limits = ConnectionLimits {
            connections_max: 3,
            per_client_max: 2,
            operator_reserve: 1,
            ..ConnectionLimits::default()
        };
        let doors = Doors::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let c: IpAddr = "127.0.0.4".parse().unwrap();
        assert_eq!(doors.admit(a, &limits), Ok(Admission::Regular));
        assert_eq!(doors.admit(a, &limits), Ok(Admission::Regular));
        assert_eq!(doors.admit(a, &limits), Err(Refusal::ClientFull));
        assert_eq!(doors.admit(b, &limits), Ok(Admission::Regular));
        assert_eq!(doors.admit(c, &limits), Ok(Admission::Reserve));
        assert_eq!(doors.admit(c, &limits), Err(Refusal::Full));
        doors.leave(a);
        assert_eq!(doors.admit(b, &limits), Ok(Admission::Reserve));
        doors.leave(c);
        doors.leave(b);
        doors.leave(b);
        doors.leave(a);
        assert_eq!(doors.open.load(Ordering::Relaxed), 0);
        assert!(doors.per_client.lock().unwrap().is_empty());
    }

    #[test]
    fn limits_refuse_zero() {
        assert!(ConnectionLimits::default().validate().is_ok());
        let zero = ConnectionLimits {
            idle_timeout: Duration::ZERO,
            ..ConnectionLimits::default()
        };
        assert!(zero.validate().is_err());
    }
}
