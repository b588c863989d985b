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
            eprintln!("terraform-provider-siro: {error}");
            ExitCode::FAILURE
        }
    }
}
