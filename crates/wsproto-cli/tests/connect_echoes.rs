//! `printf 'one\ntwo\nthree\n' | wsproto connect ws://…/echo` prints every echo, every time.
//!
//! At the end of its input the client must not lose the replies still on their way: it pings, waits
//! for the pong and for a quiet `--linger`, then closes, and prints whatever arrives before the
//! server's close. Run 60 times against `wsproto serve`, with lines from 0 B to 64 KiB.
//! (`scripts/peers.sh` runs the same loop against Python `websockets` and Node `ws`, which stop
//! sending as soon as they see a close frame.)

use std::io::Write;
use std::process::{Command, Stdio};

mod support;

fn serve() -> support::Server {
    support::Server::start(&["--deflate"])
}

/// The input of run `n`: a few lines of sizes from 0 B to 64 KiB, different each run.
fn lines(n: usize) -> Vec<String> {
    let sizes = [0, 1, 3, 125, 126, 1000, 65_535, 65_536, 4096, 20];
    let count = 1 + n % 7;
    (0..count)
        .map(|i| {
            let size = sizes[(n * 3 + i * 5) % sizes.len()];
            let unit = if (n + i) % 2 == 0 { "é" } else { "x" };
            let mut s = unit.repeat(size / unit.len());
            s.push_str(&"y".repeat(size - s.len()));
            s
        })
        .collect()
}

#[test]
fn every_echo_is_printed_every_time() {
    let server = serve();
    for run in 0..60 {
        let input = lines(run);
        let mut client = Command::new(env!("CARGO_BIN_EXE_wsproto"))
            .args(["-q", "connect", "--linger", "0.05", &server.echo_url()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsproto connect");
        let mut stdin = client.stdin.take().unwrap();
        let text: String = input.iter().map(|l| format!("{l}\n")).collect();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let output = client.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let printed: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().lines().collect();
        let sizes: Vec<usize> = input.iter().map(String::len).collect();
        assert!(output.status.success(), "run {run} ({sizes:?}): {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(printed.len(), input.len(), "run {run}: {} of {} echoes printed ({sizes:?})", printed.len(), input.len());
        assert!(printed.iter().zip(&input).all(|(p, i)| p == i), "run {run}: an echo differs ({sizes:?})");
    }
}

#[test]
fn binary_input_that_is_not_hex_is_refused_and_the_connection_goes_on() {
    let server = serve();
    let output = Command::new(env!("CARGO_BIN_EXE_wsproto"))
        .args(["-q", "connect", "--binary", "--linger", "0.05", &server.echo_url()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all("héllo\n48 69\n".as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("not sent: 'h' is not a hex digit"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The line after the bad one still goes out and its echo comes back.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "4869\n");
}

#[test]
fn logs_written_to_a_file_have_no_colour_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsproto"))
        .args(["serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsproto serve");
    // The "listening" log line is written before the first connection; give it a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a log that is not a terminal: {log:?}");
}

#[test]
fn bench_reports_what_was_negotiated_not_what_was_asked() {
    // A server without compression: the report must not claim deflate.
    let server = support::Server::start(&["--no-deflate"]);
    let addr = server.addr;
    let bench = |extra: &[&str]| {
        let mut args = vec!["bench".to_string(), format!("ws://{addr}/echo"), "-c".into(), "1".into(), "-d".into(), "0.3".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_wsproto")).args(&args).output().unwrap()
    };
    let json = bench(&["--deflate", "--json"]);
    let report = String::from_utf8_lossy(&json.stdout);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    assert!(report.contains("\"deflate\":false") && report.contains("\"deflate_offered\":true"), "{report}");
    let text = bench(&["--deflate"]);
    let report = String::from_utf8_lossy(&text.stdout);
    assert!(report.starts_with("1 connection, 20 B messages") && report.contains("deflate offered but not negotiated"), "{report}");
    drop(server);
    // Arguments that measure nothing are refused with a message, not run.
    for bad in [&["-c", "0"][..], &["-d", "0"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_wsproto")).args(["bench", "ws://127.0.0.1:1/"]).args(bad).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid value"), "{bad:?}: {err}");
    }
}
