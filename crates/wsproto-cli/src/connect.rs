//! `wsproto connect URL`: an interactive client.
//!
//! Each line of stdin is sent as a text message (or, with `--binary`, as hex-encoded bytes);
//! every incoming message is printed to stdout (binary as hex). At the end of stdin the client
//! closes cleanly, so it works in a pipeline, but not at once: replies to the last lines may not
//! have been sent yet, and a server that sees our close frame first stops sending (Python
//! `websockets` and Node `ws` do). So it sends a ping, waits for the pong (the server has then read
//! every line), then waits until the server has been quiet for `--linger` seconds, and closes. The exit status tells how the connection ended: 0
//! for a clean close with 1000 (or 1001), 2 for a clean close with another code, 1 for an error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tracing::debug;
use wsproto_tokio::proxy::ProxyError;
use wsproto_tokio::{Bytes, ClientRequest, CloseCode, Config, Error, Message};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The ws:// or wss:// URL.
    url: String,
    /// Input lines are hex-encoded binary messages.
    #[arg(long)]
    binary: bool,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// A subprotocol to offer (repeatable, in order of preference).
    #[arg(long, value_name = "PROTOCOL")]
    subprotocol: Vec<String>,
    /// Offer permessage-deflate.
    #[arg(long)]
    deflate: bool,
    /// Seconds between keepalive pings (0: off).
    #[arg(long, default_value = "20", value_parser = crate::seconds)]
    ping_interval: crate::MaybeDuration,
    /// Seconds after a keepalive ping with no sign of life (its pong or any other data) before the
    /// peer counts as gone (0: forever).
    #[arg(long, default_value = "20", value_parser = crate::seconds)]
    ping_timeout: crate::MaybeDuration,
    /// Seconds to wait for the peer's answer to our close frame (0: forever).
    #[arg(long, default_value = "10", value_parser = crate::seconds)]
    close_timeout: crate::MaybeDuration,
    /// Trust exactly the certificates in this PEM file for wss:// (a self-signed server, say).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Connect through this proxy: http://[USER:PASSWORD@]HOST:PORT (HTTP CONNECT),
    /// https://... (HTTP CONNECT inside TLS with the proxy), socks5://... or socks5h://... (the
    /// proxy resolves the name), or "none". Without it, https_proxy / http_proxy / all_proxy and
    /// no_proxy from the environment apply.
    #[arg(long, value_name = "URL", value_parser = crate::proxy_setting)]
    proxy: Option<wsproto_tokio::proxy::ProxySetting>,
    /// Trust exactly the certificates in this PEM file for an https:// proxy (by default the
    /// webpki roots, whatever --ca-cert says, as curl's --proxy-cacert).
    #[arg(long, value_name = "FILE")]
    proxy_ca_cert: Option<PathBuf>,
    /// At the end of input, how long the server must have been quiet (after answering a ping
    /// that follows the last line) before the client closes, in seconds.
    #[arg(long, default_value = "1", value_parser = crate::seconds)]
    linger: crate::MaybeDuration,
}

/// The payload of the ping that follows the last line of input.
const END_OF_INPUT: &[u8] = b"wsproto connect: end of input";

/// Where the end of a session has got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Reading stdin.
    Reading,
    /// The input ended; the ping that marks it is out.
    AwaitingPong,
    /// The server has read everything; waiting for it to be quiet for `--linger`.
    Quiet,
    /// Our close frame is out; reading until the server's.
    Closing,
}

/// How long to wait for the server to answer that ping before closing anyway.
const END_OF_INPUT_PONG_WAIT: Duration = Duration::from_secs(10);

fn request(args: &Args) -> Result<ClientRequest, String> {
    let mut req = ClientRequest::from_url(&args.url).map_err(|e| e.to_string())?;
    for h in &args.headers {
        let (name, value) = h.split_once(':').ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        req = req.header(name.trim(), value.trim());
    }
    for p in &args.subprotocol {
        req = req.subprotocol(p);
    }
    Ok(req)
}

pub(crate) async fn run(args: Args) -> ExitCode {
    match session(&args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wsproto connect: {}: {e}", args.url);
            ExitCode::FAILURE
        }
    }
}

/// An error as the command line explains it: the library's message, and the option that
/// likely fixes it.
pub(crate) fn explain(e: &Error) -> String {
    match e {
        Error::Tls(text) if text.contains("not trusted") => {
            format!("{e} (for a self-signed server, pass its certificate with --ca-cert FILE)")
        }
        Error::Proxy(ProxyError::Tls { .. }) if e.to_string().contains("not trusted") => {
            format!("{e} (pass the proxy's certificate with --proxy-ca-cert FILE)")
        }
        _ => e.to_string(),
    }
}

