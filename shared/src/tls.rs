//! The certificate authorities IT Hub's HTTPS clients trust, and the TLS they speak: rustls with ring.
//!
//! - **HR systems** (reqwest): Mozilla's root program compiled in, as the trust anchors `webpki-roots` ships already
//!   parsed, in one rustls configuration made once per process.
//! - **AWS** (the SDK's hyper client): the roots of Amazon Trust Services, which every AWS service endpoint's
//!   certificate chains to, and no other. The SDK's client takes PEM and parses it each time it makes a connector
//!   (once per SDK client at init, again per connection setting): with Mozilla's 150 roots that parsing was a
//!   quarter of a function's cold start.
//!
//! The system store, which both clients loaded by default, meant reading and parsing every file under
//! `/etc/ssl/certs` when each client was built. Compiled in, the roots are the same in Lambda, locally and in the
//! tests, and are updated with the crates (both kept by the rustls project). BENCHMARKS.md, "Cold start", has
//! the figures.

use base64::Engine;
use std::sync::{Arc, LazyLock};

/// Amazon Trust Services' roots in Mozilla's program (https://www.amazontrust.com/repository/), by the start of
/// their common names: Amazon Root CA 1–4, and the Starfield root that cross-signs them for older clients.
const AMAZON_TRUST_SERVICES: [&str; 2] = ["Amazon Root CA ", "Starfield Services Root Certificate Authority"];

/// The roots every AWS endpoint's certificate chains to, DER-encoded, from Mozilla's program.
pub fn aws_roots() -> impl Iterator<Item = &'static rustls_pki_types::CertificateDer<'static>> {
    let names = AMAZON_TRUST_SERVICES.map(memchr::memmem::Finder::new);
    // A root is its own issuer: its common name appears, as its bytes, in the certificate.
    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter(move |der| names.iter().any(|name| name.find(der).is_some()))
}

/// ring, with the cipher suites and protocol versions rustls enables by default.
fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS configuration for HR systems: Mozilla's roots, HTTP/2 or HTTP/1.1 by ALPN.
fn hr_tls() -> rustls::ClientConfig {
    static CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let mut config = rustls::ClientConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config
    });
    CONFIG.clone()
}

/// A reqwest builder for HR systems, with [`hr_tls`].
pub fn hr_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(hr_tls())
}

/// A reqwest builder for HR systems that presents a client certificate: reqwest makes its own rustls
/// configuration for that, from Mozilla's roots and the process's default provider (ring).
pub fn hr_client_with_identity(identity: reqwest::Identity) -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is then the one used.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots =
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder().tls_certs_only(roots).identity(identity)
}

/// The AWS SDK's HTTPS client (hyper 1 and rustls, as its default), with ring and trusting [`aws_roots`].
pub fn aws_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let mut store = tls::TrustStore::empty().with_native_roots(false);
    for der in aws_roots() {
        store.add_pem_certificate(pem(der));
    }
    let context = tls::TlsContext::builder().with_trust_store(store).build().expect("a trust store of valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

fn pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 60);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_aws_client_trusts_amazon_trust_services_roots_and_no_other() {
        let roots: Vec<_> = super::aws_roots().collect();
        assert_eq!(roots.len(), 5, "Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2");
        for der in roots {
            let pem = super::pem(der);
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"));
            assert!(pem.lines().all(|line| line.len() <= 64));
            let parsed = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM of the root");
            assert_eq!(parsed.as_ref(), der.as_ref());
            let mut store = rustls::RootCertStore::empty();
            store.add(parsed).expect("a root rustls accepts");
        }
    }

    #[test]
    fn hr_clients_trust_mozillas_program() {
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100, "Mozilla's program has well over a hundred roots");
        assert_eq!(super::hr_tls().alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        super::hr_client().build().expect("a client with the preconfigured TLS");
    }
}
