//! Helpers for the end-to-end tests: a runner for a real `terraform` pointed at the built
//! provider, and a fixture pairing it with a Siro API stand-in.
//!
//! Every run checks that no registered secret (API tokens, refresh tokens) reached
//! Terraform's output, and everything printed for debugging has those secrets redacted.
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::env;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use siro_stand_in::StandIn;
use tempfile::TempDir;

/// The built provider binary; Terraform finds it through `dev_overrides`.
const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-siro");

/// How long one Terraform command may run before the test gives up on it. Generous: the
/// machine has two cores and the tests run in parallel.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Environment variables a run never inherits: ours are set explicitly, and a stray
/// `TF_LOG`, `TF_CLI_ARGS` or `SIRO_API_TOKEN` would change what Terraform does.
fn inherited_var_is_dropped(name: &str) -> bool {
    name.starts_with("TF_") || name.starts_with("SIRO_") || name.starts_with("CHECKPOINT_")
}

/// Returns a fresh hard-to-guess string: unique per call, different on every run.
pub(crate) fn random_suffix() -> String {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded randomly per process, so two hashers give unrelated values.
    let mut out = String::new();
    for round in 0..2u8 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_usize(call);
        hasher.write_u32(std::process::id());
        hasher.write_u8(round);
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

/// Returns a per-test API token such as `siro-e2e-create-1f3a…`.
pub(crate) fn random_token(label: &str) -> String {
    format!("siro-e2e-{label}-{}", random_suffix())
}

/// Finds the `terraform` the tests drive: `TF_ACC_TERRAFORM_PATH`, else `PATH`.
///
/// # Panics
/// When there is none: a missing Terraform fails the test rather than skipping it.
pub(crate) fn terraform_binary() -> PathBuf {
    if let Some(path) = env::var_os("TF_ACC_TERRAFORM_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "TF_ACC_TERRAFORM_PATH={} is not a file; run scripts/test, which installs a Terraform",
            path.display()
        );
        return path;
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("terraform"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no terraform found in TF_ACC_TERRAFORM_PATH or PATH; \
                 run the tests with scripts/test, which installs one"
            )
        })
}

/// Removes ANSI colour sequences (`ESC [ ... letter`): Terraform colours its output even
/// when it is not a terminal, and not every subcommand takes `-no-color`.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.clone().next() == Some('[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Replaces every secret in `text` with `<secret #n>`.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .enumerate()
        .fold(text.to_owned(), |acc, (i, s)| {
            acc.replace(s.as_str(), &format!("<secret #{i}>"))
        })
}

