//! The hyper service of one connection: it hands each request to the router with a
//! body that must arrive by a deadline ([`DeadlineBody`]), and keeps the request
//! counted in flight until its answer's body is done ([`TrackedBody`]), so the
//! watchdog never mistakes a long answer (an event stream) for an idle connection.

use super::guard::Activity;
use super::ClientConnection;
use axum::Router;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The request body did not arrive within the body-read timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyReadTimeout(pub Duration);

impl BodyReadTimeout {
    /// Whether `error`, or anything that caused it, is a body-read timeout.
    pub fn caused(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if e.is::<BodyReadTimeout>() {
                return true;
            }
            cause = e.source();
        }
        false
    }
}

/// A request body that fails with [`BodyReadTimeout`] once its deadline passes. The
/// timer is only set when the body is not already there, so a request that arrives
/// whole costs no timer.
pub(crate) struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if let Some(sleep) = &mut this.sleep {
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(BodyReadTimeout(this.timeout).into())));
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                if this.sleep.is_none() {
                    let mut sleep = Box::pin(tokio::time::sleep_until(this.deadline));
                    if sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(BodyReadTimeout(this.timeout).into())));
                    }
                    this.sleep = Some(sleep);
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Keeps its request counted in flight for as long as it lives.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// An answer's body; the request stays in flight until hyper is done with it.
pub struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The service hyper calls for each request on one connection.
pub(crate) struct ConnectionService {
    router: Router,
    activity: Arc<Activity>,
    client: ClientConnection,
    body_timeout: Duration,
}

impl ConnectionService {
    pub(crate) fn new(
        router: Router,
        activity: Arc<Activity>,
        client: ClientConnection,
        body_timeout: Duration,
    ) -> Self {
        ConnectionService {
            router,
            activity,
            client,
            body_timeout,
        }
    }
}

impl hyper::service::Service<http::Request<Incoming>> for ConnectionService {
    type Response = http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: http::Request<Incoming>) -> Answer {
        self.activity.request_started();
        let in_flight = InFlight(self.activity.clone());
        let timeout = self.body_timeout;
        let mut request = request.map(|inner| {
            axum::body::Body::new(DeadlineBody {
                inner,
                timeout,
                deadline: Instant::now() + timeout,
                sleep: None,
            })
        });
        request.extensions_mut().insert(self.client);
        let routed = tower::Service::call(&mut self.router.clone(), request);
        Answer {
            routed,
            in_flight: Some(in_flight),
        }
    }
}

/// The router's answer to one request, its body tracked.
pub(crate) struct Answer {
    routed: axum::routing::future::RouteFuture<Infallible>,
    in_flight: Option<InFlight>,
}

impl Future for Answer {
    type Output = Result<http::Response<TrackedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let response = match Pin::new(&mut this.routed).poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return Poll::Pending,
        };
        let in_flight = this
            .in_flight
            .take()
            .expect("an answer is polled to completion once");
        Poll::Ready(Ok(response.map(|inner| TrackedBody {
            inner,
            _in_flight: in_flight,
        })))
    }
}
