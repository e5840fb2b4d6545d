//! Rapport's HTTP server: the JSON API (`api::v1`), operations endpoints, middleware.

pub mod api;
pub mod error;
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

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::ServiceExt;
use axum::extract::Request;
use rapport_app::App;
use tokio::net::TcpListener;
use tower::Layer;

pub use state::AppState;

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(app.clone());
    let maintenance = tokio::spawn(maintenance(app));
    // The request id and the `/o/{slug}` prefix are handled before routing, so they wrap the
    // router from outside.
    let service =
        axum::middleware::from_fn(middleware::request_id_and_prefix).layer(router::router(state));
    let result = axum::serve(
        listener,
        ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(service),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    maintenance.abort();
    result
}

/// Hourly housekeeping: purge organizations past their grace period, forget expired credentials,
/// remove records deleted more than 30 days ago.
async fn maintenance(app: Arc<App>) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        if let Err(error) = app.purge_deleted_organizations().await {
            tracing::error!(%error, "housekeeping failed");
        }
        match app.purge_deleted_records().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "removed records deleted more than 30 days ago"),
            Err(error) => tracing::error!(%error, "purging deleted records failed"),
        }
    }
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
