//! Just enough HTTP/1.1 to serve the chat page and route upgrades, on the WebSocket port.
//!
//! The head is read with the core's linear, bounded [`HeadReader`] (16 KiB, 8 KiB a line, 128
//! headers, within the handshake timeout), so a plain HTTP request gets the same protection as a
//! WebSocket handshake. An upgrade is then handed, with the bytes already read, to the WebSocket
//! handshake, which checks it properly.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsproto_tokio::wsproto::handshake::{HeadLimits, HeadReader, HeadStatus};

/// The request line and the facts routing needs.
#[derive(Debug)]
pub(crate) struct Head {
    /// Every byte read so far: the head, and possibly the first frames after it.
    pub(crate) bytes: Vec<u8>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) upgrade: bool,
}

/// Why no head could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The peer went away or the transport failed.
    Closed,
    /// Too slow (slowloris).
    Timeout,
    /// Over a limit: answer 431.
    TooLarge,
    /// Not HTTP: answer 400.
    Malformed,
}

/// Reads a request head within `limits` and `timeout`.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, limits: HeadLimits, timeout: Duration) -> Result<Head, HeadError> {
    let mut bytes = Vec::with_capacity(1024);
    let mut reader = HeadReader::default();
    let read = async {
        loop {
            // Read into the vector's spare room: no buffer lives in the future across the await.
            if bytes.capacity() - bytes.len() < 512 {
                bytes.reserve(bytes.capacity().max(1024));
            }
            let n = stream.read_buf(&mut bytes).await.map_err(|_| HeadError::Closed)?;
            if n == 0 {
                return Err(HeadError::Closed);
            }
            match reader.scan(&bytes, &limits) {
                HeadStatus::Partial => {}
                HeadStatus::TooLarge(_) => return Err(HeadError::TooLarge),
                HeadStatus::NotHttp => return Err(HeadError::Malformed),
                HeadStatus::Complete(end) => return Ok(end),
            }
        }
    };
    let end = tokio::time::timeout(timeout, read).await.map_err(|_| HeadError::Timeout)??;
    let mut headers = vec![httparse::EMPTY_HEADER; limits.headers];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&bytes[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        _ => return Err(HeadError::Malformed),
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let upgrade = req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let method = req.method.unwrap_or("").to_string();
    Ok(Head { bytes, method, path, query, upgrade })
}

/// Writes a complete response and closes our side.
pub(crate) async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    extra: &str,
) {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    // A client that left before reading its answer is not our problem.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

/// Decodes `%XX` and `+` in a query value.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a query string.
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_found_and_decoded() {
        assert_eq!(query_param(Some("name=Ada%20L&x=1"), "name").as_deref(), Some("Ada L"));
        assert_eq!(query_param(Some("a=1&name=b+c"), "name").as_deref(), Some("b c"));
        assert_eq!(query_param(Some("name=%zz"), "name").as_deref(), Some("%zz"));
        assert_eq!(query_param(Some("name=%4"), "name").as_deref(), Some("%4"));
        assert_eq!(query_param(None, "name"), None);
        assert_eq!(query_param(Some("other=1"), "name"), None);
    }

    #[tokio::test]
    async fn heads_are_read_and_routed() {
        let limits = HeadLimits { total: 16 << 10, line: 8 << 10, headers: 128 };
        let mut input: &[u8] = b"GET /chat?name=x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nextra";
        let head = read_head(&mut input, limits, Duration::from_secs(1)).await.unwrap();
        assert_eq!((head.method.as_str(), head.path.as_str(), head.query.as_deref(), head.upgrade), ("GET", "/chat", Some("name=x"), true));
        assert!(head.bytes.ends_with(b"extra"), "bytes after the head are kept");
        let mut bad: &[u8] = b"\x16\x03\x01 not http\r\n\r\n";
        assert!(matches!(read_head(&mut bad, limits, Duration::from_secs(1)).await, Err(HeadError::Malformed)));
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
        let mut long = long.as_bytes();
        assert!(matches!(read_head(&mut long, limits, Duration::from_secs(1)).await, Err(HeadError::TooLarge)));
    }
}
