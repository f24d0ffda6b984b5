//! Accepting connections: TLS (when the relay serves it), HTTP/1 through hyper with a
//! header-read timeout (which is also the keep-alive idle timeout: hyper starts it each
//! time it waits for a request head), a lifetime after which a connection is closed
//! gracefully, and a cap on connections open at once.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// How long a request in flight may finish once its connection is being closed.
const GRACE: Duration = Duration::from_secs(45);

#[derive(Clone, Debug)]
pub struct ConnLimits {
    /// A request head (and the TLS handshake) must arrive within this; an idle
    /// keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// A connection older than this is closed after its current request.
    pub lifetime: Duration,
    /// Connections open at once; more are closed at once.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            lifetime: Duration::from_secs(300),
            max_connections: 1024,
        }
    }
}

/// The address of the peer, for the handlers (rate limits).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Serves `router` until `stop` changes, then lets requests in flight finish (a while).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                // Out of file descriptors and the like: do not spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (router, acceptor, limits, stop) = (
            router.clone(),
            acceptor.clone(),
            limits.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                None => connection(tcp, peer, router, &limits, stop).await,
                Some(a) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(limits.header_timeout, a.accept(tcp)).await
                    else {
                        return;
                    };
                    connection(stream, peer, router, &limits, stop).await
                }
            }
        });
    }
    // Wait for the connections still open (each closes after its request), not forever.
    let all = limits.max_connections.max(1) as u32;
    let _ = tokio::time::timeout(GRACE, slots.acquire_many(all)).await;
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    limits: &ConnLimits,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let lifetime = tokio::time::sleep(limits.lifetime);
    tokio::pin!(lifetime);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = &mut lifetime => {},
        _ = stop.changed() => {},
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(GRACE, conn).await;
}
