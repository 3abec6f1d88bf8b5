//! Every HTTP server the project runs (the relayer's API, an attester, the auditor, the devnet's batch server)
//! accepts through here, so that no client can silence it. `axum::serve` keeps every connection a client opens for
//! as long as the client likes: about 20,000 idle connections that never finish a request took an attester's open
//! files, after which it answered nothing and could not read batches either ("Too many open files").
//!
//! The bounds: at most [`Limits::max_connections`] connections at once and [`Limits::max_per_peer`] from one IP
//! address (a connection past either is closed as soon as it is accepted, so it holds no file); a client must send
//! a request's whole header within [`Limits::header_read_timeout`] (also between requests on a kept-alive
//! connection); and a request is answered within [`Limits::request_timeout`] (503 otherwise), its body read
//! included. An accept that fails (the process out of files after all) is retried after a pause, never spun on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How much a server lets its clients take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_per_peer: usize,
    /// Time a client has to send a request's header (from when the connection opens or the last answer went).
    pub header_read_timeout: Duration,
    /// Time a request may take in all, its body read included.
    pub request_timeout: Duration,
    /// Time connections get to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// 256 connections (well under the usual 1,024 open files), 64 from one address, 10 s for a header, 30 s
    /// for a request.
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_per_peer: 64,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` is cancelled; then connections get
/// [`Limits::shutdown_grace`] to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::from_fn_with_state(limits.request_timeout, within));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let peers = Peers::default();
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of files (EMFILE), a connection reset before it was accepted: pause, then accept again.
                tracing::warn!(error = %e, "accepting a connection failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused(peer, "the server's connection limit");
            continue;
        };
        let Some(share) = peers.take(peer.ip(), limits.max_per_peer) else {
            refused(peer, "the limit per address");
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _held = (slot, share);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.shutdown_grace, connection).await;
                }
            }
        });
    }
    connections.close();
    let _ = tokio::time::timeout(limits.shutdown_grace, connections.wait()).await;
    Ok(())
}

/// A connection over a limit: closed at once (dropping the stream), logged at debug (a flood would flood the log).
fn refused(peer: SocketAddr, limit: &str) {
    tracing::debug!(%peer, limit, "connection refused");
}

/// Answers 503 when a request takes longer than `limit`.
async fn within(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "request took too long").into_response(),
    }
}

/// Connections open per peer address.
#[derive(Debug, Clone, Default)]
struct Peers(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's share of its peer's count, given back when dropped.
struct Share {
    peers: Peers,
    ip: IpAddr,
}

impl Peers {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Share> {
        let mut open = self.0.lock().expect("never poisoned: no code panics holding it");
        let n = open.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Share { peers: self.clone(), ip })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut open = self.peers.0.lock().expect("never poisoned: no code panics holding it");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    use super::*;

    async fn start(limits: Limits) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/health", axum::routing::get(|| async { "ok" }));
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, router, limits, stop.clone()));
        (addr, stop)
    }

    /// Connects to `addr` from the loopback address `from` (each 127.x.y.z is its own peer).
    async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from.into(), 0)).unwrap();
        socket.connect(addr).await.unwrap()
    }

    /// One GET /health on a fresh connection from `from`: the status line.
    async fn health_from(from: Ipv4Addr, addr: SocketAddr) -> String {
        let mut stream = connect_from(from, addr).await;
        stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer.lines().next().unwrap_or_default().to_string()
    }

    /// Whether the server closes `stream` within `within` (a read returns end of file or a reset).
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 64];
        matches!(tokio::time::timeout(within, stream.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
    }

    /// Six hundred idle connections from one client do not silence the server: past its share the client's
    /// connections are closed at once, and another client is answered.
    #[tokio::test]
    async fn a_flood_of_idle_connections_from_one_client_leaves_the_server_answering_others() {
        let limits = Limits { max_connections: 128, max_per_peer: 16, ..Limits::default() };
        let (addr, stop) = start(limits).await;
        let flooder = Ipv4Addr::new(127, 0, 0, 1);
        let mut idle = Vec::new();
        for _ in 0..600 {
            idle.push(connect_from(flooder, addr).await);
        }
        let mut closed = 0;
        for stream in idle.iter_mut().skip(16) {
            closed += closed_within(stream, Duration::from_secs(2)).await as usize;
        }
        assert_eq!(closed, 600 - 16, "every connection past the client's share is closed at once");
        assert_eq!(health_from(Ipv4Addr::new(127, 0, 0, 2), addr).await, "HTTP/1.1 200 OK");
        stop.cancel();
    }

    /// A client that never finishes a header, or keeps a connection idle after its answer, is closed after the
    /// header timeout; a full server takes new clients again once they are.
    #[tokio::test]
    async fn a_header_never_finished_or_an_idle_kept_alive_connection_is_closed_in_time() {
        let limits = Limits { max_connections: 8, header_read_timeout: Duration::from_secs(1), ..Limits::default() };
        let (addr, stop) = start(limits).await;
        let mut slow = Vec::new();
        for i in 0..8u8 {
            let mut stream = connect_from(Ipv4Addr::new(127, 0, 1, i + 1), addr).await;
            stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n").await.unwrap();
            slow.push(stream);
        }
        let mut kept_alive = connect_from(Ipv4Addr::new(127, 0, 2, 1), addr).await;
        assert!(closed_within(&mut kept_alive, Duration::from_millis(500)).await, "the server is full");
        for stream in &mut slow {
            assert!(closed_within(stream, Duration::from_secs(3)).await, "an unfinished header is cut off");
        }
        let mut kept_alive = connect_from(Ipv4Addr::new(127, 0, 2, 1), addr).await;
        kept_alive.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        let n = kept_alive.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"), "{:?}", String::from_utf8_lossy(&buf[..n]));
        assert!(closed_within(&mut kept_alive, Duration::from_secs(3)).await, "idle after its answer: closed");
        stop.cancel();
    }
}
