//! `wsproto connect` and the proxy environment, as curl reads it: each `no_proxy` rule with a
//! host that goes direct and one that goes through the proxy. The proxy here is an address
//! nothing listens on, so "through the proxy" is the error that names it, and "direct" is an
//! echo from `wsproto serve`. `--proxy` wins over the environment.

use std::io::Write;
use std::process::{Command, Stdio};

mod support;

/// Runs `wsproto connect URL` with `env` (and no other proxy variables) and `extra` arguments;
/// returns whether it echoed, and its stderr.
fn connect(url: &str, env: &[(&str, &str)], extra: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsproto"));
    cmd.args(["-q", "connect", "--linger", "0.05"]).args(extra).arg(url);
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A connection that fails may end the process before it reads: that write's broken pipe
    // is not the test's subject, the exit status and stderr are.
    let _ = child.stdin.take().unwrap().write_all(b"hello\n");
    let out = child.wait_with_output().unwrap();
    let echoed = out.status.success() && String::from_utf8_lossy(&out.stdout).contains("hello");
    (echoed, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn no_proxy_rules_send_matching_hosts_direct_and_the_rest_through_the_proxy() {
    let server = support::Server::start(&["--ping-interval", "0"]);
    let port = server.addr.port();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = format!("http://user:hunter2@127.0.0.1:{dead}");
    let by_ip = format!("ws://127.0.0.1:{port}/echo");
    let by_name = format!("ws://localhost:{port}/echo");

    // No no_proxy: through the proxy, which is not there; the error names it without the password.
    let (echoed, err) = connect(&by_ip, &[("http_proxy", &proxy)], &[]);
    assert!(!echoed);
    assert!(err.contains(&format!("cannot reach the proxy http://user@127.0.0.1:{dead}")), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // all_proxy applies when http_proxy is not set; HTTP_PROXY in capitals does not.
    assert!(!connect(&by_ip, &[("all_proxy", &proxy)], &[]).0);
    assert!(connect(&by_ip, &[("HTTP_PROXY", &proxy)], &[]).0, "HTTP_PROXY is ignored, as curl ignores it");
    // https_proxy is for wss:// only.
    assert!(connect(&by_ip, &[("https_proxy", &proxy)], &[]).0);

    // (no_proxy, url, direct?)
    let cases = [
        ("*", &by_ip, true),
        ("127.0.0.1", &by_ip, true),
        ("127.0.0.2", &by_ip, false),
        ("127.0.0.0/8", &by_ip, true),
        ("10.0.0.0/8", &by_ip, false),
        ("localhost", &by_name, true),
        (".localhost", &by_name, true),
        ("otherhost", &by_name, false),
        ("example.com, localhost", &by_name, true),
    ];
    for (no_proxy, url, direct) in cases {
        for var in ["no_proxy", "NO_PROXY"] {
            let (echoed, err) = connect(url, &[("http_proxy", &proxy), (var, no_proxy)], &[]);
            assert_eq!(echoed, direct, "{var}={no_proxy:?} {url}: {err}");
            if !direct {
                assert!(err.contains("cannot reach the proxy"), "{var}={no_proxy:?} {url}: {err}");
            }
        }
    }

    // --proxy wins over the environment, both ways.
    assert!(connect(&by_ip, &[("http_proxy", &proxy)], &["--proxy", "none"]).0);
    let (echoed, err) = connect(&by_ip, &[], &["--proxy", &proxy]);
    assert!(!echoed && err.contains("cannot reach the proxy"), "{err}");
}
