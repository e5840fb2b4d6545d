//! Rapport's HTTP server: the JSON API (`api::v1`), operations endpoints, middleware.

pub mod api;
pub mod csrf;
pub mod downloads;
pub mod error;
pub mod exports;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod router;
pub mod state;
#[expect(
    clippy::result_large_err,
    reason = "page handlers stop early with a ready response, built once per request"
)]
pub mod web;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::ServiceExt;
use axum::extract::Request;
use rapport_app::App;
use rapport_app::worker::WorkerOptions;
use tokio::net::TcpListener;
use tower::Layer;

pub use state::AppState;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Run the outbox dispatcher and job runner in this process (`None`: a separate `rapport
    /// worker` does).
    pub worker: Option<WorkerOptions>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            worker: Some(WorkerOptions::default()),
        }
    }
}

/// Serves, with the worker in-process, until `shutdown` completes, then lets in-flight requests
/// finish.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(app, listener, ServeOptions::default(), shutdown).await
}

/// Serves as `options` say until `shutdown` completes.
pub async fn serve_with(
    app: Arc<App>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(app.clone());
    let worker = options.worker.map(|o| app.start_worker(o));
    let (stop_relay, relay_stopped) = tokio::sync::watch::channel(false);
    let relay = {
        let app = app.clone();
        tokio::spawn(async move { app.live.relay(relay_stopped).await })
    };
    // The request id and the `/o/{slug}` prefix are handled before routing, so they wrap the
    // router from outside.
    // Metrics for a private network, without a token, on an address of their own.
    let private_metrics = match app.config.metrics_bind {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await?;
            tracing::info!(%addr, "serving /metrics on the private address");
            let metrics = axum::Router::new()
                .route("/metrics", axum::routing::get(ops::private_metrics))
                .with_state(state.clone());
            Some(tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, metrics).await {
                    tracing::error!(%error, "the metrics address stopped");
                }
            }))
        }
        None => None,
    };
    let service =
        axum::middleware::from_fn(middleware::request_id_and_prefix).layer(router::router(state));
    let result = axum::serve(
        listener,
        ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(service),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    if let Some(private_metrics) = private_metrics {
        private_metrics.abort();
    }
    let _ = stop_relay.send(true);
    let _ = relay.await;
    if let Some(worker) = worker {
        worker.stop().await;
    }
    result
}

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
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
