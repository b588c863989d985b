//! Managed resources, and what they share: calling the API so that StopProvider can
//! cancel the call.

pub mod salesforce_integration;
mod validation;

use std::future::Future;

use tokio_util::sync::CancellationToken;

use crate::client::{ApiError, Client};
use crate::diag::{self, Diagnostics};

/// The client plus the token StopProvider cancels.
#[derive(Debug, Clone, Copy)]
pub struct Api<'a> {
    /// The configured client.
    pub client: &'a Client,
    /// Cancelled when Terraform calls StopProvider.
    pub stop: &'a CancellationToken,
}

/// Why an API call did not produce a value.
#[derive(Debug)]
pub enum CallError {
    /// The API answered with an error, or could not be reached.
    Api(ApiError),
    /// Terraform asked the provider to stop while the call was in flight.
    Stopped,
}

impl<'a> Api<'a> {
    /// Pairs a configured client with the stop token.
    pub fn new(client: &'a Client, stop: &'a CancellationToken) -> Api<'a> {
        Api { client, stop }
    }

    /// Runs one client call, abandoning it if Terraform asks the provider to stop.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, CallError> {
        tokio::select! {
            // Checked first so a provider already stopped sends nothing.
            biased;
            () = self.stop.cancelled() => Err(CallError::Stopped),
            result = call => result.map_err(CallError::Api),
        }
    }
}

impl CallError {
    /// Adds the error diagnostic for this failure under `summary`.
    pub fn report(&self, summary: &str, diagnostics: &mut Diagnostics) {
        diagnostics.error(summary, self.detail());
    }

    /// What was tried, what happened and what to do, for a diagnostic's detail.
    pub fn detail(&self) -> String {
        match self {
            CallError::Api(error) => diag::api_error_detail(error),
            CallError::Stopped => "Terraform asked the provider to stop (for example after an \
                interrupt) while the call to the Siro API was in flight, so the call was \
                abandoned.\n\nThe change may or may not have reached Siro. Run `terraform \
                plan` to see where things stand."
                .to_string(),
        }
    }
}
