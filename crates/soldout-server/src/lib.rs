//! The HTTP side of soldout: an axum router that parses and authenticates requests,
//! calls the core and the store, and answers JSON or RFC 9457 problems. The OpenAPI
//! document is generated from the same handlers the router serves.
//!
//! [`App::build`] makes the router so that the binary and the tests start the very
//! same server; [`serve`] runs it until a shutdown signal.

mod access_log;
pub mod admin_token;
mod api_doc;
pub mod auth;
pub mod connections;
mod error_documents;
mod gate;
pub mod metrics;
pub mod problem;
pub mod request_id;
pub mod routes;
pub mod web;

use crate::auth::Tokens;
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::routes::system::OpenApiJson;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use soldout_core::SessionPolicy;
use soldout_engine::{Clock, Engine};
use soldout_store::Store;
use std::future::Future;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body we read: 1 MiB.
pub const BODY_LIMIT_BYTES: usize = 1 << 20;

/// What every handler can reach: one shared [`Services`], so cloning the state for
/// a request is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub tokens: Tokens,
    pub metrics: Arc<Metrics>,
    pub engine: Engine,
    /// OS releases and rollouts.
    pub rollouts: soldout_engine::rollouts::Rollouts,
    /// The secret the payment provider signs its webhooks with.
    pub payment_secret: Arc<[u8]>,
    /// The storefront offers a "pay" button that acts as the provider (demos only).
    pub demo_payments: bool,
    /// The admin token this start made (none was configured or kept): shown to the
    /// operator once, never kept.
    pub new_admin_token: Option<String>,
    /// How long a dashboard session lives.
    pub sessions: SessionPolicy,
    /// Cookies carry `Secure`.
    pub secure_cookies: bool,
    /// Sign-ups per client address, when they are limited.
    pub sign_ups: Option<routes::customers::SignUpLimiter>,
    /// Turns true when the server shuts down: endless responses (the live pages'
    /// event streams) end, so a graceful shutdown does not wait for them.
    closing: tokio::sync::watch::Sender<bool>,
}

/// Secrets and settings the server starts with. A secret left `None` is persisted in
/// the database (or generated there on first start).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The admin token; `None`: the one kept in the database (as its digest), made on
    /// the first start and shown then ([`AppState::new_admin_token`]).
    pub admin_token: Option<String>,
    pub token_key: Option<String>,
    pub payment_secret: Option<String>,
    /// The storefront's "pay" button calls the payment webhook as the provider would,
    /// signed with the shared secret: for `soldout demo`, never for real money.
    pub demo_payments: bool,
    /// How long a customer token lives; each use in its second half renews it.
    pub customer_token_ttl_secs: i64,
    /// How long a dashboard session lives.
    pub sessions: SessionPolicy,
    /// Each sale's queue, and what one customer may hold unpaid in online orders.
    pub engine: soldout_engine::EngineOptions,
    /// Cookies are marked `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Sign-ups one client address may make per minute (a burst of as many), or no
    /// limit. Behind a load balancer every buyer has the balancer's address: leave it
    /// off there and limit at the balancer.
    pub sign_ups_per_minute: Option<std::num::NonZeroU32>,
    /// Requests, check-ins and group commits are counted for `/metrics` (on unless a
    /// benchmark measures what counting costs).
    pub count_metrics: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            admin_token: None,
            token_key: None,
            payment_secret: None,
            demo_payments: false,
            customer_token_ttl_secs: auth::CUSTOMER_TOKEN_TTL_SECS,
            sessions: SessionPolicy::default(),
            engine: soldout_engine::EngineOptions::default(),
            secure_cookies: false,
            sign_ups_per_minute: None,
            count_metrics: true,
        }
    }
}

impl AppState {
    /// Everything a server needs: the engine rebuilt from the store (every sale
    /// recovered from its journal), the token signing key, the revoked clerks and the
    /// payment secret.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Clock,
        settings: Settings,
    ) -> anyhow::Result<AppState> {
        settings
            .sessions
            .validate()
            .map_err(|e| anyhow::anyhow!("session settings: {e}"))?;
        anyhow::ensure!(
            settings.customer_token_ttl_secs >= 3600,
            "customer tokens must live at least an hour"
        );
        let token_key =
            auth::persistent_secret(store.as_ref(), "auth.token_key", settings.token_key).await?;
        let payment_secret = auth::persistent_secret(
            store.as_ref(),
            "payments.webhook_secret",
            settings.payment_secret,
        )
        .await?;
        let kept = settings.admin_token.is_none();
        let (tokens, new_admin_token) = match settings.admin_token {
            Some(admin) => (Tokens::new(admin, &token_key), None),
            None => {
                let (digest, made) = admin_token::kept_or_made(store.as_ref()).await?;
                (Tokens::with_admin_digest(digest, &token_key), made)
            }
        };
        let tokens = tokens.with_customer_ttl(settings.customer_token_ttl_secs);
        if kept {
            admin_token::follow_rotations(store.clone(), tokens.clone());
        }
        for clerk in store.clerks(None).await? {
            if clerk.revoked_at.is_some() {
                tokens.revoke_clerk(clerk.id);
            }
        }
        let node = settings.engine.node.as_ref().map(|n| n.id.clone());
        let metrics = Metrics::with_counting(settings.count_metrics);
        let mut options = settings.engine;
        options.observer = metrics.commit_observer();
        let engine = Engine::start_with(store.clone(), clock, options).await?;
        metrics.watch_engine(engine.clone());
        let rollouts =
            soldout_engine::rollouts::Rollouts::start_on(store.clone(), clock, node).await?;
        Ok(AppState(Arc::new(Services {
            store,
            clock,
            tokens,
            metrics: Arc::new(metrics),
            engine,
            rollouts,
            payment_secret: payment_secret.into_bytes().into(),
            demo_payments: settings.demo_payments,
            new_admin_token,
            sessions: settings.sessions,
            secure_cookies: settings.secure_cookies,
            sign_ups: settings
                .sign_ups_per_minute
                .map(routes::customers::SignUpLimiter::per_minute),
            closing: tokio::sync::watch::Sender::new(false),
        })))
    }

    /// Ends every event stream; call it when the server starts shutting down.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once [`AppState::close_streams`] has been called.
    pub fn streams_closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }
}

