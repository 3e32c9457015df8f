//! Prometheus metrics, rendered as OpenMetrics text: requests by route, method and
//! status and their latency, open connections, each sale's units sold and left and
//! its refusals by reason, the engine's queues and group commits, store failures,
//! rollout check-ins, the build, and the `process_*` family. The registry belongs to
//! one server instance (no global state). Counting on the hot path is an atomic add;
//! what the engine already counts (a sale's answers, its queue) is read at the scrape.

mod process;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use soldout_engine::{CommitObserver, Engine, Observer, REFUSAL_REASONS};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// The content type of what [`Metrics::render`] writes.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RolloutLabels {
    rollout: &'static str,
}

/// Strings made `'static` once each, so a label costs no allocation per request.
/// Only for small sets that grow by an operator's hand (route templates, rollouts).
#[derive(Default)]
struct Interned(RwLock<HashMap<String, &'static str>>);

impl Interned {
    fn get(&self, text: &str) -> &'static str {
        if let Some(label) = self.0.read().expect("labels").get(text) {
            return label;
        }
        let mut labels = self.0.write().expect("labels");
        labels
            .entry(text.to_owned())
            .or_insert_with(|| Box::leak(text.to_owned().into_boxed_str()))
    }
}

/// The group commits' histograms, fed by the engine.
#[derive(Debug, Clone)]
struct Commits {
    batch_size: Histogram,
    duration: Histogram,
    store_errors: Counter,
}

impl CommitObserver for Commits {
    fn committed(&self, events: usize, took: Duration) {
        self.batch_size.observe(events as f64);
        self.duration.observe(took.as_secs_f64());
    }
    fn failed(&self) {
        self.store_errors.inc();
    }
}

pub struct Metrics {
    routes: Interned,
    rollouts: Interned,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    connections_open: Gauge,
    checkins: Family<RolloutLabels, Counter>,
    commits: Commits,
    /// The engine whose sales and queues are read at each scrape, once it runs.
    engine: Arc<OnceLock<Engine>>,
    /// Off: requests, check-ins and commits are not counted (for the benchmark that
    /// prints what counting costs the buy path); the scrape still reads the engine.
    counting: bool,
}

impl Metrics {
    /// Metrics that count every request, check-in and group commit.
    pub fn new() -> Self {
        Self::with_counting(true)
    }

    /// Metrics that count (`true`) or leave the hot path alone (`false`).
    pub fn with_counting(counting: bool) -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let engine = Arc::new(OnceLock::new());
        let registry = root.sub_registry_with_prefix("soldout");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 50 µs to ~1.6 s.
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        let connections_open = Gauge::default();
        let checkins = Family::<RolloutLabels, Counter>::default();
        let commits = Commits {
            // 1 to 16,384 events (the most one batch holds).
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            // 100 µs to ~3.3 s.
            duration: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            store_errors: Counter::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            latency.clone(),
        );
        registry.register(
            "http_connections_open",
            "HTTP connections open now",
            connections_open.clone(),
        );
        registry.register(
            "journal_commit_batch_size",
            "Events made durable by one group commit of a sale",
            commits.batch_size.clone(),
        );
        registry.register(
            "journal_commit_duration_seconds",
            "Time one group commit of a sale took in the store",
            commits.duration.clone(),
        );
        registry.register(
            "store_errors",
            "Store calls that failed (the database unreachable, busy or failing)",
            commits.store_errors.clone(),
        );
        registry.register(
            "rollout_checkins",
            "Device check-ins, by the rollout that offered a build (none: no offer)",
            checkins.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register_collector(Box::new(EngineCollector(engine.clone())));
        Metrics {
            routes: Interned::default(),
            rollouts: Interned::default(),
            registry: root,
            requests,
            latency,
            connections_open,
            checkins,
            commits,
            engine,
            counting,
        }
    }

    /// What the engine is to tell of its group commits.
    pub fn commit_observer(&self) -> Observer {
        if !self.counting {
            return Observer::default();
        }
        Observer::new(Arc::new(self.commits.clone()))
    }

    /// From now on each scrape reads `engine`'s sales and queues.
    pub fn watch_engine(&self, engine: Engine) {
        let _ = self.engine.set(engine);
    }

    /// The gauge of open connections, for the server's front door.
    pub fn connections_open(&self) -> Gauge {
        self.connections_open.clone()
    }

    /// Counts a device check-in, under the rollout that offered it a build.
    pub fn count_checkin(&self, rollout: Option<&str>) {
        if !self.counting {
            return;
        }
        let rollout = rollout.map_or("none", |r| self.rollouts.get(r));
        self.checkins
            .get_or_create(&RolloutLabels { rollout })
            .inc();
    }

    /// Counts a store call that failed while answering a request.
    pub(crate) fn count_store_error(&self) {
        if !self.counting {
            return;
        }
        self.commits.store_errors.inc();
    }

    /// Every metric in the OpenMetrics text format ([`OPENMETRICS_CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Each sale's units sold and left and its refusals, and the queues' depth: read from
/// the engine's own counters at the scrape, so a buy pays nothing more for them.
struct EngineCollector(Arc<OnceLock<Engine>>);

impl std::fmt::Debug for EngineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineCollector")
    }
}

impl Collector for EngineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(engine) = self.0.get() else {
            return Ok(());
        };
        let sales = engine.sale_metrics();
        let depth = ConstGauge::new(engine.queue_depth() as i64);
        depth.encode(encoder.encode_descriptor(
            "engine_queue_depth",
            "Requests waiting in the sales' queues for their owners",
            None,
            depth.metric_type(),
        )?)?;
        let mut sold = encoder.encode_descriptor(
            "sale_units_sold",
            "Units in the durable orders this server answered since it started (a replay counts nothing)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (sale, _, traffic) in &sales {
            let labels = [("sale", sale.to_string())];
            ConstCounter::new(traffic.units_sold).encode(sold.encode_family(&labels)?)?;
        }
        let mut left = encoder.encode_descriptor(
            "sale_units_left",
            "Units of the sale still available",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (sale, available, _) in &sales {
            let labels = [("sale", sale.to_string())];
            ConstGauge::new(i64::from(*available)).encode(left.encode_family(&labels)?)?;
        }
        let mut refused = encoder.encode_descriptor(
            "sale_refusals",
            "Buys refused since the server started, by the problem's slug",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (sale, _, traffic) in &sales {
            for (reason, count) in REFUSAL_REASONS.iter().zip(traffic.refused) {
                if count > 0 {
                    let labels = [("sale", sale.to_string()), ("reason", (*reason).to_owned())];
                    ConstCounter::new(count).encode(refused.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// A request's labels: its route template (never the raw path, so unknown ids cannot
/// blow up the label space) and its method.
#[derive(Clone, Copy)]
pub(crate) struct RequestRoute {
    method: &'static str,
    route: &'static str,
}

impl Metrics {
    /// The labels `request` is counted under.
    pub(crate) fn route_of(&self, request: &Request) -> RequestRoute {
        let route = match request.extensions().get::<MatchedPath>() {
            Some(_) if !self.counting => "uncounted",
            Some(path) => self.routes.get(path.as_str()),
            None => "unmatched",
        };
        let method = match *request.method() {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::PATCH => "PATCH",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        RequestRoute { method, route }
    }

    /// Counts and times one answered request.
    pub(crate) fn record(&self, at: RequestRoute, status: u16, took: Duration) {
        if !self.counting {
            return;
        }
        let RequestRoute { method, route } = at;
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }
}
