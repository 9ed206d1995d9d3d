//! `tls:` section: TLS on the MySQL port (rustls with the ring provider). Clients upgrade with
//! the protocol's SSLRequest; with `require: true` a client that does not is refused with
//! ERR 3159, as MySQL does under `require_secure_transport`.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use super::{invalid, ConfigError};

/// `tls: { cert, key, require }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert: String,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
    /// Refuse clients that do not upgrade to TLS.
    #[serde(default)]
    pub require: bool,
}

impl TlsConfig {
    /// Reads the files and builds the acceptor; errors name the field.
    pub fn acceptor(&self) -> Result<TlsAcceptor, ConfigError> {
        let cert_pem = read(&self.cert, "tls.cert")?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("tls.cert", format!("{}: {e}", self.cert)))?;
        if certs.is_empty() {
            return Err(invalid(
                "tls.cert",
                format!("{}: no certificate", self.cert),
            ));
        }
        let key_pem = read(&self.key, "tls.key")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| invalid("tls.key", format!("{}: {e}", self.key)))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls", e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid("tls.key", e.to_string()))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read(path: &str, field: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| invalid(field, format!("cannot read {path}: {e}")))
}
