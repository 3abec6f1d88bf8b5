//! Outbound HTTP(S) for every connection the service makes: the chain's RPC and the validators' batch
//! endpoints. TLS is rustls (ring provider) trusting the system's CA store; `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! replace it, as for OpenSSL-based tools, so a private CA works without code changes. Every request has a
//! timeout: a server that stalls but keeps the connection open must not stall the caller.

use std::sync::Arc;
use std::time::Duration;

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TLS configuration could not be built (no usable protocol versions for the provider).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest refused the configuration.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// An HTTP client for `http://` and `https://` URLs whose requests (connection included) time out after
/// `timeout`, and that never follows a redirect: an endpoint is the address configured, and a validator, attester
/// or RPC endpoint that answers 3xx gets that status judged as any other failure (a redirect could send our
/// requests to a host nobody configured, or around a TLS check).
pub fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    install_crypto_provider();
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls_config()?)
        .build()?)
}

/// Makes ring the process's rustls provider, so that any HTTP client built in this process (ours, or one a library
/// builds) has one. Installing twice is harmless: the first one stays.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// rustls over the system's trust anchors (or those `SSL_CERT_FILE`/`SSL_CERT_DIR` name).
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(trust_anchors())
        .with_no_client_auth();
    Ok(config)
}

/// Loads the CA certificates once per client. A certificate that does not parse is skipped (and logged): one bad
/// file in `/etc/ssl/certs` must not stop every connection. With none at all, `https://` fails per request with
/// "unknown issuer", which names the problem; `http://` still works.
fn trust_anchors() -> rustls::RootCertStore {
    let loaded = rustls_native_certs::load_native_certs();
    for e in &loaded.errors {
        tracing::warn!(error = %e, "a CA certificate could not be loaded");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!(ignored, "CA certificates skipped: they do not parse");
    }
    if added == 0 {
        tracing::warn!("no CA certificates found (system store, SSL_CERT_FILE, SSL_CERT_DIR): https:// will fail");
    }
    roots
}

#[cfg(test)]
mod redirect_tests {
    use super::*;

    /// A 302 comes back as the 302: the target is never asked.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/from", axum::routing::get(|| async { axum::response::Redirect::temporary("/to") }))
            .route("/to", axum::routing::get(|| async { "followed" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let response = client(Duration::from_secs(5)).unwrap().get(format!("{url}/from")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 307);
    }
}
