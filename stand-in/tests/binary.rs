//! The `siro-stand-in` binary: readiness line, request log, and its ways to stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_siro-stand-in");

#[test]
fn prints_one_ready_line_logs_requests_and_stops_at_end_of_stdin() {
    let mut child = Command::new(BIN)
        .env("SIRO_API_TOKEN", "bin-token-93c1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().and_then(Result::ok).expect("a readiness line");
    let base = line
        .strip_prefix("listening on http://")
        .expect("the documented line");
    let (addr, prefix) = base.split_once('/').expect("address then path");
    assert_eq!(prefix, "api-externalApi");

    let mut stream = TcpStream::connect(addr).expect("listening once the line is printed");
    stream
        .write_all(
            b"GET /api-externalApi/v1/core/integrations/connections/c?x=1 HTTP/1.1\r\n\
              Host: localhost\r\nAuthorization: Bearer bin-token-93c1\r\n\
              Connection: close\r\n\r\n",
        )
        .expect("request written");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    drop(child.stdin.take());
    let status = child.wait().expect("the binary exits");
    assert!(status.success(), "{status}");
    assert!(lines.next().is_none(), "exactly one stdout line");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("stderr read");
    assert!(
        stderr.contains("GET /v1/core/integrations/connections/c 404"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("bin-token-93c1") && !stderr.contains("x=1"),
        "{stderr}"
    );
}

#[test]
fn refuses_to_start_without_a_token_or_off_loopback() {
    let no_token = Command::new(BIN)
        .env_remove("SIRO_API_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(no_token.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("SIRO_API_TOKEN"));
    assert!(no_token.stdout.is_empty());

    let public = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0"])
        .env("SIRO_API_TOKEN", "t")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(public.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&public.stderr).contains("loopback"));
}
