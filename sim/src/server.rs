//! HTTPS serving: a TLS accept loop per host, each connection served by hyper with the
//! peer certificate put into the request extensions, and a way for a handler to drop
//! the connection with a TCP RST (fault injection).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::certs::Pki;

/// Per-connection facts handed to handlers.
#[derive(Clone)]
pub struct ConnInfo {
    /// The client certificate (DER) when the client presented one the CA signed.
    pub peer_cert: Option<Arc<Vec<u8>>>,
    reset: Arc<Notify>,
}

impl ConnInfo {
    /// Asks the connection task to drop the socket with SO_LINGER 0 (a RST).
    pub fn reset(&self) {
        self.reset.notify_one();
    }
}

pub fn tls_config(pki: &Pki, client_auth: bool) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if client_auth {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(pki.ca_der.clone()))?;
        // Optional: /token and /revoke work without a certificate; /authorize checks
        // for one itself.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut cfg = builder.with_single_cert(
        vec![CertificateDer::from(pki.server_cert_der.clone())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_der.clone())),
    )?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

pub async fn serve(listener: TcpListener, tls: Arc<ServerConfig>, app: Router) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _ = handle(tcp, acceptor, app).await;
        });
    }
}

async fn handle(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
) -> Result<()> {
    let _ = tcp.set_nodelay(true);
    // A second descriptor on the same socket, to set SO_LINGER 0 when a fault asks for
    // a reset while hyper owns the stream.
    let std = tcp.into_std()?;
    let raw = std.try_clone()?;
    let tcp = tokio::net::TcpStream::from_std(std)?;
    let tls = tokio::time::timeout(Duration::from_secs(30), acceptor.accept(tcp)).await??;
    let peer_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| Arc::new(c.to_vec()));
    let reset = Arc::new(Notify::new());
    let info = ConnInfo {
        peer_cert,
        reset: reset.clone(),
    };
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(info.clone());
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), svc);
    tokio::select! {
        _ = conn => {}
        _ = reset.notified() => {
            let _ = socket2::SockRef::from(&raw).set_linger(Some(Duration::ZERO));
        }
    }
    drop(raw);
    Ok(())
}
