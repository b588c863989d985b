//! The `terraform-provider-siro` binary: Terraform starts it as a plugin.

use std::process::ExitCode;

fn main() -> ExitCode {
    terraform_provider_siro::logging::init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("terraform-provider-siro: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(terraform_provider_siro::plugin::serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain: Terraform shows this stderr when the plugin fails to start.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("terraform-provider-siro: {text}");
            ExitCode::FAILURE
        }
    }
}
