//! The accept loop: hyper connections with a header-read timeout, a
//! deadline on each request body, and a graceful shutdown that lets
//! in-flight requests finish.
//!
//! `axum::serve` gives none of these (it sets no timer, so a client may
//! trickle its headers forever), hence this small loop over
//! `hyper_util`'s auto (HTTP/1.1 and HTTP/2) connection builder.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::Sleep;

/// How long the server waits for a slow client, and for its own requests
/// when it stops.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// From the connection's start (or the previous response) to the end
    /// of the request's headers.
    pub header_read_timeout: Duration,
    /// From the end of the headers to the body's last byte.
    pub body_read_timeout: Duration,
    /// After the listener closes: how long in-flight requests may take to
    /// finish before their connections are dropped.
    pub drain_timeout: Duration,
}

/// What became of a request's body; the request-timeout middleware reads
/// it to tell a slow client (408) from a slow server (503).
#[derive(Debug, Clone)]
pub struct BodyProgress(Arc<AtomicU8>);

impl Default for BodyProgress {
    fn default() -> Self {
        Self(Arc::new(AtomicU8::new(NOT_STARTED)))
    }
}

const NOT_STARTED: u8 = 0;
const READING: u8 = 1;
const DONE: u8 = 2;
const TIMED_OUT: u8 = 3;

impl BodyProgress {
    /// The body's deadline passed before its last byte arrived.
    pub fn timed_out(&self) -> bool {
        self.0.load(Ordering::Acquire) == TIMED_OUT
    }

    /// The handler began reading the body and its last byte has not
    /// arrived yet.
    pub fn reading(&self) -> bool {
        self.0.load(Ordering::Acquire) == READING
    }

    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Release);
    }
}

/// Why a body read failed: its deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A request body with an absolute deadline (not reset by each frame, so
/// a body trickled a byte at a time still ends on time).
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    progress: BodyProgress,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.progress.set(TIMED_OUT);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.progress.set(if let Poll::Ready(None) = polled {
            DONE
        } else {
            READING
        });
        polled.map_err(|e| e.into())
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop
/// accepting, let in-flight requests finish (at most `drain_timeout`),
/// and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(per_connection(app.clone(), peer, opts));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(opts.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running at the end of the drain period were cut off");
    }
}

/// The app as one connection sees it: each request carries the peer's
/// address and its body's deadline.
fn per_connection(
    app: Router,
    peer: SocketAddr,
    opts: ServeOptions,
) -> impl tower::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    use tower::ServiceExt;
    app.map_request(move |req: hyper::Request<Incoming>| {
        let progress = BodyProgress::default();
        if req.body().is_end_stream() {
            progress.set(DONE);
        }
        let mut req = req.map(|inner| {
            Body::new(DeadlineBody {
                inner,
                deadline: Box::pin(tokio::time::sleep(opts.body_read_timeout)),
                progress: progress.clone(),
            })
        });
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(progress);
        req
    })
}
