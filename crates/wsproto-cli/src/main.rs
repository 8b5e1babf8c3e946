//! `wsproto`: a WebSocket server with a chat page, an interactive client, and a load generator.

mod bench;
mod broker;
mod connect;
mod http;
mod memory;
mod rooms;
mod serve;
mod tls;

use clap::{ArgAction, Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "wsproto", version, about = "WebSocket server, client and load generator, built on the wsproto core.")]
struct Cli {
    /// More log output (repeat for more).
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = "Global options")]
    verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, help_heading = "Global options")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a chat page at /, a chat room at /chat and an echo endpoint at /echo, on one port.
    Serve(serve::Args),
    /// Connect to a ws:// or wss:// URL: stdin lines are sent, incoming messages printed.
    Connect(connect::Args),
    /// Load-test an echo endpoint: messages per second, throughput and latency.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => tracing::Level::WARN,
        (false, 0) => tracing::Level::INFO,
        (false, 1) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false).with_ansi(colour).init();
    let threads = match &cli.command {
        Command::Bench(args) => args.threads,
        _ => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsproto: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Connect(args) => runtime.block_on(connect::run(args)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
    };
    // Not a plain drop: `connect` reads stdin on a blocking thread whose read cannot be
    // cancelled, and dropping the runtime would wait for it, so a client whose connection died
    // would hang until the next line of input.
    runtime.shutdown_background();
    code
}

/// A duration in seconds where 0 means "off". (An alias, so that clap does not read the
/// `Option` as "the flag may be missing".)
type MaybeDuration = Option<Duration>;

/// Parses a number of seconds (`20`, `0.5`); 0 means off.
fn seconds(s: &str) -> Result<MaybeDuration, String> {
    let secs: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a number of seconds"));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_reach_the_arguments() {
        let cli = Cli::try_parse_from(["wsproto", "connect", "ws://h/", "--ping-interval", "0"]).unwrap();
        assert!(matches!(cli.command, Command::Connect(_)));
        // Every command runs with nothing but its URL or address: no option is secretly required.
        for args in [&["wsproto", "serve"][..], &["wsproto", "connect", "ws://h/"], &["wsproto", "bench", "ws://h/"]] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
        let cli = Cli::try_parse_from(["wsproto", "bench", "ws://h/", "-d", "2.5", "-c", "3"]).unwrap();
        let Command::Bench(b) = cli.command else { panic!() };
        assert!(format!("{b:?}").contains("duration: 2.5s"), "{b:?}");
        // A benchmark of no connections or no time measures nothing: refused, not run.
        for bad in [
            &["wsproto", "bench", "ws://h/", "-c", "0"][..],
            &["wsproto", "bench", "ws://h/", "-d", "0"],
            &["wsproto", "bench", "ws://h/", "--rate", "0"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        assert!(Cli::try_parse_from(["wsproto", "serve", "--ping-interval", "x"]).is_err());
        assert!(Cli::try_parse_from(["wsproto", "serve", "--tls-cert", "c.pem"]).is_err(), "--tls-cert needs --tls-key");
        assert!(Cli::try_parse_from(["wsproto", "serve", "9002"]).is_ok());
        assert!(Cli::try_parse_from(["wsproto", "serve", "--port", "9002"]).is_ok());
        assert!(Cli::try_parse_from(["wsproto", "serve", "-p", "9002", "0.0.0.0:1"]).is_ok());
    }

    #[test]
    fn seconds_parse_and_zero_means_off() {
        assert_eq!(seconds("20"), Ok(Some(Duration::from_secs(20))));
        assert_eq!(seconds("0.5"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(seconds("0"), Ok(None));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;
    use clap::CommandFactory;

    /// `-v` and `-q` apply to every command; `serve --help` lists them apart from serve's own.
    #[test]
    fn global_options_have_their_own_heading() {
        let mut cmd = Cli::command();
        // Global options reach the subcommands when the command is built, as at run time.
        cmd.build();
        let help = cmd.find_subcommand_mut("serve").unwrap().render_help().to_string();
        let (own, global) = help.split_once("Global options:").expect(&help);
        assert!(!own.contains("--verbose") && !own.contains("--quiet"), "{help}");
        assert!(global.contains("--verbose") && global.contains("--quiet"), "{help}");
        assert!(own.contains("--port"), "{help}");
    }
}

/// `--proxy`: a proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`, credentials in the URL), or
/// `none` to connect directly whatever the environment says.
pub(crate) fn proxy_setting(s: &str) -> Result<wsproto_tokio::proxy::ProxySetting, String> {
    use wsproto_tokio::proxy::{Proxy, ProxySetting};
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("direct") {
        return Ok(ProxySetting::Direct);
    }
    Proxy::parse(s).map(ProxySetting::Proxy).map_err(|e| e.to_string())
}
