//! TLS for the plugin socket, as go-plugin's automatic mutual TLS expects it.
//!
//! Terraform generates a certificate for itself, passes it in `PLUGIN_CLIENT_CERT` and
//! presents the same certificate when it connects. We answer with a certificate for
//! `localhost` made at start, whose DER bytes go into the handshake line, and accept a
//! client only if it presents exactly Terraform's certificate.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};

/// Environment variable holding the PEM certificate Terraform will present.
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` held no PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no readable PEM certificate")]
    ClientCertificate(#[source] rustls::pki_types::pem::Error),
    /// The server certificate could not be generated.
    #[error("cannot generate the server certificate")]
    ServerCertificate(#[source] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration")]
    Config(#[source] rustls::Error),
}

/// A ready server configuration and the certificate to announce in the handshake.
#[derive(Debug)]
pub struct PluginTls {
    /// rustls configuration: client certificate required, ALPN `h2`.
    pub config: Arc<ServerConfig>,
    /// DER bytes of our server certificate.
    pub server_certificate_der: Vec<u8>,
}

impl PluginTls {
    /// Builds the configuration that accepts only the client certificate in `client_pem`.
    pub fn new(client_pem: &[u8]) -> Result<PluginTls, TlsError> {
        let client_certificate =
            CertificateDer::from_pem_slice(client_pem).map_err(TlsError::ClientCertificate)?;

        let (server_certificate, server_key) = server_certificate()?;

        let provider = Arc::new(plugin_crypto_provider());
        let verifier = Arc::new(ExactClientCertificate {
            expected: client_certificate.into_owned(),
            algorithms: provider.signature_verification_algorithms,
        });
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_certificate.clone()], server_key.into())
            .map_err(TlsError::Config)?;
        // Terraform refuses a server that does not select h2.
        config.alpn_protocols = vec![b"h2".to_vec()];

        Ok(PluginTls {
            config: Arc::new(config),
            server_certificate_der: server_certificate.to_vec(),
        })
    }
}

/// A self-signed Ed25519 certificate for `localhost` and its PKCS#8 key, new each run.
///
/// Ed25519 because its signatures need no random numbers: the key's seed comes from the
/// OS through ring, and nothing here wakes aws-lc's random generator, whose first use
/// costs tens of milliseconds of CPU-jitter seeding (see [`plugin_crypto_provider`]).
fn server_certificate() -> Result<(CertificateDer<'static>, PrivatePkcs8KeyDer<'static>), TlsError>
{
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .map_err(|_| TlsError::ServerCertificate(rcgen::Error::RingUnspecified))?;
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_ref()).map_err(TlsError::ServerCertificate)?;
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .map_err(TlsError::ServerCertificate)?;
    let certificate = params
        .self_signed(&key_pair)
        .map_err(TlsError::ServerCertificate)?;
    let key = PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec());
    Ok((certificate.der().clone(), key))
}

/// Accepts exactly one client certificate, byte for byte.
///
/// The stock webpki verifier cannot be used: Terraform's certificate is a CA acting as
/// its own end entity, which webpki rejects (`CaUsedAsEndEntity`). Comparing the bytes
/// is stricter than a chain check anyway: only the process that started us has the key.
#[derive(Debug)]
struct ExactClientCertificate {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for ExactClientCertificate {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // An empty hint list lets Go's TLS client offer its certificate unconditionally.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// ring for the handshake, aws-lc-rs for checking Terraform's signature.
///
/// Terraform's certificate is ECDSA P-521, which only aws-lc-rs verifies. Verifying
/// needs no random numbers, whereas aws-lc's random generator seeds itself from CPU
/// jitter at first use, which costs tens of milliseconds at every plugin start
/// (`cargo bench --bench plugin_startup` measures it); ring draws on the OS instead.
fn plugin_crypto_provider() -> CryptoProvider {
    CryptoProvider {
        signature_verification_algorithms: rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms,
        ..rustls::crypto::ring::default_provider()
    }
}

/// The crypto provider for code that asks rustls for the process default, installed
/// once at start.
pub fn install_default_crypto_provider() {
    // Err only means another part of the process installed one first; that one stays.
    let _ = CryptoProvider::install_default(rustls::crypto::aws_lc_rs::default_provider());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_certificate_pem() -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
            .expect("generating a P-384 key pair does not fail");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("localhost is a valid subject alternative name");
        params
            .self_signed(&key)
            .expect("self-signing with a fresh key does not fail")
            .pem()
    }

    #[test]
    fn accepts_only_the_certificate_from_the_environment() {
        let pem = client_certificate_pem();
        let tls = PluginTls::new(pem.as_bytes()).expect("a valid PEM certificate is accepted");
        assert_eq!(tls.config.alpn_protocols, vec![b"h2".to_vec()]);

        let verifier = ExactClientCertificate {
            expected: CertificateDer::from_pem_slice(pem.as_bytes()).expect("valid PEM"),
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        };
        let expected = verifier.expected.clone();
        let other_pem = client_certificate_pem();
        let other = CertificateDer::from_pem_slice(other_pem.as_bytes()).expect("valid PEM");
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(&expected, &[], now).is_ok());
        assert!(verifier.verify_client_cert(&other, &[], now).is_err());
        assert!(verifier.client_auth_mandatory());
        let schemes = verifier.supported_verify_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn garbage_in_the_environment_is_an_error() {
        let result = PluginTls::new(b"not a certificate");
        assert!(matches!(result, Err(TlsError::ClientCertificate(_))));
    }
}
