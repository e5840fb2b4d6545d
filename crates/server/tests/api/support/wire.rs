//! A TCP relay between Rapport and PostgreSQL that reads the frontend side of the wire protocol
//! and counts round trips: every simple `Query` and every `Sync` (which ends an extended-protocol
//! batch) is one wait for the server's `ReadyForQuery`. It is the database's view of a request's
//! cost, independent of Rapport's own accounting.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What went over the wire since the last [`Wire::take`].
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Round trips: simple queries plus syncs, but for bare syncs.
    pub round_trips: usize,
    /// Bare syncs: the driver's check of a connection handed back to the pool, made after the
    /// request has its answer (it also carries a read-only transaction's queued end).
    pub release_checks: usize,
    /// Round trips that prepared a statement: once per statement and connection, after which the
    /// driver keeps it (which connection a request gets is the pool's choice).
    pub preparations: usize,
    /// Round trips that only sent a notification (`pg_notify`): the live bus, whose servers say
    /// they are there every few seconds whatever the requests do.
    pub notifications: usize,
    /// The SQL of every simple query and of every prepared statement executed, in order.
    pub sql: Vec<String>,
    /// The type of every message sent, in order (`Q` query, `P` parse, `B` bind, `E` execute,
    /// `S` sync, …): what to read when a count is off.
    pub messages: String,
}

pub struct Wire {
    pub port: u16,
    traffic: Arc<Mutex<Traffic>>,
}

/// Per connection: whether messages were sent since the last round trip.
#[derive(Default)]
struct Batch {
    open: bool,
    /// The open batch parses (prepares) a statement.
    parses: bool,
    /// The open batch executes `pg_notify`.
    notifies: bool,
    /// The connection's prepared statements: name, SQL.
    statements: std::collections::HashMap<String, String>,
}

impl Wire {
    /// Relays connections on a free local port to PostgreSQL at `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Wire {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let shared = traffic.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let traffic = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, traffic).await;
                    }
                });
            }
        });
        Wire { port, traffic }
    }

    /// The traffic so far, and a fresh count from now on.
    pub fn take(&self) -> Traffic {
        std::mem::take(&mut *self.traffic.lock().expect("lock"))
    }
}

async fn relay(client: TcpStream, server: TcpStream, traffic: Arc<Mutex<Traffic>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    // The startup message has no type byte: a length (which counts itself), then the body.
    let mut length = [0u8; 4];
    if client_read.read_exact(&mut length).await.is_err() {
        return;
    }
    let mut body = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
    if client_read.read_exact(&mut body).await.is_err() {
        return;
    }
    if server_write.write_all(&length).await.is_err()
        || server_write.write_all(&body).await.is_err()
    {
        return;
    }
    // Then typed messages: one byte of type, a length, the body.
    let mut batch = Batch::default();
    loop {
        let mut head = [0u8; 5];
        if client_read.read_exact(&mut head).await.is_err() {
            break;
        }
        let length = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; length.saturating_sub(4)];
        if client_read.read_exact(&mut body).await.is_err() {
            break;
        }
        note(head[0], &body, &traffic, &mut batch);
        if server_write.write_all(&head).await.is_err()
            || server_write.write_all(&body).await.is_err()
        {
            break;
        }
    }
    down.abort();
}

fn note(kind: u8, body: &[u8], traffic: &Mutex<Traffic>, batch: &mut Batch) {
    let cstring = |bytes: &[u8]| {
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        (String::from_utf8_lossy(&bytes[..end]).into_owned(), end + 1)
    };
    let mut t = traffic.lock().expect("lock");
    t.messages.push(char::from(kind));
    match kind {
        b'Q' => {
            let sql = cstring(body).0;
            // Rapport ends a read-only transaction by letting the driver queue `ROLLBACK`, which
            // goes out with the check of the connection handed back to the pool (a bare sync).
            if sql != "ROLLBACK" {
                t.round_trips += 1;
            }
            t.sql.push(sql);
            batch.open = false;
        }
        b'S' if batch.open && batch.parses => {
            t.preparations += 1;
            batch.open = false;
            batch.parses = false;
        }
        b'S' if batch.open && batch.notifies => {
            t.notifications += 1;
            batch.open = false;
            batch.notifies = false;
        }
        b'S' if batch.open => {
            t.round_trips += 1;
            batch.open = false;
        }
        b'S' => t.release_checks += 1,
        b'P' => {
            // Parse: the statement's name, then its SQL.
            let (name, after_name) = cstring(body);
            let sql = cstring(body.get(after_name..).unwrap_or_default()).0;
            batch.statements.insert(name, sql);
            batch.open = true;
            batch.parses = true;
        }
        b'B' => {
            // Bind: the portal's name, then the statement's.
            let (_, after_portal) = cstring(body);
            let (statement, _) = cstring(body.get(after_portal..).unwrap_or_default());
            let sql = batch
                .statements
                .get(&statement)
                .cloned()
                .unwrap_or_default();
            batch.notifies |= sql.starts_with("SELECT pg_notify");
            t.sql.push(sql);
            batch.open = true;
        }
        _ => batch.open = true,
    }
}
