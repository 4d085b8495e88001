//! The certificate authorities IT Hub's HTTPS clients trust: Mozilla's root program, compiled in
//! (`webpki-root-certs`, kept by the rustls project). The system store, which both the AWS SDK's client and
//! reqwest loaded by default, meant reading and parsing every file under `/etc/ssl/certs` when each client was
//! built: twice in a function that also calls an HR system, and most of a function's cold start
//! (BENCHMARKS.md, "Cold start"). Compiled in, the roots are the same in Lambda, locally and in the tests, and are
//! updated with the crate.

use base64::Engine;

/// The trusted roots, DER-encoded.
pub fn roots() -> &'static [rustls_pki_types::CertificateDer<'static>] {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
}

/// The roots for reqwest (the HR systems' client).
pub fn reqwest_roots() -> impl Iterator<Item = reqwest::Certificate> {
    roots().iter().filter_map(|der| reqwest::Certificate::from_der(der).ok())
}

/// The AWS SDK's HTTPS client (hyper 1 and rustls, as its default), trusting [`roots`] and not the system store.
/// Its trust store takes PEM.
pub fn aws_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let mut store = tls::TrustStore::empty().with_native_roots(false);
    for der in roots() {
        store.add_pem_certificate(pem(der));
    }
    let context = tls::TlsContext::builder().with_trust_store(store).build().expect("a trust store of valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
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
    #[test]
    fn every_root_is_usable_by_both_clients() {
        assert!(super::roots().len() > 100, "Mozilla's program has well over a hundred roots");
        assert_eq!(super::reqwest_roots().count(), super::roots().len());
        let pem = super::pem(&super::roots()[0]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
    }
}
