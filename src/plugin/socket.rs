//! The unix socket Terraform connects to, in a directory only this user can enter.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use tokio::net::UnixListener;

/// Environment variable naming where go-plugin hosts want plugin sockets made.
const SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// Where the socket lives; dropping it removes the socket and its directory.
#[derive(Debug)]
pub struct PluginSocket {
    path: PathBuf,
    _directory: TempDir,
}

impl PluginSocket {
    /// Makes a fresh private directory and listens on `plugin.sock` inside it.
    ///
    /// The directory goes inside `PLUGIN_UNIX_SOCKET_DIR` when that is set and not
    /// empty, inside the system temp directory otherwise. It is created with mode 0700
    /// (not chmod-ed afterwards), so other local users can never reach the socket.
    pub fn bind(
        env: impl Fn(&str) -> Option<String>,
    ) -> std::io::Result<(PluginSocket, UnixListener)> {
        let parent = env(SOCKET_DIR_KEY)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let directory = tempfile::Builder::new()
            .prefix("terraform-provider-siro-")
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(|e| in_context(e, "cannot make a private directory in", &parent))?;
        let path = directory.path().join("plugin.sock");
        let listener =
            UnixListener::bind(&path).map_err(|e| in_context(e, "cannot listen on", &path))?;
        Ok((
            PluginSocket {
                path,
                _directory: directory,
            },
            listener,
        ))
    }

    /// Where the socket is, for the handshake line.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The same error, its text saying what was attempted where (paths are not secret).
fn in_context(error: std::io::Error, attempt: &str, path: &Path) -> std::io::Error {
    let text = format!("{attempt} {}: {error}", path.display());
    std::io::Error::new(error.kind(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn directory_is_private_and_removed_on_drop() {
        let parent = tempfile::tempdir().expect("a temp dir can be made");
        let parent_path = parent.path().to_string_lossy().into_owned();
        let env = |key: &str| (key == SOCKET_DIR_KEY).then(|| parent_path.clone());
        let (socket, listener) = PluginSocket::bind(env).expect("binding works");

        let directory = socket
            .path()
            .parent()
            .expect("the socket is inside a directory");
        assert!(directory.starts_with(parent.path()));
        let mode = std::fs::metadata(directory)
            .expect("directory exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(socket.path().exists());

        let directory = directory.to_path_buf();
        drop(listener);
        drop(socket);
        assert!(!directory.exists());
    }

    #[tokio::test]
    async fn a_missing_socket_dir_names_the_directory() {
        let env = |_: &str| Some("/nonexistent/socket/dir".to_string());
        let error = PluginSocket::bind(env).expect_err("the directory does not exist");
        assert!(
            error.to_string().contains("/nonexistent/socket/dir"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn empty_socket_dir_variable_means_the_temp_dir() {
        let (socket, _listener) =
            PluginSocket::bind(|_| Some(String::new())).expect("binding works");
        assert!(socket.path().starts_with(std::env::temp_dir()));
    }
}