/// What one Terraform command did, with colour codes removed.
#[derive(Debug)]
pub(crate) struct Output {
    /// The command line after `terraform`, for messages.
    pub(crate) command: String,
    /// The exit code; `None` if a signal ended it.
    pub(crate) code: Option<i32>,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl Output {
    /// Both streams, stdout first.
    pub(crate) fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Both streams in lower case, for loose matching of diagnostic text.
    pub(crate) fn combined_lowercase(&self) -> String {
        self.combined().to_lowercase()
    }

    /// The whole output, for assertion messages (secrets were checked absent by `run`).
    pub(crate) fn describe(&self) -> String {
        format!(
            "terraform {} exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub(crate) fn success(&self) -> &Self {
        self.code(0)
    }

    /// Asserts this exit code.
    #[track_caller]
    pub(crate) fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts a non-zero exit code.
    #[track_caller]
    pub(crate) fn failure(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected terraform to fail\n{}",
            self.describe()
        );
        self
    }

    /// Asserts stdout or stderr contains `needle`.
    #[track_caller]
    pub(crate) fn contains(&self, needle: &str) -> &Self {
        assert!(
            self.combined().contains(needle),
            "expected the output to contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Asserts stdout or stderr contains `needle`, ignoring case.
    #[track_caller]
    pub(crate) fn contains_ignoring_case(&self, needle: &str) -> &Self {
        assert!(
            self.combined_lowercase().contains(&needle.to_lowercase()),
            "expected the output to contain {needle:?} (any case)\n{}",
            self.describe()
        );
        self
    }

    /// Asserts neither stdout nor stderr contains `needle`.
    #[track_caller]
    pub(crate) fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.combined().contains(needle),
            "expected the output not to contain {needle:?}\n{}",
            self.describe()
        );
        self
    }
}

/// A `terraform` with a working directory and CLI configuration of its own.
///
/// The CLI configuration points `siro/siro` at the built provider with `dev_overrides`,
/// so no `terraform init` is needed (nor allowed: init would try to install it).
#[derive(Debug)]
pub(crate) struct Terraform {
    binary: PathBuf,
    // Holds the working directory and the CLI configuration; removed on drop.
    root: TempDir,
    workdir: PathBuf,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Terraform {
    /// Makes a fresh working directory and CLI configuration.
    ///
    /// # Panics
    /// When no Terraform can be found, or the temporary directory cannot be made.
    pub(crate) fn new() -> Terraform {
        let binary = terraform_binary();
        let root = tempfile::Builder::new()
            .prefix("siro-e2e-")
            .tempdir()
            .expect("a temporary directory can be made");
        let workdir = root.path().join("work");
        fs::create_dir(&workdir).expect("the working directory can be made");

        let provider_dir = Path::new(PROVIDER_BINARY)
            .parent()
            .expect("a binary path from cargo has a parent directory");
        let cli_config = root.path().join("terraformrc");
        let hcl = format!(
            r#"provider_installation {{
  dev_overrides {{
    "siro/siro" = {}
  }}
  direct {{}}
}}
"#,
            hcl_string(&provider_dir.to_string_lossy())
        );
        fs::write(&cli_config, hcl).expect("the CLI configuration can be written");

        Terraform {
            binary,
            root,
            workdir,
            cli_config,
            env: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Sets an environment variable for every later run.
    pub(crate) fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Registers a string that must never appear in Terraform's output.
    pub(crate) fn secret(&mut self, value: &str) -> &mut Self {
        assert!(!value.is_empty(), "an empty secret would match everything");
        self.secrets.push(value.to_owned());
        self
    }

    /// The working directory, where `main.tf` and the state live.
    pub(crate) fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Writes `main.tf` in the working directory, replacing the previous one.
    pub(crate) fn write_config(&self, hcl: &str) {
        fs::write(self.workdir.join("main.tf"), hcl).expect("main.tf can be written");
    }

    /// Runs `terraform ARGS` in the working directory.
    #[track_caller]
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.workdir, args)
    }

    /// Runs `terraform ARGS` in `dir`, with no stdin and a clean environment, and asserts
    /// that no registered secret reached stdout or stderr.
    ///
    /// The command and its output (secrets redacted) go to the test's captured stderr,
    /// which the harness shows when the test fails.
    #[track_caller]
    pub(crate) fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in env::vars_os() {
            if inherited_var_is_dropped(&name.to_string_lossy()) {
                command.env_remove(&name);
            }
        }
        command
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(self.env.iter().map(|(n, v)| (n, v)));

        let shown = args.join(" ");
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let (code, stdout, stderr) = wait_with_timeout(child, &shown);

