//! What Terraform waits for each time it starts this provider, which it does several
//! times per command: process start to the handshake line, and to the first
//! GetProviderSchema answer over mutual TLS; plus the plugin's peak resident memory.
//!
//! Run with `cargo bench --bench plugin_startup`. `PROVIDER_BINARY` names another
//! binary to start (for example an older release, to compare); `BENCH_RUNS` sets the
//! number of starts (default 30). Compare figures from the same machine only.

// Shared with tests/handshake.rs, which uses the parts this bench does not.
#[allow(dead_code)]
#[path = "../tests/protocol/mod.rs"]
mod protocol;

use std::time::{Duration, Instant};

use protocol::{Plugin, client_certificate};
use terraform_provider_siro::proto::plugin::Empty;
use terraform_provider_siro::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_siro::proto::tfplugin6::get_provider_schema;
use terraform_provider_siro::proto::tfplugin6::provider_client::ProviderClient;

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(30);
    let binary = std::env::var("PROVIDER_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_terraform-provider-siro").to_string());
    let certificate = client_certificate();

    let mut to_handshake = Vec::with_capacity(runs);
    let mut to_schema = Vec::with_capacity(runs);
    let mut peak_kib = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut plugin = Plugin::start_binary(&binary, &certificate).await;
        to_handshake.push(started.elapsed());

        let channel = plugin
            .connect(Some(&certificate))
            .await
            .expect("mutual TLS");
        let request = get_provider_schema::Request {};
        let schema = ProviderClient::new(channel.clone())
            .get_provider_schema(request)
            .await;
        schema.expect("GetProviderSchema answers");
        to_schema.push(started.elapsed());

        peak_kib.push(plugin.peak_resident_kib().expect("/proc is readable"));
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await
            .expect("Shutdown answers");
        plugin.wait().await;
    }

    println!("plugin_startup: {runs} starts of {binary}");
    report("start to handshake line", &mut to_handshake);
    report("start to GetProviderSchema answer", &mut to_schema);
    peak_kib.sort_unstable();
    let median_kib = peak_kib[peak_kib.len() / 2];
    let max_kib = peak_kib.last().copied().unwrap_or_default();
    println!("  peak resident memory: median {median_kib} KiB, max {max_kib} KiB");
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort_unstable();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction) as usize];
    println!(
        "  {what}: median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
}
