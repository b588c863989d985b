//! The go-plugin handshake: who may start us, which protocol we speak, and the one line
//! we print on stdout so Terraform knows where to connect.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Environment variable Terraform sets to prove it is the one starting the plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The value Terraform puts in [`MAGIC_COOKIE_KEY`]; fixed by Terraform for all providers.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's own handshake version, the first field of the handshake line.
const CORE_PROTOCOL_VERSION: u32 = 1;

/// The Terraform plugin protocol major version this provider serves.
pub const PROTOCOL_VERSION: u32 = 6;

/// Comma-separated protocol versions the host accepts, set by go-plugin clients.
const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";

/// Shown when someone runs the binary by hand.
pub const NOT_A_PLUGIN_MESSAGE: &str = "\
This binary is a plugin. Terraform starts it itself; running it directly does nothing.
To use it, add the siro/siro provider to a Terraform configuration and run `terraform init`;
to use a local build, point a dev_overrides block in your CLI configuration at it.";

/// Why the handshake could not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Started without Terraform's magic cookie, most likely by hand.
    #[error("not started by terraform")]
    NotStartedByTerraform,
    /// The host speaks no protocol version we serve.
    #[error("terraform asked for plugin protocol versions {offered:?}, this provider serves 6")]
    UnsupportedProtocol {
        /// The list the host sent.
        offered: String,
    },
}

/// Checks that Terraform started us and agrees on protocol 6.
///
/// `env` looks up an environment variable; it is a parameter so tests need not touch the
/// process environment.
pub fn check(env: impl Fn(&str) -> Option<String>) -> Result<(), HandshakeError> {
    if env(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotStartedByTerraform);
    }

    // go-plugin falls back to the plugin's default version when the host sends no list.
    let Some(offered) = env(PROTOCOL_VERSIONS_KEY) else {
        return Ok(());
    };
    let speaks_ours = offered
        .split(',')
        .any(|version| version.trim().parse() == Ok(PROTOCOL_VERSION));
    if speaks_ours {
        Ok(())
    } else {
        Err(HandshakeError::UnsupportedProtocol { offered })
    }
}

/// The line printed on stdout once the server listens:
/// `core-version|protocol-version|network|address|protocol|server-certificate`.
///
/// The certificate field is present only with TLS: its DER bytes in unpadded standard
/// base64, which is how go-plugin's client reads it.
pub fn line(socket: &Path, server_certificate_der: Option<&[u8]>) -> String {
    let certificate = server_certificate_der
        .map(|der| format!("|{}", STANDARD_NO_PAD.encode(der)))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|unix|{}|grpc{certificate}",
        socket.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn refuses_to_run_without_the_cookie() {
        let result = check(env_of(&[]));
        assert!(matches!(result, Err(HandshakeError::NotStartedByTerraform)));
    }

    #[test]
    fn refuses_a_wrong_cookie() {
        let result = check(env_of(&[(MAGIC_COOKIE_KEY, "nope")]));
        assert!(matches!(result, Err(HandshakeError::NotStartedByTerraform)));
    }

    #[test]
    fn accepts_the_cookie_with_or_without_a_version_list() {
        assert!(check(env_of(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)])).is_ok());
        let with_list = [
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "5,6"),
        ];
        assert!(check(env_of(&with_list)).is_ok());
    }

    #[test]
    fn refuses_a_host_that_does_not_speak_protocol_6() {
        let pairs = [
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "4,5"),
        ];
        let result = check(env_of(&pairs));
        assert!(matches!(
            result,
            Err(HandshakeError::UnsupportedProtocol { .. })
        ));
    }

    #[test]
    fn line_without_tls_has_five_fields() {
        let line = line(Path::new("/tmp/x/plugin.sock"), None);
        assert_eq!(line, "1|6|unix|/tmp/x/plugin.sock|grpc");
    }

    #[test]
    fn line_with_tls_ends_in_unpadded_base64_certificate() {
        let line = line(Path::new("/s"), Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|6|unix|/s|grpc|AQIDBA");
    }
}
