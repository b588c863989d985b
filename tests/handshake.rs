//! The plugin binary started the way Terraform starts it: magic cookie, client
//! certificate, handshake line, then gRPC over the unix socket with mutual TLS.

mod protocol;

use protocol::{ClientCertificate, Plugin, client_certificate};
use terraform_provider_siro::proto::plugin::Empty;
use terraform_provider_siro::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_siro::proto::tfplugin6::get_provider_schema;
use terraform_provider_siro::proto::tfplugin6::provider_client::ProviderClient;

/// Connects presenting `certificate` (if any) and asks for the provider schema.
async fn schema_call(
    plugin: &Plugin,
    certificate: Option<&ClientCertificate>,
) -> Result<(), Box<dyn std::error::Error>> {
    let channel = plugin.connect(certificate).await?;
    let request = get_provider_schema::Request {};
    ProviderClient::new(channel)
        .get_provider_schema(request)
        .await?;
    Ok(())
}

#[tokio::test]
async fn refuses_to_run_without_the_magic_cookie() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-siro"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .await
        .expect("the binary starts");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing may reach stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("This binary is a plugin"), "{stderr}");
}

#[tokio::test]
async fn handshake_line_announces_a_private_unix_socket_and_tls() {
    let plugin = Plugin::start(&client_certificate()).await;
    let line = plugin.handshake_line();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(&fields[..3], ["1", "6", "unix"], "{line}");
    assert_eq!(fields[4], "grpc");
    assert!(
        !fields[5].ends_with('='),
        "certificate must be unpadded base64: {line}"
    );

    use std::os::unix::fs::PermissionsExt;
    let directory = plugin
        .socket_path()
        .parent()
        .expect("socket has a directory");
    let mode = std::fs::metadata(directory)
        .expect("directory exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn serves_the_schema_over_mutual_tls() {
    let certificate = client_certificate();
    let plugin = Plugin::start(&certificate).await;
    let channel = plugin
        .connect(Some(&certificate))
        .await
        .expect("mutual TLS succeeds");

    let mut provider = ProviderClient::new(channel);
    let schema = provider
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema answers")
        .into_inner();
    assert!(schema.diagnostics.is_empty());
    assert!(
        schema
            .resource_schemas
            .contains_key("siro_salesforce_integration")
    );
    let provider_block = schema
        .provider
        .and_then(|s| s.block)
        .expect("provider schema");
    let token = provider_block
        .attributes
        .iter()
        .find(|a| a.name == "api_token");
    assert!(token.is_some_and(|a| a.sensitive));
}

#[tokio::test]
async fn refuses_a_client_without_the_certificate() {
    let certificate = client_certificate();
    let plugin = Plugin::start(&certificate).await;
    // The client sees either the server's certificate_required alert or a closed
    // connection, depending on timing; either way no RPC was answered.
    let refused = schema_call(&plugin, None).await;
    assert!(
        refused.is_err(),
        "a client without a certificate must be refused"
    );

    // Refused, not broken: Terraform's own connection still works.
    assert!(schema_call(&plugin, Some(&certificate)).await.is_ok());
}

#[tokio::test]
async fn refuses_a_client_with_another_certificate() {
    let certificate = client_certificate();
    let plugin = Plugin::start(&certificate).await;
    let impostor = client_certificate();
    let refused = schema_call(&plugin, Some(&impostor)).await;
    assert!(
        refused.is_err(),
        "a client with another certificate must be refused"
    );

    // The server rejected that client rather than failing: Terraform still gets in.
    assert!(schema_call(&plugin, Some(&certificate)).await.is_ok());
}

#[tokio::test]
async fn shutdown_exits_cleanly_and_removes_the_socket_directory() {
    let certificate = client_certificate();
    let mut plugin = Plugin::start(&certificate).await;
    let channel = plugin
        .connect(Some(&certificate))
        .await
        .expect("mutual TLS succeeds");
    let directory = plugin
        .socket_path()
        .parent()
        .expect("directory")
        .to_path_buf();

    let mut controller = GrpcControllerClient::new(channel);
    controller
        .shutdown(Empty {})
        .await
        .expect("Shutdown answers");
    let status = plugin.wait().await;
    assert!(status.success(), "exit status {status}");
    assert!(!directory.exists(), "socket directory must be removed");
}

#[tokio::test]
async fn survives_an_interrupt_signal() {
    let certificate = client_certificate();
    let mut plugin = Plugin::start(&certificate).await;
    plugin.interrupt();

    // Still serving after SIGINT: Terraform, not the terminal, stops providers. Had the
    // signal killed the process, the exit status would say so.
    let channel = plugin
        .connect(Some(&certificate))
        .await
        .expect("still serving");
    let mut provider = ProviderClient::new(channel.clone());
    let schema = provider
        .get_provider_schema(get_provider_schema::Request {})
        .await;
    assert!(schema.is_ok());
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown answers");
    let status = plugin.wait().await;
    assert!(status.success(), "exit status {status}");
}
