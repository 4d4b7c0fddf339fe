//! TLS server and client configurations (RFC 3261 §26.2) from PEM files, on the `ring`
//! provider.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::RuntimeError;

/// A rustls server configuration serving `cert_chain` (PEM, leaf first) with `private_key`
/// (PEM: PKCS#8, PKCS#1 or SEC1). TLS 1.2 and 1.3 with rustls' safe defaults; no client
/// certificates are asked for.
pub fn server_config(
    cert_chain: &Path,
    private_key: &Path,
) -> Result<Arc<ServerConfig>, RuntimeError> {
    let err = |path: &Path, reason: String| RuntimeError::Tls {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(cert_chain)
        .map_err(|e| err(cert_chain, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(cert_chain, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(cert_chain, "no certificate in the file".to_owned()));
    }
    let key =
        PrivateKeyDer::from_pem_file(private_key).map_err(|e| err(private_key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert_chain, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err(private_key, e.to_string()))?;
    Ok(Arc::new(config))
}

/// A rustls client configuration for outgoing TLS and WSS connections (RFC 3261 §26.2.1,
/// RFC 5922 §7.1): trusting Mozilla's roots (the `webpki-roots` crate) when `public_roots`,
/// plus every certificate of `ca_file` (PEM). The server's certificate must name the host
/// the connection was opened for (checked by rustls' webpki verifier: a DNS name against
/// the subjectAltName DNS entries, an IP literal against its IP entries, RFC 5922 §7.2).
/// No client certificate is offered.
pub fn client_config(
    ca_file: Option<&Path>,
    public_roots: bool,
) -> Result<Arc<ClientConfig>, RuntimeError> {
    let mut roots = RootCertStore::empty();
    if public_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let err = |path: &Path, reason: String| RuntimeError::Tls {
        path: path.to_owned(),
        reason,
    };
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| err(path, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(path, e.to_string()))?;
        if certs.is_empty() {
            return Err(err(path, "no certificate in the file".to_owned()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| err(path, e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(Path::new("<built-in>"), e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
