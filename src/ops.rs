//! The operator's own listener, on every role (issue 20 §3): `/metrics` in
//! Prometheus's text format, `/healthz` (the process answers) and `/readyz`
//! (it reaches its database). It listens apart from Slack's endpoints
//! (`[metrics] listen`), so it need not be public.
//!
//! Counters and histograms are recorded where things happen, through the
//! `metrics` crate's macros (commands in `app`, deliveries in `jobs::outbox`,
//! shards in `discord`); what is a state rather than an event (the outbox's
//! backlog, the pool) is read at each scrape.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::Shutdown;

/// The names Keel's metrics go by, in one place for the README and the alerts.
pub mod names {
    /// Commands answered: labels `platform`, `outcome` (ok, refused, failed).
    pub const COMMANDS: &str = "keel_commands_total";
    /// Seconds from a command's arrival to its answer: label `platform`.
    pub const COMMAND_SECONDS: &str = "keel_command_duration_seconds";
    /// Delivery attempts' outcomes: labels `platform`, `outcome` (delivered,
    /// retry, uncertain, failed, expired).
    pub const DELIVERIES: &str = "keel_deliveries_total";
    /// Deliveries pending now.
    pub const OUTBOX_PENDING: &str = "keel_outbox_pending";
    /// How long the oldest pending delivery has waited, in seconds.
    pub const OUTBOX_OLDEST_SECONDS: &str = "keel_outbox_oldest_seconds";
    /// The database pool's connections: open, and in use.
    pub const POOL_OPEN: &str = "keel_db_pool_connections";
    pub const POOL_IN_USE: &str = "keel_db_pool_in_use";
    /// 1 while a Discord shard is connected, 0 otherwise: label `shard`.
    pub const SHARD_UP: &str = "keel_discord_shard_up";
}

/// Installs the process's recorder (once; a second call, in tests, keeps the
/// first) and returns the handle `/metrics` renders.
pub fn recorder() -> Result<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let seconds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(names::COMMAND_SECONDS.into()),
            &seconds,
        )
        .map_err(|e| Error::internal("metrics", e))?
        .install_recorder()
        .map_err(|e| Error::internal("installing the metrics recorder", e))?;
    describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Each metric's help text, which Prometheus shows and promtool asks for.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::COMMANDS,
        "Commands answered, by platform and outcome (ok, refused, failed)."
    );
    describe_histogram!(
        names::COMMAND_SECONDS,
        Unit::Seconds,
        "Time from a command's arrival to its answer, by platform."
    );
    describe_counter!(
        names::DELIVERIES,
        "Delivery attempts of announcements and messages, by platform and outcome (delivered, retry, uncertain, failed, expired)."
    );
    describe_gauge!(names::OUTBOX_PENDING, "Deliveries pending in the outbox.");
    describe_gauge!(
        names::OUTBOX_OLDEST_SECONDS,
        Unit::Seconds,
        "How long the oldest pending delivery has waited."
    );
    describe_gauge!(
        names::POOL_OPEN,
        "Database connections open in this process's pool."
    );
    describe_gauge!(
        names::POOL_IN_USE,
        "Database connections of the pool in use."
    );
    describe_gauge!(
        names::SHARD_UP,
        "1 while the Discord shard is connected, 0 otherwise."
    );
}

#[derive(Clone)]
struct Ops {
    app: App,
    handle: PrometheusHandle,
}

pub fn router(app: App, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(Ops { app, handle })
}

/// Serves the operator's routes on `listen` until shutdown.
pub async fn serve(
    listen: &str,
    app: App,
    handle: PrometheusHandle,
    mut shutdown: Shutdown,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::internal("binding metrics.listen", format!("{listen}: {e}")))?;
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(listen = ?addr, "serving /metrics, /healthz and /readyz");
    let router = router(app, handle);
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await
    }))
}

async fn ready(State(ops): State<Ops>) -> Response {
    readiness(&ops.app).await
}

/// `/readyz`'s answer, wherever it is served: ready while the database answers.
pub async fn readiness(app: &App) -> Response {
    match app.store().engine_version().await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let store = ops.app.store();
    match store.outbox_backlog().await {
        Ok(backlog) => {
            metrics::gauge!(names::OUTBOX_PENDING).set(backlog.pending as f64);
            let waited = backlog
                .oldest
                .map(|at| (ops.app.now() - at).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            metrics::gauge!(names::OUTBOX_OLDEST_SECONDS).set(waited);
        }
        Err(e) => tracing::warn!(error = %e, "reading the outbox's backlog for /metrics"),
    }
    let pool = store.pool_use();
    metrics::gauge!(names::POOL_OPEN).set(f64::from(pool.open));
    metrics::gauge!(names::POOL_IN_USE).set(f64::from(pool.in_use));
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.handle.render(),
    )
        .into_response()
}
