//! One keep-alive HTTP/1.1 connection with one request in flight: write the request's bytes, read
//! one response. Written for load drivers (the ingest benchmark's generator and the emulator's
//! campaign) rather than taken from a general client, whose per-request machinery (a connection
//! task, channels, header maps) costs more CPU than the callback it carries; both share the machine
//! with the receiver they measure.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response head larger than this is not an answer from the servers measured here.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes read into `buf`.
    filled: usize,
    /// Bytes of `buf` that belong to the last response.
    consumed: usize,
    /// The last response's body: a range of `buf`, or decoded from chunks into `chunked`.
    body: Body,
    chunked: Vec<u8>,
    /// The server said it closes the connection, or ended the body by closing it.
    closed: bool,
}

enum Body {
    Range(usize, usize),
    Chunked,
}

/// How the body of a response ends.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Connection {
    /// Connects once.
    pub async fn open(authority: &str) -> Result<Connection, String> {
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect {authority}: {e}"))?;
        Connection::over(stream)
    }

    /// Connects, retrying for up to `patience` while the server is starting.
    pub async fn open_patiently(authority: &str, patience: Duration) -> Result<Connection, String> {
        let deadline = Instant::now() + patience;
        let stream = loop {
            match TcpStream::connect(authority).await {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("connect {authority}: {e}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Connection::over(stream)
    }

    fn over(stream: TcpStream) -> Result<Connection, String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Connection {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
            consumed: 0,
            body: Body::Range(0, 0),
            chunked: Vec::new(),
            closed: false,
        })
    }

    /// Whether the connection can carry another request.
    pub fn is_reusable(&self) -> bool {
        !self.closed
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        match self.body {
            Body::Range(start, end) => &self.buf[start..end],
            Body::Chunked => &self.chunked,
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the response: its status; the body is
    /// then in [`Connection::body`].
    pub async fn exchange(&mut self, request: &[u8]) -> Result<u16, String> {
        if self.closed {
            return Err("the server closed the connection".to_owned());
        }
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        self.stream
            .write_all(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        loop {
            let (status, head_len, framing) = self.read_head().await?;
            let body_at = self.consumed + head_len;
            if (100..200).contains(&status) {
                self.consumed = body_at;
                continue;
            }
            let framing = if status == 204 || status == 304 {
                Framing::Length(0)
            } else {
                framing
            };
            match framing {
                Framing::Length(n) => {
                    if n > MAX_BODY {
                        return Err(format!("a body of {n} bytes"));
                    }
                    self.fill_to(body_at + n).await?;
                    self.body = Body::Range(body_at, body_at + n);
                    self.consumed = body_at + n;
                }
                Framing::Chunked => {
                    self.consumed = body_at;
                    self.read_chunks().await?;
                    self.body = Body::Chunked;
                }
                Framing::UntilClose => {
                    while self.read_more().await? > 0 {
                        if self.filled - body_at > MAX_BODY {
                            return Err("a body too large".to_owned());
                        }
                    }
                    self.body = Body::Range(body_at, self.filled);
                    self.consumed = self.filled;
                    self.closed = true;
                }
            }
            return Ok(status);
        }
    }

    /// Reads until `buf[consumed..]` holds a whole response head and parses it: the status, the
    /// head's length, and how the body ends.
    async fn read_head(&mut self) -> Result<(u16, usize, Framing), String> {
        let mut searched = self.consumed;
        loop {
            // The end may straddle what was searched before and what was just read.
            let from = searched.saturating_sub(3).max(self.consumed);
            if let Some(at) = self.buf[from..self.filled]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                let head_len = from + at + 4 - self.consumed;
                let (status, framing, close) =
                    parse_head(&self.buf[self.consumed..self.consumed + head_len])?;
                self.closed |= close;
                return Ok((status, head_len, framing));
            }
            if self.filled - self.consumed > MAX_HEAD {
                return Err("a response head without an end".to_owned());
            }
            searched = self.filled;
            if self.read_more().await? == 0 {
                return Err("the connection closed before the answer".to_owned());
            }
        }
    }

    /// Decodes a chunked body starting at `consumed` into `chunked`.
    async fn read_chunks(&mut self) -> Result<(), String> {
        self.chunked.clear();
        loop {
            let line_end = self.line_end().await?;
            let line = &self.buf[self.consumed..line_end];
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
            let size = std::str::from_utf8(size_text)
                .ok()
                .and_then(|t| usize::from_str_radix(t.trim(), 16).ok())
                .ok_or("a chunk size that is not hex")?;
            self.consumed = line_end + 2;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                loop {
                    let end = self.line_end().await?;
                    let empty = end == self.consumed;
                    self.consumed = end + 2;
                    if empty {
                        return Ok(());
                    }
                }
            }
            if self.chunked.len() + size > MAX_BODY {
                return Err("a chunked body too large".to_owned());
            }
            self.fill_to(self.consumed + size + 2).await?;
            self.chunked
                .extend_from_slice(&self.buf[self.consumed..self.consumed + size]);
            self.consumed += size + 2;
        }
    }

    /// The index of the next `\r\n` at or after `consumed`, reading more until there is one.
    async fn line_end(&mut self) -> Result<usize, String> {
        loop {
            if let Some(at) = self.buf[self.consumed..self.filled]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                return Ok(self.consumed + at);
            }
            if self.filled - self.consumed > MAX_HEAD {
                return Err("a chunk line without an end".to_owned());
            }
            if self.read_more().await? == 0 {
                return Err("the connection closed inside the body".to_owned());
            }
        }
    }

    async fn fill_to(&mut self, end: usize) -> Result<(), String> {
        while self.filled < end {
            if self.read_more().await? == 0 {
                return Err("the connection closed inside the body".to_owned());
            }
        }
        Ok(())
    }

    /// Reads what the socket has, growing `buf` when full; 0 at the end of the stream.
    async fn read_more(&mut self) -> Result<usize, String> {
        if self.filled == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        let n = self
            .stream
            .read(&mut self.buf[self.filled..])
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        self.filled += n;
        Ok(n)
    }
}

