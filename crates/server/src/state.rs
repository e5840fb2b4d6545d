//! Shared state of the HTTP layer.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rapport_app::App;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub metrics: Arc<Metrics>,
    /// Open WebSocket connections of this process.
    pub connections: Arc<crate::ws::Connections>,
}

impl AppState {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            metrics: Arc::new(Metrics::new()),
            connections: Arc::default(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn round_trips_histogram() -> Histogram {
    Histogram::new([
        0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 50.0, 100.0,
    ])
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Prometheus metrics of this process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    round_trips: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    websockets: Gauge,
    outbox_backlog: Gauge,
    jobs: Family<StatusLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

/// Values read when `/metrics` is asked for.
pub struct Readings {
    pub pool: rapport_app::model::PoolStats,
    pub websockets: usize,
    /// Outbox events waiting for dispatch, and jobs per status (absent when the database did not
    /// answer).
    pub queue: Option<(i64, Vec<(String, i64)>)>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("rapport");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let round_trips = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            round_trips_histogram,
        );
        registry.register(
            "db_round_trips",
            "Round trips to the database per HTTP request (statements, and the start and end of transactions), by route",
            round_trips.clone(),
        );
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        let pool_max = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to serve HTTP requests, by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Maximum database connections",
            pool_max.clone(),
        );
        let websockets = Gauge::default();
        let outbox_backlog = Gauge::default();
        let jobs = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "websocket_connections",
            "Open WebSocket connections on this server",
            websockets.clone(),
        );
        registry.register(
            "outbox_undispatched_events",
            "Committed events not yet dispatched",
            outbox_backlog.clone(),
        );
        registry.register("jobs", "Background jobs, by status", jobs.clone());
        Self {
            registry,
            requests,
            latency,
            round_trips,
            pool_connections,
            pool_idle,
            pool_max,
            websockets,
            outbox_backlog,
            jobs,
        }
    }

    pub fn observe(
        &self,
        method: &str,
        route: &str,
        status: u16,
        elapsed: Duration,
        round_trips: u32,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        self.round_trips
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(f64::from(round_trips));
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, readings: Readings) -> String {
        let pool = readings.pool;
        self.pool_connections.set(i64::from(pool.size));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        self.websockets
            .set(i64::try_from(readings.websockets).unwrap_or(i64::MAX));
        if let Some((backlog, jobs)) = readings.queue {
            self.outbox_backlog.set(backlog);
            for status in rapport_app::model::JOB_STATUSES {
                let n = jobs
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                self.jobs
                    .get_or_create(&StatusLabels {
                        status: status.to_owned(),
                    })
                    .set(n);
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
