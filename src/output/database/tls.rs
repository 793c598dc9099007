//! TLS for the database output, as libpq means `sslmode` and `sslrootcert`: rustls with the ring
//! provider (no system OpenSSL), through the postgres crate's connector. `prefer` and `require`
//! encrypt without checking the certificate (`require` checks it as `verify-ca` does once a root
//! certificate file is there, given or at `~/.postgresql/root.crt`); `verify-ca` checks that a
//! trusted root signed it; `verify-full` also that it names the host. `sslrootcert=system` trusts
//! the system's roots and, as in libpq, goes with `verify-full` only. A Unix socket never uses TLS.

use super::target::{Env, SslMode, Target};
use anyhow::{Result, anyhow, bail};
use postgres::config::SslMode as ClientSslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How to connect: the client's TLS mode and, when TLS may be used, the connector.
pub(crate) struct Tls {
    pub(crate) mode: ClientSslMode,
    pub(crate) connector: Option<MakeRustlsConnect>,
    /// Whether the certificate is checked against roots, and where they came from (for messages).
    pub(crate) roots: Option<String>,
}

/// The TLS of a connection to `target` (`env` for `HOME`).
pub(crate) fn for_target(target: &Target, env: Env) -> Result<Tls> {
    let plain = Tls { mode: ClientSslMode::Disable, connector: None, roots: None };
    if target.is_socket() {
        return Ok(plain);
    }
    let mode = match target.ssl_mode {
        SslMode::Disable | SslMode::Allow => return Ok(plain),
        SslMode::Prefer => ClientSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => ClientSslMode::Require,
    };
    let given = target.ssl_root_cert.as_deref();
    if given == Some("system") && target.ssl_mode != SslMode::VerifyFull {
        bail!(
            "sslrootcert=system goes with sslmode=verify-full only (as in libpq): a weaker mode would trust any \
             certificate the system's roots signed, for any host"
        );
    }
    let default_file = env("HOME").map(|home| Path::new(&home).join(".postgresql").join("root.crt"));
    let file: Option<PathBuf> = match given {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => default_file.clone(),
    };
    let verify = match target.ssl_mode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        // As libpq: `require` with a root certificate file checks the certificate as `verify-ca`.
        SslMode::Require => given.is_some() || default_file.as_deref().is_some_and(Path::exists),
        _ => false,
    };
    // The provider rustls takes from its crate features: ring, the only one this build enables.
    // ring has no post-quantum key exchange; the provider that has one (aws-lc-rs) builds a large C
    // library into every build with the database output.
    let builder = ClientConfig::builder();
    let provider = Arc::clone(builder.crypto_provider());
    let (config, roots) = if !verify {
        let config =
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unchecked(provider))).with_no_client_auth();
        (config, None)
    } else {
        let (store, from) = match &file {
            None => (system_roots()?, "the system's trusted roots".to_string()),
            Some(path) => (file_roots(path, given.is_none())?, format!("sslrootcert {}", path.display())),
        };
        let store = Arc::new(store);
        let config = if target.ssl_mode == SslMode::VerifyFull {
            builder.with_root_certificates(store).with_no_client_auth()
        } else {
            let inner = WebPkiServerVerifier::builder_with_provider(store, provider)
                .build()
                .map_err(|e| anyhow!("TLS: {e}"))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(IssuerOnly(inner))).with_no_client_auth()
        };
        (config, Some(from))
    };
    Ok(Tls { mode, connector: Some(MakeRustlsConnect::new(config)), roots })
}

/// The certificates of a PEM file; `default` when the file is libpq's default, which `sslmode`
/// needs but nobody named.
fn file_roots(path: &Path, default: bool) -> Result<RootCertStore> {
    let shown = path.display();
    if default && !path.exists() {
        bail!(
            "root certificate file {shown} does not exist: name one with sslrootcert=FILE, use the system's trusted \
             roots with sslrootcert=system (and sslmode=verify-full), or choose sslmode=require to skip the check"
        );
    }
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|all| all.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("sslrootcert {shown}: cannot read its certificates: {e}"))?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certificates);
    if added == 0 {
        bail!("sslrootcert {shown}: no certificate in it (expected PEM, -----BEGIN CERTIFICATE-----)");
    }
    Ok(store)
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        bail!("sslrootcert=system: no trusted root certificate found on this system");
    }
    Ok(store)
}

/// `prefer` and `require`: any certificate, the handshake's signatures still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain to a trusted root checked, the host name not. The WebPKI verifier checks
/// the chain before the name, so a refusal for the name alone means the chain held.
#[derive(Debug)]
struct IssuerOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for IssuerOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
