//! `siro-stand-in [--listen 127.0.0.1:0] [--ignore-stdin]`: runs the Siro API stand-in.
//!
//! The bearer token comes from `SIRO_API_TOKEN`. Once listening it prints exactly one
//! line, `listening on http://ADDR/api-externalApi`, to stdout: scripts wait for it. It
//! logs each request (method, path, status) to stderr and stops on SIGTERM, SIGINT, or
//! when its standard input reaches end of file (so it dies with the script that started
//! it); `--ignore-stdin` turns the last one off for callers with no stdin to hold open.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use siro_stand_in::StandIn;

const USAGE: &str = "usage: siro-stand-in [--listen 127.0.0.1:0] [--ignore-stdin]
  SIRO_API_TOKEN must hold the bearer token the stand-in accepts.";

struct Args {
    listen: SocketAddr,
    watch_stdin: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        watch_stdin: true,
    };
    let mut rest = std::env::args().skip(1);
    while let Some(arg) = rest.next() {
        let listen = match arg.as_str() {
            "--listen" => rest.next().ok_or("--listen needs an address")?,
            "--ignore-stdin" => {
                args.watch_stdin = false;
                continue;
            }
            "-h" | "--help" => return Err(String::new()),
            other => match other.strip_prefix("--listen=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        };
        args.listen = listen
            .parse()
            .map_err(|_| format!("--listen takes IP:PORT, got {listen:?}"))?;
    }
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: the stand-in only serves loopback addresses",
            args.listen
        ));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("siro-stand-in: {problem}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let token = std::env::var("SIRO_API_TOKEN").unwrap_or_default();
    if token.is_empty() {
        eprintln!("siro-stand-in: set SIRO_API_TOKEN to the token clients must send");
        return ExitCode::from(2);
    }

    let stand_in = match StandIn::start_on(args.listen, &token, true) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("siro-stand-in: cannot start on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };

    // The readiness line: the listener is already bound.
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", stand_in.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);

    let reason = match wait_for_stop(args.watch_stdin) {
        Ok(reason) => reason,
        Err(e) => {
            eprintln!("siro-stand-in: cannot wait for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("siro-stand-in: stopping ({reason})");
    drop(stand_in);
    ExitCode::SUCCESS
}

/// Blocks until SIGTERM, SIGINT or (when watched) end of stdin; returns which.
fn wait_for_stop(watch_stdin: bool) -> std::io::Result<&'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        // Held until the end when stdin is not watched, so `eof_rx` never fires.
        let _unwatched = if watch_stdin {
            // A plain thread: a blocking stdin read must not hold up the runtime's exit.
            std::thread::spawn(move || {
                let mut sink = [0u8; 1024];
                let mut stdin = std::io::stdin();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = eof_tx.send(());
            });
            None
        } else {
            Some(eof_tx)
        };
        let reason = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = eof_rx => "end of stdin",
        };
        Ok(reason)
    })
}
