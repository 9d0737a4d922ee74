//! The HTTP layer's own refusals carry the `{"code","message"}` body every other refusal carries.
//!
//! A request the HTTP/1 parser refuses never reaches the application: a malformed request line or
//! header, ambiguous framing such as `Content-Length` beside `Transfer-Encoding` (400), a head over
//! the parser's limit (431), a head that does not arrive in time (408). The parser answers those
//! itself with an empty body and closes the connection, and offers no way to say more. So the
//! connection's writes are watched here: a write that is exactly one such answer (a status line of
//! those three, `content-length: 0`, nothing after the head) is replaced by the same answer with a
//! JSON body. An application's answer never matches: every refusal of calltrail has a body.
//!
//! The parser writes its refusal on its own, after any answer still being written on the
//! connection; when the two share one write (a pipelined request answered, then a malformed one)
//! the refusal goes out as the parser wrote it.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ErrorBody;

/// The refusals the HTTP layer makes by itself: their status lines as it writes them, and what the
/// body says.
const REFUSALS: [(&str, &str, &str); 3] = [
    (
        "HTTP/1.1 400 Bad Request\r\n",
        "bad_request",
        "the request is not valid HTTP/1.1: a malformed request line or header, or ambiguous framing (Content-Length with Transfer-Encoding, or two lengths)",
    ),
    (
        "HTTP/1.1 408 Request Timeout\r\n",
        "request_timeout",
        "the request head did not arrive in time",
    ),
    (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        "headers_too_large",
        "the request head (request line and headers) is over the limit",
    ),
];

const EMPTY_BODY: &str = "content-length: 0\r\n";

/// The refusal `written` is, with its body; `None` for anything else.
fn with_body(written: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(written).ok()?;
    let (status_line, code, message) = REFUSALS
        .iter()
        .find(|(status_line, ..)| text.starts_with(status_line))?;
    // One head and nothing after it.
    let head_end = text.find("\r\n\r\n")? + 4;
    if head_end != text.len() {
        return None;
    }
    let headers = &text[status_line.len()..head_end - 2];
    let at = headers
        .split_inclusive("\r\n")
        .position(|line| line.eq_ignore_ascii_case(EMPTY_BODY))?;
    let body = serde_json::to_vec(&ErrorBody {
        code,
        message: (*message).to_owned(),
    })
    .expect("an error body serialises");
    let mut answer = Vec::with_capacity(written.len() + body.len() + 64);
    answer.extend_from_slice(status_line.as_bytes());
    for (n, line) in headers.split_inclusive("\r\n").enumerate() {
        if n == at {
            answer.extend_from_slice(b"content-type: application/json\r\n");
            answer.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        } else {
            answer.extend_from_slice(line.as_bytes());
        }
    }
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(&body);
    Some(answer)
}

/// A connection whose HTTP-layer refusals get their body (see the module's documentation).
pub struct WithLayerErrorBodies<S> {
    inner: S,
    /// A rewritten refusal not yet written whole, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> WithLayerErrorBodies<S> {
    pub fn new(inner: S) -> Self {
        WithLayerErrorBodies {
            inner,
            pending: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> WithLayerErrorBodies<S> {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
            if *done == bytes.len() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WithLayerErrorBodies<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WithLayerErrorBodies<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = with_body(buf) {
            // Taken whole: the writer is told all of its bytes were written, and the rewritten
            // answer is written before anything else (and before a flush or shutdown completes).
            self.pending = Some((answer, 0));
            if let Poll::Ready(Err(error)) = self.poll_pending(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Fri, 04 Dec 2026 16:00:00 GMT\r\n";

    #[test]
    fn the_layer_refusals_get_a_json_body() {
        let written =
            format!("HTTP/1.1 400 Bad Request\r\n{EMPTY_BODY}connection: close\r\n{DATE}\r\n");
        let answer = String::from_utf8(with_body(written.as_bytes()).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert!(head.contains(DATE.trim_end()), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(!head.contains(EMPTY_BODY), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "bad_request");

        for (status_line, code, _) in REFUSALS {
            let written = format!("{status_line}{EMPTY_BODY}{DATE}\r\n");
            let answer = String::from_utf8(with_body(written.as_bytes()).unwrap()).unwrap();
            assert!(answer.contains(&format!("\"code\":\"{code}\"")), "{answer}");
        }
    }

    #[test]
    fn anything_else_is_written_as_it_is() {
        // An application's refusal has a body.
        let with_a_body =
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n{DATE}\r\n{{}}");
        assert!(with_body(with_a_body.as_bytes()).is_none());
        // Another status, or the refusal sharing a write with another answer.
        let ok = format!("HTTP/1.1 200 OK\r\n{EMPTY_BODY}{DATE}\r\n");
        assert!(with_body(ok.as_bytes()).is_none());
        let shared = format!("{ok}HTTP/1.1 400 Bad Request\r\n{EMPTY_BODY}{DATE}\r\n");
        assert!(with_body(shared.as_bytes()).is_none());
        // A body that merely starts like one.
        let partial = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0";
        assert!(with_body(partial.as_bytes()).is_none());
    }
}
