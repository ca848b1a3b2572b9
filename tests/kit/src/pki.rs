//! Test certificates: a CA, server certificates for 127.0.0.1/localhost and client certificates,
//! generated at run time (rcgen, aws-lc-rs), plus rustls server configs built from them.
//!
//! What it models: a one-level chain (CA → leaf) with the names a loopback server needs, and
//! client certificates carrying a common name and organization (how Kubernetes and Maestro read
//! a client's identity). What it does not: intermediates, revocation, expiry in the past, key
//! usages beyond rcgen's defaults.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its private key.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    /// Writes `<name>.crt` and `<name>.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (c, k) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, &self.cert_pem).unwrap();
        std::fs::write(&k, &self.key_pem).unwrap();
        (c, k)
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A certificate authority for one test.
pub struct TestPki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new("hyperfleet test CA")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl TestPki {
    /// A new self-signed CA with common name `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestPki { ca }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    fn issue(&self, names: &[&str], cn: &str, org: Option<&str>) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = org {
            params.distinguished_name.push(DnType::OrganizationName, o);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self) -> Issued {
        self.issue(&["127.0.0.1", "localhost"], "localhost", None)
    }

    /// A client certificate with common name `cn` and organization `org`.
    pub fn client(&self, cn: &str, org: &str) -> Issued {
        self.issue(&[], cn, Some(org))
    }

    /// A rustls server config presenting `server`; with `client_ca`, client certificates signed
    /// by it are required. `alpn` protocols are offered in order.
    pub fn server_config(
        &self,
        server: &Issued,
        client_ca: Option<&TestPki>,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ServerConfig> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.ca_der()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(vec![server.cert_der.clone()], server.key())
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    /// A client trusting `ca`, presenting `cert` when given, offering `h2`.
    fn client(ca: &TestPki, cert: Option<&Issued>) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.ca_der()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match cert {
            Some(c) => builder
                .with_client_auth_cert(vec![c.cert_der.clone()], c.key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        TlsConnector::from(Arc::new(config))
    }

    /// A handshake over an in-memory pipe: the ALPN protocol the server agreed, or the error.
    async fn handshake(
        server: Arc<rustls::ServerConfig>,
        connector: TlsConnector,
        name: &'static str,
    ) -> Result<Option<Vec<u8>>, String> {
        let (c, s) = tokio::io::duplex(64 * 1024);
        let accept = tokio::spawn(async move {
            let tls = TlsAcceptor::from(server).accept(s).await?;
            Ok::<_, std::io::Error>(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
        });
        let connected = connector
            .connect(ServerName::try_from(name).unwrap(), c)
            .await;
        let accepted = accept.await.unwrap();
        connected.map_err(|e| e.to_string())?;
        accepted.map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn rustls_accepts_the_chain_for_both_names_and_agrees_alpn() {
        let pki = TestPki::default();
        let config = pki.server_config(&pki.server(), None, &[b"h2"]);
        for name in ["localhost", "127.0.0.1"] {
            let alpn = handshake(config.clone(), client(&pki, None), name).await;
            assert_eq!(alpn, Ok(Some(b"h2".to_vec())), "{name}");
        }
        let other = TestPki::new("another CA");
        let refused = handshake(config, client(&other, None), "localhost").await;
        assert!(
            refused.is_err(),
            "a client trusting another CA refuses the server"
        );
    }

    #[tokio::test]
    async fn mutual_tls_requires_a_client_certificate_of_the_client_ca() {
        let (pki, clients) = (TestPki::default(), TestPki::new("client CA"));
        let config = pki.server_config(&pki.server(), Some(&clients), &[]);
        let good = clients.client("adapter", "hyperfleet");
        assert!(
            handshake(config.clone(), client(&pki, Some(&good)), "localhost")
                .await
                .is_ok()
        );
        let stranger = TestPki::new("stranger").client("adapter", "hyperfleet");
        let refused = handshake(config.clone(), client(&pki, Some(&stranger)), "localhost").await;
        assert!(refused.is_err(), "a certificate of another CA is refused");
        let anonymous = handshake(config, client(&pki, None), "localhost").await;
        assert!(anonymous.is_err(), "no certificate is refused");
    }

    #[test]
    fn writes_pem_files() {
        let dir = tempfile::tempdir().unwrap();
        let issued = TestPki::default().client("adapter", "hyperfleet");
        let (c, k) = issued.write(dir.path(), "client");
        assert!(
            std::fs::read_to_string(c)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            std::fs::read_to_string(k)
                .unwrap()
                .contains("PRIVATE KEY-----")
        );
    }
}