        let leaked: Vec<usize> = self
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| stdout.contains(s.as_str()) || stderr.contains(s.as_str()))
            .map(|(i, _)| i)
            .collect();
        let output = Output {
            command: shown,
            code,
            stdout: redact(&strip_ansi(&stdout), &self.secrets),
            stderr: redact(&strip_ansi(&stderr), &self.secrets),
        };
        eprintln!("$ {}", output.describe());
        assert!(
            leaked.is_empty(),
            "secret(s) {leaked:?} appeared in the output of terraform {}; \
             the output above has them redacted",
            output.command
        );
        output
    }

    /// The attribute values of `address` in the state, from `terraform show -json`.
    ///
    /// Do not call it in a test whose state holds a secret: `show -json` prints
    /// sensitive values in clear, and the secret check would fail the run.
    #[track_caller]
    pub(crate) fn resource_values(&self, address: &str) -> Value {
        let output = self.run(&["show", "-json"]);
        output.success();
        let state: Value = serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("show -json printed no JSON: {e}\n{}", output.describe()));
        state["values"]["root_module"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{address} is not in the state\n{}", output.describe()))
    }

    /// Whether the state holds any resource, from `terraform state list`.
    #[track_caller]
    pub(crate) fn state_is_empty(&self) -> bool {
        let output = self.run(&["state", "list"]);
        // With no state file at all, `state list` fails with this message.
        if output.code == Some(1) && output.stderr.contains("No state file was found") {
            return true;
        }
        output.success();
        output.stdout.trim().is_empty()
    }
}

/// Waits for `child`, reading both pipes on their own threads so neither can fill up, and
/// kills it after [`COMMAND_TIMEOUT`].
fn wait_with_timeout(mut child: Child, shown: &str) -> (Option<i32>, String, String) {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error only shortens the output, which the assertions then show.
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());

    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let status = match finished.recv_timeout(COMMAND_TIMEOUT) {
        Ok(status) => status.unwrap_or_else(|e| panic!("waiting for terraform {shown}: {e}")),
        Err(_) => {
            // The waiting thread owns the child; kill it by pid so the pipes close.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("terraform {shown} ran longer than {COMMAND_TIMEOUT:?} and was killed");
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (status.code(), stdout, stderr)
}

/// Quotes `value` as an HCL string literal.
pub(crate) fn hcl_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            // `${` and `%{` start templates in HCL strings.
            '$' => out.push_str("$$"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The 1-based number of the first line of `text` that contains `needle`.
///
/// # Panics
/// When no line does: the test's own configuration is wrong.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} is not in the configuration"))
}

/// A stand-in of the Siro API and a Terraform whose provider talks to it with the right
/// token (from `SIRO_API_TOKEN` and `SIRO_BASE_URL`, as a user's shell would set them).
///
/// Dropping it fails the test if the stand-in saw a request that broke the API contract.
#[derive(Debug)]
pub(crate) struct Fixture {
    /// The API stand-in; inspect its requests and connections, or make it fail.
    pub(crate) api: StandIn,
    /// The Terraform runner.
    pub(crate) tf: Terraform,
}

impl Fixture {
    /// Starts a stand-in with a random token and a runner using that token.
    pub(crate) fn new(label: &str) -> Fixture {
        let token = random_token(label);
        Fixture::with_tokens(&token, &token)
    }

    /// Starts a stand-in accepting `server_token`, and a runner sending `client_token`.
    /// Both are registered as secrets.
    pub(crate) fn with_tokens(server_token: &str, client_token: &str) -> Fixture {
        let api = StandIn::start(server_token).expect("the Siro API stand-in starts");
        let mut tf = Terraform::new();
        tf.secret(server_token)
            .secret(client_token)
            .env("SIRO_API_TOKEN", client_token)
            .env("SIRO_BASE_URL", &api.base_url());
        Fixture { api, tf }
    }

    /// The requests the stand-in answered, as `(METHOD, path)` pairs.
    pub(crate) fn calls(&self) -> Vec<(String, String)> {
        self.api
            .requests()
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if thread::panicking() {
            return;
        }
        let violations = self.api.contract_violations();
        assert!(
            violations.is_empty(),
            "requests broke the Siro API contract: {violations:#?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_removes_colour_codes_only() {
        assert_eq!(
            strip_ansi("\u{1b}[32m\u{1b}[1mSuccess!\u{1b}[0m ok"),
            "Success! ok"
        );
    }

    #[test]
    fn redact_replaces_each_secret() {
        let secrets = vec!["abc".to_owned(), "xyz".to_owned()];
        assert_eq!(
            redact("abc-xyz-abc", &secrets),
            "<secret #0>-<secret #1>-<secret #0>"
        );
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token("a"), random_token("a"));
    }
}