pub struct App;

impl App {
    /// The router and the OpenAPI document, built from one list of handlers.
    pub fn router_and_doc(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
        use routes::{
            campaigns, catalog, clerks, customers, imports, locations, markets, orders, os,
            payments, reports, sales, shipments, stores, system, transfers,
        };
        let state_for_web = state.clone();
        let state_for_gate = state.clone();
        let (router, mut doc) = OpenApiRouter::with_openapi(api_doc::frame())
            .routes(routes!(system::healthz))
            .routes(routes!(system::metrics))
            .routes(routes!(system::openapi))
            .routes(routes!(markets::create_market, markets::list_markets))
            .routes(routes!(markets::set_price))
            .routes(routes!(markets::lineup))
            .routes(routes!(catalog::create_product, catalog::list_products))
            .routes(routes!(catalog::get_product))
            .routes(routes!(catalog::add_sku))
            .routes(routes!(catalog::put_launch))
            .routes(routes!(
                locations::create_location,
                locations::list_locations
            ))
            .routes(routes!(locations::receive))
            .routes(routes!(locations::adjust))
            .routes(routes!(locations::stock))
            .routes(routes!(locations::movements))
            .routes(routes!(customers::sign_up))
            .routes(routes!(customers::reissue_token))
            .routes(routes!(sales::create_sale, sales::list_sales))
            .routes(routes!(sales::get_sale))
            .routes(routes!(sales::register))
            .routes(routes!(sales::buy))
            .routes(routes!(orders::place_order))
            .routes(routes!(orders::get_order))
            .routes(routes!(orders::fulfil_order))
            .routes(routes!(orders::cancel_order))
            .routes(routes!(payments::webhook))
            .routes(routes!(clerks::create_clerk, clerks::list_clerks))
            .routes(routes!(clerks::revoke_clerk))
            .routes(routes!(stores::sell, stores::list_sales))
            .routes(routes!(stores::sync))
            .routes(routes!(stores::take_return))
            .routes(routes!(stores::list_refunds))
            .routes(routes!(stores::list_discrepancies))
            .routes(routes!(stores::resolve_discrepancy))
            .routes(routes!(stores::get_device))
            .routes(routes!(shipments::list_shipments))
            .routes(routes!(imports::import))
            .routes(routes!(reports::quarter))
            .routes(routes!(reports::year))
            .routes(routes!(reports::trend))
            .routes(routes!(reports::set_target))
            .routes(routes!(reports::list_targets))
            .routes(routes!(reports::put_settings, reports::get_settings))
            .routes(routes!(transfers::create_transfer))
            .routes(routes!(transfers::get_transfer))
            .routes(routes!(transfers::ship_transfer))
            .routes(routes!(transfers::receive_transfer))
            .routes(routes!(transfers::location_transfers))
            .routes(routes!(
                campaigns::create_campaign,
                campaigns::list_campaigns
            ))
            .routes(routes!(os::create_release, os::list_releases))
            .routes(routes!(os::create_rollout))
            .routes(routes!(os::get_rollout))
            .routes(routes!(os::act))
            .routes(routes!(os::check_in))
            .routes(routes!(os::report))
            .routes(routes!(os::reissue_token))
            .routes(routes!(os::import_devices))
            .with_state(state)
            .split_for_parts();
        api_doc::document_problems(&mut doc);
        let json = serde_json::to_string(&doc).expect("the OpenAPI document serializes");
        let router = router
            .merge(web::router(state_for_web))
            .fallback(|| async {
                Problem::not_found("no route here; GET /openapi.json lists every route")
            })
            .method_not_allowed_fallback(|| async {
                Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method-not-allowed",
                    "Method not allowed",
                    "this route does not take that method; GET /openapi.json lists what it takes",
                )
            })
            .layer(axum::Extension(OpenApiJson(Arc::new(json))))
            // Inside the gate, which gives the request its id first.
            .layer(access_log::layer())
            .layer(axum::middleware::from_fn_with_state(
                state_for_gate,
                gate::gate,
            ))
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("a handler panicked");
                axum::response::IntoResponse::into_response(Problem::internal())
            }));
        (router, doc)
    }

    pub fn router(state: AppState) -> Router {
        Self::router_and_doc(state).0
    }
}

pub use connections::{serve, serve_with, ConnectionLimits};

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
