//! The plugin process: go-plugin's handshake, then the gRPC server Terraform talks to.

mod controller;
pub mod handshake;
pub mod socket;
pub mod tls;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::transport::Server;
use tonic::transport::server::Router;

use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::server::ProviderService;
use controller::{Controller, Stdio};
use handshake::HandshakeError;
use socket::PluginSocket;
use tls::{PluginTls, TlsError};

/// How long the accept loop waits after a failed accept before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How long a connecting client gets to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the plugin could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The go-plugin handshake was refused.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// The socket or a signal handler could not be set up.
    #[error("cannot set up the plugin socket")]
    Io(#[from] std::io::Error),
    /// TLS could not be configured from `PLUGIN_CLIENT_CERT`.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The gRPC server stopped with an error.
    #[error("the gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
}

/// Runs the provider as a Terraform plugin until Terraform shuts it down.
pub async fn serve() -> Result<(), PluginError> {
    let env = |key: &str| std::env::var(key).ok();

    // Refuse to run unless Terraform started us.
    if let Err(error) = handshake::check(env) {
        if matches!(error, HandshakeError::NotStartedByTerraform) {
            eprintln!("{}", handshake::NOT_A_PLUGIN_MESSAGE);
        }
        return Err(error.into());
    }
    tls::install_default_crypto_provider();

    // Ctrl-C reaches the whole process group; Terraform stops its providers itself
    // (StopProvider, then Shutdown), so a request must not die half way.
    let mut interrupts = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            tracing::debug!("ignoring interrupt signal; terraform stops the provider itself");
        }
    });

    // Listen in a private directory; TLS when Terraform gave us its certificate.
    let (socket, listener) = PluginSocket::bind(env)?;
    let tls = match env(tls::CLIENT_CERT_KEY).filter(|pem| !pem.is_empty()) {
        Some(pem) => Some(PluginTls::new(pem.as_bytes())?),
        None => None,
    };

    // Register every service before announcing ourselves.
    let shutdown = Arc::new(Notify::new());
    let router = services(shutdown.clone()).await;

    // Handle SIGTERM from here on: once announced, exiting must clean up the socket.
    let stop = stop_signal(shutdown)?;

    // Announce the socket on stdout: the only line this process ever prints there.
    let certificate = tls
        .as_ref()
        .map(|tls| tls.server_certificate_der.as_slice());
    announce(&handshake::line(socket.path(), certificate))?;
    tracing::debug!(socket = %socket.path().display(), tls = tls.is_some(), "plugin serving");

    // Serve until Terraform calls Shutdown or sends SIGTERM.
    match tls {
        Some(tls) => {
            let incoming = tls_connections(listener, TlsAcceptor::from(tls.config));
            router.serve_with_incoming_shutdown(incoming, stop).await?
        }
        None => {
            let incoming = UnixListenerStream::new(listener);
            router.serve_with_incoming_shutdown(incoming, stop).await?
        }
    }

    // Dropping the socket guard removes its directory.
    drop(socket);
    tracing::debug!("plugin stopped");
    Ok(())
}

/// The Terraform provider service plus go-plugin's controller, stdio and health services.
async fn services(shutdown: Arc<Notify>) -> Router {
    // go-plugin clients ping the health service under the name "plugin".
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    Server::builder()
        .add_service(ProviderServer::new(ProviderService::new()))
        .add_service(GrpcControllerServer::new(Controller::new(shutdown)))
        .add_service(GrpcStdioServer::new(Stdio))
        .add_service(health_service)
}

fn announce(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// Resolves when Terraform asks us to exit, over gRPC or with SIGTERM.
fn stop_signal(
    shutdown: Arc<Notify>,
) -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = shutdown.notified() => tracing::trace!("shutting down on terraform's request"),
            _ = terminate.recv() => tracing::trace!("shutting down on SIGTERM"),
        }
    })
}

/// Accepted connections that completed the TLS handshake with Terraform's certificate.
///
/// Handshakes run in their own tasks so one slow or hostile client cannot hold up the
/// others; a failed handshake only closes that connection.
fn tls_connections(
    listener: UnixListener,
    acceptor: TlsAcceptor,
) -> ReceiverStream<std::io::Result<TlsStream<UnixStream>>> {
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Such errors repeat (too many open files): pause rather than spin.
                    tracing::warn!(error = %error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                match handshake.await {
                    Ok(Ok(tls)) => {
                        let _ = sender.send(Ok(tls)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(error = %error, "refused a connection during TLS handshake")
                    }
                    Err(_) => tracing::debug!("refused a connection: TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}
