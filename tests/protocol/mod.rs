//! Plays Terraform's part of the plugin handshake for protocol tests.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint, Uri};

/// The cookie Terraform sets for every provider it starts.
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A certificate and key like the one Terraform makes per run: self-signed ECDSA P-521,
/// marked as a CA, valid for localhost.
pub(crate) struct ClientCertificate {
    pub(crate) pem: String,
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key: PrivateKeyDer<'static>,
}

pub(crate) fn client_certificate() -> ClientCertificate {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let certificate = params.self_signed(&key).expect("self-signed certificate");
    ClientCertificate {
        pem: certificate.pem(),
        der: certificate.der().clone(),
        key: PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key PEM"),
    }
}

/// A running plugin process and what its handshake line announced.
pub(crate) struct Plugin {
    child: Child,
    line: String,
    socket: PathBuf,
    server_certificate: Vec<u8>,
}

impl Plugin {
    /// Starts the provider binary as Terraform does and reads its handshake line.
    pub(crate) async fn start(certificate: &ClientCertificate) -> Plugin {
        Plugin::start_binary(env!("CARGO_BIN_EXE_terraform-provider-siro"), certificate).await
    }

    /// Starts the given provider binary as Terraform does and reads its handshake line.
    pub(crate) async fn start_binary(binary: &str, certificate: &ClientCertificate) -> Plugin {
        let mut child = Command::new(binary)
            .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_CLIENT_CERT", &certificate.pem)
            .env_remove("TF_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the provider binary starts");

        // The handshake line is the readiness signal: the socket listens before it.
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("handshake line");
        let line = line.trim_end().to_string();
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 6, "unexpected handshake line {line:?}");
        let socket = PathBuf::from(fields[3]);
        let server_certificate = STANDARD_NO_PAD
            .decode(fields[5])
            .expect("base64 certificate");
        Plugin {
            child,
            line,
            socket,
            server_certificate,
        }
    }

    pub(crate) fn handshake_line(&self) -> &str {
        &self.line
    }

    pub(crate) fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Opens a gRPC channel over the socket, presenting `certificate` if given.
    pub(crate) async fn connect(
        &self,
        certificate: Option<&ClientCertificate>,
    ) -> Result<Channel, Box<dyn std::error::Error>> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let expected = CertificateDer::from(self.server_certificate.clone());
        let builder = ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer(expected)));
        let mut config = match certificate {
            Some(c) => builder.with_client_auth_cert(vec![c.der.clone()], c.key.clone_key())?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

        let socket = self.socket.clone();
        let channel = Endpoint::try_from("http://localhost")?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                let connector = connector.clone();
                async move {
                    let stream = UnixStream::connect(socket).await?;
                    let name = ServerName::try_from("localhost").expect("valid name");
                    let tls = connector.connect(name, stream).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await?;
        Ok(channel)
    }

    /// The plugin's peak resident set size so far (VmHWM), for benches/plugin_startup.rs.
    #[allow(dead_code)]
    pub(crate) fn peak_resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Sends SIGINT, as a terminal's Ctrl-C does to the whole process group.
    pub(crate) fn interrupt(&self) {
        assert!(self.signal("-INT"), "SIGINT was delivered");
    }

    /// Sends a signal with kill(1); false when the process is gone.
    fn signal(&self, signal: &str) -> bool {
        let Some(pid) = self.child.id() else {
            return false;
        };
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
        status.is_ok_and(|status| status.success())
    }

    pub(crate) async fn wait(&mut self) -> ExitStatus {
        self.child
            .wait()
            .await
            .expect("the process can be waited for")
    }
}

/// Stops a plugin the test left running with SIGTERM, which it handles like Shutdown, so
/// it removes its socket directory (SIGKILL would leave the directory behind).
impl Drop for Plugin {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal("-TERM");
        }
    }
}

/// Trusts exactly the certificate from the handshake line, as go-plugin's client does.
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

/// Signature algorithms the test client checks the server's handshake with.
fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}