async fn session(args: &Args) -> Result<ExitCode, String> {
    let request = request(args)?;
    let mut config = Config::default().ping_interval(args.ping_interval);
    config.ping_timeout = args.ping_timeout;
    config.close_timeout = args.close_timeout;
    if args.deflate {
        config = config.with_deflate();
    }
    let mut options = wsproto_tokio::ConnectOptions::new().proxy(args.proxy.clone().unwrap_or_default());
    if let Some(tls) = crate::tls::connector(args.ca_cert.as_deref())? {
        options = options.tls(tls);
    }
    if let Some(tls) = crate::tls::connector(args.proxy_ca_cert.as_deref())? {
        options = options.proxy_tls(tls);
    }
    let (mut ws, response) = wsproto_tokio::connect_with_options(request, config, &options).await.map_err(|e| explain(&e))?;
    let extensions = response.headers().get("sec-websocket-extensions").and_then(|v| v.to_str().ok()).unwrap_or("none");
    eprintln!("connected to {} (subprotocol: {}, extensions: {extensions})", args.url, ws.subprotocol().unwrap_or("none"));

    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!("type a message and press Enter; Ctrl-D closes");
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let linger = args.linger.unwrap_or_default();
    let mut ending = Ending::Reading;
    // When to close, once the input has ended; unused until then.
    let close_at = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(close_at);
    loop {
        let stdin_open = ending == Ending::Reading;
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let message = if args.binary {
                        match hex_decode(line.trim()) {
                            Ok(bytes) => Message::Binary(bytes.into()),
                            Err(e) => {
                                eprintln!("not sent: {e} (--binary takes hex digits, like 48 65 6c 6c 6f)");
                                continue;
                            }
                        }
                    } else {
                        Message::text(line)
                    };
                    ws.send(message).await.map_err(|e| e.to_string())?;
                }
                Ok(None) | Err(_) => {
                    // End of input. A ping marks it: its pong means the server has read every
                    // line. Replies may still follow, so the close waits for quiet after that.
                    ending = Ending::AwaitingPong;
                    ws.send(Message::Ping(Bytes::from_static(END_OF_INPUT))).await.map_err(|e| e.to_string())?;
                    close_at.as_mut().reset(tokio::time::Instant::now() + END_OF_INPUT_PONG_WAIT);
                }
            },
            () = &mut close_at, if matches!(ending, Ending::AwaitingPong | Ending::Quiet) => {
                ending = Ending::Closing;
                if let Err(e) = ws.close(None).await {
                    debug!("close: {e}");
                }
            }
            message = ws.recv() => match message {
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                    match m {
                        Message::Text(text) => println!("{text}"),
                        Message::Binary(bytes) => println!("{}", hex_encode(&bytes)),
                        _ => unreachable!("text or binary"),
                    }
                    if ending == Ending::Quiet {
                        // Still replying: the quiet period starts again.
                        close_at.as_mut().reset(tokio::time::Instant::now() + linger);
                    }
                }
                Some(Ok(Message::Ping(p))) => debug!("ping {}", hex_encode(&p)),
                Some(Ok(Message::Pong(p))) if ending == Ending::AwaitingPong && p == END_OF_INPUT => {
                    ending = Ending::Quiet;
                    close_at.as_mut().reset(tokio::time::Instant::now() + linger);
                }
                Some(Ok(Message::Pong(p))) => debug!("pong {}", hex_encode(&p)),
                Some(Ok(Message::Close(_))) => {}
                Some(Ok(other)) => debug!("{other:?}"),
                Some(Err(e)) => return Err(format!("connection failed: {e}")),
                None => break,
            },
        }
    }
    let received = ws.connection().close_received().cloned();
    let code = received.as_ref().map_or(CloseCode::NO_STATUS, |f| f.code);
    match &received {
        Some(f) if !f.reason.is_empty() => eprintln!("closed: {} {:?}", f.code, f.reason.as_str()),
        _ => eprintln!("closed: {code}"),
    }
    Ok(match code {
        CloseCode::NORMAL | CloseCode::GOING_AWAY | CloseCode::NO_STATUS => ExitCode::SUCCESS,
        _ => ExitCode::from(2),
    })
}

fn hex_encode(bytes: &Bytes) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Hex digits to bytes; whitespace between them is ignored.
fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        // `to_digit` takes any `char`, so text that is not ASCII gets an error, not a panic.
        digits.push(c.to_digit(16).ok_or_else(|| format!("{c:?} is not a hex digit"))? as u8);
    }
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    Ok(digits.chunks_exact(2).map(|pair| pair[0] << 4 | pair[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_decode("00ff 10").unwrap(), [0x00, 0xff, 0x10]);
        assert_eq!(hex_encode(&Bytes::from_static(&[0x00, 0xff, 0x10])), "00ff10");
        assert_eq!(hex_decode("abc"), Err("odd number of hex digits".into()));
        assert_eq!(hex_decode("zz"), Err("'z' is not a hex digit".into()));
        // Not ASCII: an error, not a panic at a char boundary.
        assert_eq!(hex_decode("héllo"), Err("'h' is not a hex digit".into()));
        assert_eq!(hex_decode("aé"), Err("'é' is not a hex digit".into()));
        assert_eq!(hex_decode("€0"), Err("'€' is not a hex digit".into()));
    }

    #[test]
    fn headers_and_subprotocols_go_into_the_request() {
        let args = Args {
            url: "ws://h:1/x".into(),
            binary: false,
            headers: vec!["Authorization: Bearer t".into()],
            subprotocol: vec!["chat".into()],
            deflate: false,
            ping_interval: None,
            ping_timeout: None,
            close_timeout: None,
            ca_cert: None,
            proxy: None,
            proxy_ca_cert: None,
            linger: None,
        };
        let req = request(&args).unwrap();
        assert_eq!(req.headers(), [("Authorization".to_string(), "Bearer t".to_string())]);
        assert_eq!(req.subprotocols(), ["chat"]);
        let bad = Args { headers: vec!["no colon".into()], ..args };
        assert!(request(&bad).is_err());
    }
}
