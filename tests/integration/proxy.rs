//! A TCP proxy in front of anvil that can drop every connection or refuse new ones, to test RPC outages.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards to the upstream.
    Up,
    /// Accepts and closes at once (and has cut every open connection).
    Drop,
    /// Not listening: connections are refused.
    Refuse,
}

struct State {
    mode: Mode,
    listener: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

/// The proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { mode: Mode::Up, listener: None, connections: Vec::new() }));
        let proxy = Self { addr, upstream, state };
        proxy.serve(listener);
        proxy
    }

    /// The proxy's URL.
    pub fn url(&self) -> alloy::transports::http::reqwest::Url {
        format!("http://{}", self.addr).parse().unwrap()
    }

    /// Switches mode; going down cuts every open connection.
    pub async fn set(&self, mode: Mode) {
        let relisten = {
            let mut s = self.state.lock().unwrap();
            let was = s.mode;
            s.mode = mode;
            if mode != Mode::Up {
                s.connections.drain(..).for_each(|c| c.abort());
            }
            if mode == Mode::Refuse
                && let Some(l) = s.listener.take()
            {
                l.abort();
            }
            was == Mode::Refuse && mode != Mode::Refuse
        };
        if relisten {
            // The aborted accept loop released the port; take it again.
            let listener = loop {
                match TcpListener::bind(self.addr).await {
                    Ok(l) => break l,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            };
            self.serve(listener);
        } else if mode == Mode::Refuse {
            // Give the aborted accept loop a moment to close its socket.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn serve(&self, listener: TcpListener) {
        let (state, upstream) = (self.state.clone(), self.upstream);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mode = state.lock().unwrap().mode;
                if mode != Mode::Up {
                    drop(inbound);
                    continue;
                }
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                state.lock().unwrap().connections.push(conn);
            }
        });
        self.state.lock().unwrap().listener = Some(task);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap();
        if let Some(l) = s.listener.take() {
            l.abort();
        }
        s.connections.drain(..).for_each(|c| c.abort());
    }
}
