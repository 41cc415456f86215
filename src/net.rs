//! The HTTP client deskbell makes outbound calls with: TLS on ring with the
//! Mozilla roots, chosen here rather than by a process-wide default so a
//! client works wherever it is built (the service, the CLI, tests).

use std::sync::Arc;
use std::time::Duration;

pub fn http_client(timeout: Duration) -> reqwest::Client {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(tls).timeout(timeout).build().expect("an HTTP client builds")
}