/// Status, framing, and whether the server closes the connection after this response.
fn parse_head(head: &[u8]) -> Result<(u16, Framing, bool), String> {
    let shown = |line: &[u8]| String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    // `HTTP/1.x NNN reason`
    let status = match status_line {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', _, b' ', d1, d2, d3, rest @ ..]
            if (rest.is_empty() || rest[0] == b' ')
                && [d1, d2, d3].iter().all(|d| d.is_ascii_digit())
                && *d1 != b'0' =>
        {
            [d1, d2, d3]
                .iter()
                .fold(0u16, |n, &&d| n * 10 + u16::from(d - b'0'))
        }
        _ => {
            return Err(format!(
                "not an HTTP/1 status line: {:?}",
                shown(status_line)
            ))
        }
    };
    let mut length = None;
    let mut chunked = false;
    let mut close = status_line.starts_with(b"HTTP/1.0");
    for line in lines.filter(|l| !l.is_empty()) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!("a header line without a colon: {:?}", shown(line)));
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("content-length {:?}", shown(value)))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= value
                .split(|&b| b == b',')
                .any(|o| o.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::UntilClose,
    };
    Ok((status, framing, close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A server that reads each request whole (by its content-length) and answers with the next
    /// of `answers`, then stops.
    async fn serve(answers: Vec<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for answer in answers {
                loop {
                    if let Some(end) = request_end(&seen) {
                        seen.drain(..end);
                        break;
                    }
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the client closed early");
                    seen.extend_from_slice(&chunk[..n]);
                }
                // Split in two writes so that the client has to read twice.
                let half = answer.len() / 2;
                socket.write_all(&answer[..half]).await.unwrap();
                socket.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                socket.write_all(&answer[half..]).await.unwrap();
            }
        });
        authority
    }

    fn request_end(seen: &[u8]) -> Option<usize> {
        let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&seen[..head_end]).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.parse().unwrap());
        (seen.len() >= head_end + length).then_some(head_end + length)
    }

    const REQUEST: &[u8] = b"POST /x HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n{}";

    #[tokio::test]
    async fn reads_length_chunked_and_interim_answers_on_one_connection() {
        tokio::time::timeout(Duration::from_secs(10), length_chunked_and_interim())
            .await
            .expect("answers within 10 s");
    }

    async fn length_chunked_and_interim() {
        let authority = serve(vec![
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 40\r\nContent-Type: application/json\r\n\r\n{\"received\":2,\"stored\":2,\"duplicates\":0}".to_vec(),
            b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n4;x=y\r\n{\"er\r\n12\r\nror\":\"overloaded\"}\r\n0\r\nTrailer: t\r\n\r\n".to_vec(),
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 5\r\n\r\nnope!".to_vec(),
        ])
        .await;
        let mut conn = Connection::open(&authority).await.unwrap();
        assert_eq!(conn.exchange(REQUEST).await.unwrap(), 202);
        assert_eq!(
            conn.body(),
            b"{\"received\":2,\"stored\":2,\"duplicates\":0}"
        );
        assert_eq!(conn.exchange(REQUEST).await.unwrap(), 202);
        assert_eq!(conn.body(), b"");
        assert_eq!(conn.exchange(REQUEST).await.unwrap(), 503);
        assert_eq!(conn.body(), b"{\"error\":\"overloaded\"}");
        assert!(conn.is_reusable());
        assert_eq!(conn.exchange(REQUEST).await.unwrap(), 400);
        assert_eq!(conn.body(), b"nope!");
        assert!(!conn.is_reusable());
        assert!(conn.exchange(REQUEST).await.is_err());
    }

    #[tokio::test]
    async fn a_body_that_ends_with_the_connection_is_read_whole() {
        let authority = serve(vec![b"HTTP/1.1 200 OK\r\n\r\nall of it".to_vec()]).await;
        let mut conn = Connection::open(&authority).await.unwrap();
        assert_eq!(conn.exchange(REQUEST).await.unwrap(), 200);
        assert_eq!(conn.body(), b"all of it");
        assert!(!conn.is_reusable());
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_is_an_error() {
        let authority = serve(vec![]).await;
        let mut conn = Connection::open(&authority).await.unwrap();
        assert!(conn.exchange(REQUEST).await.is_err());
    }

    #[test]
    fn heads_give_status_framing_and_closing() {
        let (status, framing, close) =
            parse_head(b"HTTP/1.1 202 Accepted\r\nContent-Length: 12\r\nDate: x\r\n\r\n").unwrap();
        assert_eq!(status, 202);
        assert!(matches!(framing, Framing::Length(12)));
        assert!(!close);
        let (status, framing, close) =
            parse_head(b"HTTP/1.1 503\r\nTransfer-Encoding: gzip, chunked\r\nConnection: keep-alive, Close\r\n\r\n")
                .unwrap();
        assert_eq!(status, 503);
        assert!(matches!(framing, Framing::Chunked));
        assert!(close);
        let (_, framing, close) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        assert!(matches!(framing, Framing::UntilClose));
        assert!(close);
    }

    #[test]
    fn malformed_heads_are_errors() {
        for head in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
        ] {
            assert!(
                parse_head(head).is_err(),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
