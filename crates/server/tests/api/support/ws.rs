//! A WebSocket client for tests of the live gateway.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Ws {
    stream: Stream,
    /// Events that arrived while waiting for the answer to a subscription, in order.
    held: std::collections::VecDeque<Value>,
}

/// Opens `/ws` at `base` with these headers; the HTTP status when the upgrade is refused.
pub async fn connect(base: &str, path: &str, headers: &[(&str, &str)]) -> Result<Ws, StatusCode> {
    let url = format!("{}{}", base.replacen("http", "ws", 1), path);
    let mut request = url.into_client_request().expect("a WebSocket URL");
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(Ws {
            stream,
            held: Default::default(),
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status()),
        Err(other) => panic!("WebSocket connection failed: {other}"),
    }
}

/// Opens `/ws` as an API caller: bearer token and organization header.
pub async fn connect_as(base: &str, token: &str, org: &str) -> Ws {
    connect(
        base,
        "/ws",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("x-organization-id", org),
        ],
    )
    .await
    .expect("the upgrade is accepted")
}

impl Ws {
    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }

    /// The next JSON message within `wait`, `None` when none came. Panics on a close.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(held) = self.held.pop_front() {
            return Some(held);
        }
        self.receive(wait).await
    }

    async fn receive(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("JSON from the server"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The next JSON message (waiting up to 10 seconds).
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a message within 10 seconds")
    }

    /// The next event message, skipping others, within 10 seconds.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let message = self.next().await;
            if message["type"] == "event" {
                return message;
            }
        }
    }

    /// Subscribes and returns the server's answer; events arriving meanwhile are kept for
    /// [`Ws::next`].
    pub async fn subscribe(&mut self, channel: &str) -> Value {
        self.send(serde_json::json!({"type": "subscribe", "channel": channel}))
            .await;
        self.answer().await
    }

    /// The next message that is not an event (the answer to what was sent); events arriving
    /// meanwhile are kept for [`Ws::next`].
    pub async fn answer(&mut self) -> Value {
        loop {
            let message = self
                .receive(Duration::from_secs(10))
                .await
                .expect("an answer within 10 seconds");
            if message["type"] == "event" {
                self.held.push_back(message);
            } else {
                return message;
            }
        }
    }

    /// Reads until the server closes the connection; returns its close code.
    pub async fn closed_with(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return Some(1006),
            }
        }
    }
}
