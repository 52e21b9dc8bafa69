//! Accepting and keeping Keel's HTTP connections so that slow or excessive
//! clients are shed (R5): a cap on open connections, a deadline for each request's
//! headers, a limit on how long a kept-alive connection may sit idle, and a
//! graceful stop.
//!
//! axum::serve sets none of these (hyper's header-read timeout needs a timer, which
//! it does not give hyper), so each connection is served here with hyper's HTTP/1
//! server and Tokio's timer, and the router runs per request as axum::serve runs it.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::HttpConfig;
use crate::jobs::Shutdown;

/// How long a stop waits for open connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(5);

/// What each connection is held to; see `[http]` in config.example.toml.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// Zero: no keep-alive, one request per connection.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(http: &HttpConfig) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(http.idle_timeout_secs),
            max_connections: http.max_connections.max(1),
        }
    }
}

/// Serves `router` on `listener` until shutdown, then lets open connections finish
/// their requests (for up to five seconds).
///
/// At the cap, Keel stops accepting: new connections wait in the kernel's queue
/// until one closes, rather than being turned away, so a burst of Slack's requests
/// is answered late rather than not at all, and the header and idle limits make
/// sure a slot comes free.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut shutdown: Shutdown,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut warned: Option<Instant> = None;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Once a minute at most: under a flood this happens per connection.
                if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "the HTTP connection cap is reached; new connections wait until one closes"
                    );
                    warned = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    _ = shutdown.wait() => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    if !is_connection_error(&e) {
                        tracing::warn!(error = %e, "accepting an HTTP connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        let _ = stream.set_nodelay(true);
        let (router, limits, shutdown) = (router.clone(), limits.clone(), shutdown.clone());
        tokio::spawn(async move {
            connection(stream, peer, router, &limits, shutdown).await;
            drop(slot);
        });
    }
    drop(listener);
    let open = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, slots.acquire_many(open))
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the stop; closing them");
    }
    Ok(())
}

/// Errors that end one connection attempt, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection, until the client closes it, it breaks a limit, or Keel stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: &Limits,
    mut shutdown: Shutdown,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = PerRequest {
        router,
        peer,
        activity: activity.clone(),
    };
    let keep_alive = !limits.idle_timeout.is_zero();
    // hyper's header timer starts when a connection opens and again each time a
    // kept-alive one falls idle; past it hyper closes the connection.
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(keep_alive)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, %peer, "HTTP connection ended");
                }
                return;
            }
            // Both let a request under way finish, then close.
            _ = shutdown.wait(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = activity.idle_for(limits.idle_timeout), if !closing && keep_alive => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// What a connection is doing, for the idle limit: idle means no request is being
/// answered and no byte of the next one has arrived.
struct Activity {
    answering: AtomicUsize,
    /// A byte arrived since the last answer (or since the connection opened).
    read: AtomicBool,
    /// When the last answer was given, or the connection opened.
    since: Mutex<Instant>,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            answering: AtomicUsize::new(0),
            read: AtomicBool::new(false),
            since: Mutex::new(Instant::now()),
            changed: Notify::new(),
        }
    }

    fn idle_since(&self) -> Option<Instant> {
        if self.answering.load(Ordering::Acquire) > 0 || self.read.load(Ordering::Acquire) {
            return None;
        }
        Some(*self.since.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn bytes_arrived(&self) {
        if !self.read.swap(true, Ordering::AcqRel) {
            self.changed.notify_waiters();
        }
    }

    fn answer_started(&self) {
        self.answering.fetch_add(1, Ordering::AcqRel);
    }

    fn answer_finished(&self) {
        if self.answering.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            self.read.store(false, Ordering::Release);
            self.changed.notify_waiters();
        }
    }

    /// Resolves once the connection has been idle for `limit` without a break.
    async fn idle_for(&self, limit: Duration) {
        loop {
            // Registered before the state is read, so no change is missed.
            let changed = self.changed.notified();
            match self.idle_since() {
                Some(since) => tokio::select! {
                    _ = tokio::time::sleep_until(since + limit) => {
                        if self.idle_since() == Some(since) {
                            return;
                        }
                    }
                    _ = changed => {}
                },
                None => changed.await,
            }
        }
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Runs the router for each request of one connection, telling handlers who sent
/// it (`ConnectInfo`) and the idle limit when an answer is under way.
struct PerRequest {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

/// Marks an answer under way for as long as it lives (a dropped request included).
struct Answering(Arc<Activity>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answer_finished();
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for PerRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.activity.answer_started();
        let answering = Answering(self.activity.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request.map(Body::new)).await;
            drop(answering);
            response
        })
    }
}
