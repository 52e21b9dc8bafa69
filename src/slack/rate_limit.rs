//! A per-address limit on the routes anyone may call without a signature: the
//! install and its callback (R5). Each address gets `[http]
//! install_requests_per_minute`, replenished evenly (GCRA); past it the answer is
//! 429 with Retry-After, before any handler runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_address::{TrustedProxies, limit_key};
use crate::jobs::Shutdown;

pub struct AddressLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    proxies: TrustedProxies,
}

impl AddressLimit {
    pub fn per_minute(requests: u32, proxies: TrustedProxies) -> AddressLimit {
        let quota = Quota::per_minute(NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN));
        AddressLimit {
            limiter: RateLimiter::keyed(quota),
            proxies,
        }
    }

    /// How long the client behind this request must wait, if it is over its limit.
    fn wait(&self, request: &Request) -> Option<Duration> {
        // Requests always come through Keel's own server, which says who sent them;
        // should one not, it shares a single budget with every other such request.
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let client = self.proxies.client(peer, request.headers());
        self.limiter
            .check_key(&limit_key(client))
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets addresses whose budget is full again, every minute until shutdown,
    /// so memory follows the addresses seen lately, not all addresses ever seen.
    pub async fn forget_idle(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = shutdown.wait() => return,
            }
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }
}

/// Middleware: 429 with Retry-After (whole seconds, at least one) past the limit.
pub async fn limit(
    State(limit): State<Arc<AddressLimit>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(wait) = limit.wait(&request) else {
        return next.run(request).await;
    };
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    tracing::debug!(seconds, "install request over its address's limit");
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        format!("Too many install attempts from your address. Try again in {seconds} seconds."),
    )
        .into_response()
}
