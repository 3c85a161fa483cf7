//! Serving the API: binding the listen address, HTTP or HTTPS, and stopping
//! cleanly.
//!
//! HTTPS is rustls with the *ring* crypto provider, passed to rustls
//! explicitly ([`Tls::from_pem_files`]) rather than installed process-wide,
//! so nothing else in the process depends on which provider is the default.
//! The certificate chain and the key are PEM files (PKCS#8, PKCS#1 or SEC1
//! keys); HTTP/2 and HTTP/1.1 are offered over ALPN.
//!
//! Slow clients: a connection must send a request's whole header within
//! [`ConnectionLimits::header_read_timeout`] (10 s by default) and finish its
//! TLS handshake within 10 s, or it is closed, so connections opened and left
//! silent (or fed one byte at a time, "slowloris") cannot pile up. HTTP/2
//! connections are pinged every 30 s and closed when a ping goes unanswered
//! for 20 s.
//!
//! Shutdown: when the [`CancellationToken`] is cancelled the server stops
//! accepting connections, lets requests in flight finish for up to
//! [`SHUTDOWN_GRACE`] (a query can be stopped by its own time limit before
//! that), then closes what is left and returns.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use floodlight_analyst::Lake;
use floodlight_pipeline::analyst_config::ServerConfig;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::console::Console;
use crate::error::ServerError;

/// How long requests in flight may run on after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Bounds on each connection, whatever its requests ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A client must send a request's whole header within this, from the
    /// moment the server starts reading it (HTTP/1.1); otherwise the
    /// connection is closed.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits { header_read_timeout: Duration::from_secs(10) }
    }
}

/// Apply `limits` to hyper's connection builder. hyper only enforces its
/// timeouts when it is given a timer.
fn bound(builder: &mut AutoBuilder<TokioExecutor>, limits: ConnectionLimits) {
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
}

/// A loaded TLS certificate and key.
#[derive(Clone)]
pub struct Tls {
    config: RustlsConfig,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

impl Tls {
    /// Load a PEM certificate chain and its PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, ServerError> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| ServerError::Tls(format!("certificate `{}`: {e}", cert.display())))?;
        if certs.is_empty() {
            return Err(ServerError::Tls(format!("certificate `{}`: no PEM certificate in it", cert.display())));
        }
        let key_der = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| ServerError::Tls(format!("private key `{}`: {e}", key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key_der)
            .map_err(|e| {
                ServerError::Tls(format!("`{}` and `{}` do not make a key pair: {e}", cert.display(), key.display()))
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls { config: RustlsConfig::from_config(Arc::new(config)) })
    }
}

/// Serve the API (and, with `console`, the web console) for `lake` as `cfg`
/// says (tokens, listen address, TLS; relative paths against `base_dir`,
/// the config file's directory) until `shutdown` is cancelled.
pub async fn serve(
    lake: Lake,
    cfg: &ServerConfig,
    base_dir: &Path,
    console: Option<Console>,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let problems = cfg.problems();
    if !problems.is_empty() {
        return Err(ServerError::Config(problems));
    }
    let auth = Auth::from_config(cfg, base_dir)?;
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::from_pem_files(&base_dir.join(cert), &base_dir.join(key))?),
        _ => None,
    };
    let listener =
        TcpListener::bind(cfg.listen).await.map_err(|source| ServerError::Bind { addr: cfg.listen, source })?;
    serve_on(listener, crate::app(lake, auth, console), tls, ConnectionLimits::default(), shutdown).await
}

/// Serve `app` on a bound `listener` (HTTPS with `tls`) with `limits` on
/// each connection until `shutdown` is cancelled. Logs "API listening" with
/// the address and scheme.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    tls: Option<Tls>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    serve_named("API", listener, app, tls, limits, shutdown).await
}

/// [`serve_on`], with the listener's name (`API`, `admin listener`) in its log lines.
pub(crate) async fn serve_named(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    tls: Option<Tls>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let addr: SocketAddr = listener.local_addr()?;
    let listener = listener.into_std()?;
    let handle = Handle::new();
    let stopper = {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        })
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(target: "floodlight_server", %addr, scheme = %scheme, "{name} listening");
    let service = app.into_make_service();
    let served = match tls {
        Some(tls) => {
            let mut server = axum_server::from_tcp_rustls(listener, tls.config).handle(handle);
            bound(server.http_builder(), limits);
            server.serve(service).await
        }
        None => {
            let mut server = axum_server::from_tcp(listener).handle(handle);
            bound(server.http_builder(), limits);
            server.serve(service).await
        }
    };
    stopper.abort();
    served?;
    tracing::info!(target: "floodlight_server", %addr, "{name} stopped");
    Ok(())
}
