#![allow(clippy::unwrap_used, clippy::expect_used)]
//! TLS (RFC 3261 §26.2): a self-signed certificate made by the test, a rustls client over
//! loopback exchanging an OPTIONS, and Tandem's own request reusing the connection.

mod common;

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tandem_runtime::RuntimeError;
use tandem_runtime::sip::{SipListenConfig, SipRuntime, TlsListenConfig};
use tandem_sip_core::{EndpointConfig, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct Pki {
    _dir: tempfile::TempDir,
    tls: TlsListenConfig,
    cert: CertificateDer<'static>,
}

fn pki() -> Pki {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_chain = dir.path().join("cert.pem");
    let private_key = dir.path().join("key.pem");
    std::fs::write(&cert_chain, key.cert.pem()).unwrap();
    std::fs::write(&private_key, key.signing_key.serialize_pem()).unwrap();
    Pki {
        _dir: dir,
        tls: TlsListenConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_chain,
            private_key,
        },
        cert: key.cert.der().clone(),
    }
}

fn connector(cert: CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn options_over_tls_and_a_request_back_on_the_same_connection() {
    let pki = pki();
    let config = SipListenConfig {
        tls: Some(pki.tls.clone()),
        ..common::config("127.0.0.1:0", false, false)
    };
    let tandem = common::start(config, EndpointConfig::default()).await;
    let server = tandem.addr(Transport::Tls);
    let tcp = TcpStream::connect(server).await.unwrap();
    let me = tcp.local_addr().unwrap();
    let mut tls = connector(pki.cert.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let back = format!("X-Call-Back: sips:alice@{me}\r\n");
    tls.write_all(common::options("TLS", me, "tls1", &back).as_bytes())
        .await
        .unwrap();
    tls.flush().await.unwrap();
    let mut reader = common::Reader::new(tls);
    let seen = [reader.next().await, reader.next().await];
    let answer = seen
        .iter()
        .find(|m| m.starts_with("SIP/2.0 "))
        .expect("no answer");
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    let request = seen
        .iter()
        .find(|m| m.starts_with("OPTIONS "))
        .expect("no request back");
    assert!(
        request.contains(&format!("Via: SIP/2.0/TLS {server};branch=z9hG4bK")),
        "{request}"
    );
}

#[tokio::test]
async fn unusable_certificate_files_are_named() {
    let mut pki = pki();
    pki.tls.private_key = pki.tls.cert_chain.clone();
    let config = SipListenConfig {
        tls: Some(pki.tls.clone()),
        ..common::config("127.0.0.1:0", false, false)
    };
    let err = SipRuntime::bind(config).await.unwrap_err();
    let RuntimeError::Tls { path, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(path, &pki.tls.cert_chain);
}
