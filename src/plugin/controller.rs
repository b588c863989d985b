//! go-plugin's side services: the controller that asks us to exit, and stdio streaming.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use crate::proto::plugin::grpc_controller_server::GrpcController;
use crate::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::plugin::{Empty, StdioData};

/// Serves `plugin.GRPCController`: Shutdown wakes whoever waits on the notifier.
#[derive(Debug, Clone)]
pub(super) struct Controller {
    shutdown: Arc<Notify>,
}

impl Controller {
    /// A controller that signals `shutdown` when Terraform asks the plugin to exit.
    pub(super) fn new(shutdown: Arc<Notify>) -> Controller {
        Controller { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::trace!("received shutdown from terraform");
        // notify_one keeps the permit if serve() is not waiting yet.
        self.shutdown.notify_one();
        Ok(Response::new(Empty {}))
    }
}

/// Serves `plugin.GRPCStdio` with a stream that never carries data.
///
/// go-plugin hosts open this stream to relay a plugin's stdout and stderr. We write logs
/// to stderr, which Terraform reads directly, so there is nothing to send; the stream
/// stays open until the connection closes.
#[derive(Debug, Clone, Default)]
pub(super) struct Stdio;

type StdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(futures_util::stream::pending())))
    }
}
