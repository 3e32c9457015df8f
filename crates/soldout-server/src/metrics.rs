//! Prometheus metrics: requests by route, method and status, and their latency. The
//! registry belongs to one server instance (no global state), and `/metrics` renders
//! it in the Prometheus text format.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Instant;

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

pub struct Metrics {
    /// Route templates as `'static` labels, made once per template (the router's
    /// routes are a fixed, small set), so counting a request allocates nothing.
    routes: std::sync::RwLock<std::collections::HashMap<String, &'static str>>,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("soldout");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 50 µs to ~1.6 s.
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method",
            latency.clone(),
        );
        Metrics {
            routes: Default::default(),
            registry,
            requests,
            latency,
        }
    }

    fn route_label(&self, template: &str) -> &'static str {
        if let Some(label) = self.routes.read().expect("route labels").get(template) {
            return label;
        }
        let mut routes = self.routes.write().expect("route labels");
        routes
            .entry(template.to_owned())
            .or_insert_with(|| Box::leak(template.to_owned().into_boxed_str()))
    }

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
            Some(path) => self.route_label(path.as_str()),
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
    pub(crate) fn record(&self, at: RequestRoute, status: u16, started: Instant) {
        let RequestRoute { method, route } = at;
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(started.elapsed().as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }
}
