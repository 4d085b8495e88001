//! The certificate authorities IT Hub's HTTPS clients trust, and the TLS they speak: rustls with ring.
//!
//! - **HR systems** (reqwest): Mozilla's root program, as the trust anchors `webpki-roots` ships already parsed, in
//!   one rustls configuration made once per process (and one per client certificate, for mutual TLS).
//! - **AWS** (the SDK's hyper client): the roots of Amazon Trust Services, which every AWS service endpoint's
//!   certificate chains to, and no other (`amazon-trust-services.pem`). The SDK's client takes PEM and parses it
//!   each time it makes a connector (once per SDK client at init, again per connection setting): with Mozilla's 150
//!   roots that parsing was a quarter of a function's cold start.
//!
//! Nothing reads the system store under `/etc/ssl/certs`, which both clients loaded by default, file by file, when
//! each was built. Compiled in, the roots are the same in Lambda, locally and in the tests. BENCHMARKS.md, "Cold
//! start", has the figures.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, LazyLock};

/// Amazon Root CA 1–4 and the Starfield root that cross-signs them for older clients, as PEM.
const AWS_ROOTS: &str = include_str!("amazon-trust-services.pem");

/// ring, with the cipher suites and protocol versions rustls enables by default.
fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Mozilla's roots, HTTP/2 or HTTP/1.1 by ALPN, and the client certificate if there is one.
fn hr_tls(
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<rustls::ClientConfig, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let builder = rustls::ClientConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| e.to_string())?,
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest builder for HR systems.
pub fn hr_client() -> reqwest::ClientBuilder {
    static CONFIG: LazyLock<rustls::ClientConfig> =
        LazyLock::new(|| hr_tls(None).expect("ring supports the default protocol versions"));
    reqwest::Client::builder().tls_backend_preconfigured(CONFIG.clone())
}

/// A reqwest builder for HR systems that presents a client certificate: `pem` holds the certificate chain and its
/// private key. The reason it is refused names no part of it.
pub fn hr_client_with_identity(pem: &[u8]) -> Result<reqwest::ClientBuilder, String> {
    let chain = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>();
    let chain = chain.ok().filter(|chain| !chain.is_empty()).ok_or("no certificate in the PEM")?;
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| "no private key in the PEM")?;
    let config = hr_tls(Some((chain, key))).map_err(|_| "the certificate and key do not make a TLS identity")?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// A reqwest builder for loopback HR systems (the local runner's and the tests' fakes, whose certificates are made
/// up when they start) that presents a client certificate and accepts any server certificate.
pub fn loopback_client_with_identity(identity: reqwest::Identity) -> reqwest::ClientBuilder {
    // reqwest makes this configuration itself, with the process's default provider. Installing fails only when a
    // provider is already installed, which is then the one used.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().identity(identity).tls_danger_accept_invalid_certs(true)
}

/// The AWS SDK's HTTPS client (hyper 1 and rustls, as its default), with ring and trusting Amazon Trust Services'
/// roots only.
pub fn aws_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let store = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS.as_bytes());
    let context = tls::TlsContext::builder().with_trust_store(store).build().expect("a trust store of valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    /// The file holds exactly the certificates of those names in Mozilla's program (webpki-root-certs, kept by the
    /// rustls project): a root that Mozilla drops or replaces fails this test.
    #[test]
    fn the_aws_client_trusts_amazon_trust_services_roots_as_mozilla_has_them() {
        let mut ours: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(super::AWS_ROOTS.as_bytes()).collect::<Result<_, _>>().unwrap();
        let names = ["Amazon Root CA ", "Starfield Services Root Certificate Authority"];
        let mut mozillas: Vec<CertificateDer> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|der| names.iter().any(|name| der.windows(name.len()).any(|w| w == name.as_bytes())))
            .cloned()
            .collect();
        assert_eq!(mozillas.len(), 5, "Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2");
        ours.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        mozillas.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert!(ours == mozillas, "amazon-trust-services.pem is not Mozilla's copy of those roots");
        let mut store = rustls::RootCertStore::empty();
        for root in ours {
            store.add(root).expect("a root rustls accepts");
        }
        super::aws_http_client();
    }

    #[test]
    fn hr_clients_trust_mozillas_program_and_present_a_client_certificate_when_given_one() {
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100, "Mozilla's program has well over a hundred roots");
        let config = super::hr_tls(None).unwrap();
        assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(!config.client_auth_cert_resolver.has_certs());
        super::hr_client().build().expect("a client with the preconfigured TLS");

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap().self_signed(&key).unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        super::hr_client_with_identity(pem.as_bytes()).unwrap().build().expect("a client with the certificate");
        for (bad, why) in
            [(key.serialize_pem(), "no certificate in the PEM"), (cert.pem(), "no private key in the PEM")]
        {
            assert_eq!(super::hr_client_with_identity(bad.as_bytes()).err().as_deref(), Some(why));
        }
    }
}
