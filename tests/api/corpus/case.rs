//! One case of the corpus: the request, the answer it must get; sending it and judging the answer.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::reporting::API_TOKEN;

#[derive(Debug, Clone)]
pub(super) enum Expect {
    /// An answer of the application: this status, the error shape with this code, nothing stored.
    Refused(u16, &'static str),
    /// 200, and this many new events stored.
    Stored(i64),
    /// A reporting-API answer: 200, 400 or 404 (in the error shape), never anything else.
    Answered,
    /// A reporting-API page of exactly this many items.
    Found(usize),
    /// 413 as above, or the connection reset by the server's close while the client still wrote.
    TooLargeOrReset,
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) group: &'static str,
    pub(super) name: String,
    method: reqwest::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Bytes written as they are on a TCP connection instead of an HTTP client's request.
    raw: Option<Vec<u8>>,
    expect: Expect,
    /// A text the error message must contain.
    message: Option<String>,
    /// An event that must be stored with exactly this raw text: (event id, raw).
    pub(super) verbatim: Option<(String, String)>,
}

impl Case {
    pub(super) fn post(
        group: &'static str,
        name: impl Into<String>,
        path: &str,
        body: impl Into<Vec<u8>>,
    ) -> Case {
        Case {
            group,
            name: name.into(),
            method: reqwest::Method::POST,
            path: path.to_owned(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            raw: None,
            expect: Expect::Stored(1),
            message: None,
            verbatim: None,
        }
    }

    pub(super) fn callback(
        group: &'static str,
        name: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Case {
        Case::post(
            group,
            name,
            &format!("/api/callbacks?secret={SECRET}"),
            body,
        )
    }

    pub(super) fn get(group: &'static str, name: impl Into<String>, path: String) -> Case {
        Case {
            method: reqwest::Method::GET,
            headers: vec![("authorization".into(), format!("Bearer {API_TOKEN}"))],
            expect: Expect::Answered,
            ..Case::post(group, name, &path, Vec::new())
        }
    }

    pub(super) fn raw(
        group: &'static str,
        name: impl Into<String>,
        bytes: Vec<u8>,
        expect: Expect,
    ) -> Case {
        Case {
            raw: Some(bytes),
            expect,
            ..Case::post(group, name, "", Vec::new())
        }
    }

    pub(super) fn expect(mut self, expect: Expect) -> Case {
        self.expect = expect;
        self
    }

    pub(super) fn refused(self, status: u16, code: &'static str) -> Case {
        self.expect(Expect::Refused(status, code))
    }

    pub(super) fn message(mut self, text: impl Into<String>) -> Case {
        self.message = Some(text.into());
        self
    }

    pub(super) fn header(mut self, name: &str, value: impl Into<String>) -> Case {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(super) fn without_header(mut self, name: &str) -> Case {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }
}

#[derive(Debug)]
pub(super) struct Answer {
    status: u16,
    body: String,
    reset: bool,
}

pub(super) async fn send(app: &TestApp, case: &Case) -> Answer {
    if let Some(bytes) = &case.raw {
        return send_raw(app, bytes.clone()).await;
    }
    let mut request = app.client.request(case.method.clone(), app.url(&case.path));
    for (name, value) in &case.headers {
        request = request.header(name, value);
    }
    if case.method == reqwest::Method::POST {
        request = request.body(case.body.clone());
    }
    let response = request
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} / {}: {e}", case.group, case.name));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Answer {
        status,
        body,
        reset: false,
    }
}

/// Writes `bytes` on a connection of its own (while reading, so that a server that stops reading
/// cannot block the writer) and reads the answer until the server closes.
async fn send_raw(app: &TestApp, bytes: Vec<u8>) -> Answer {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&bytes).await;
        // Keep the write half open: closing it could end the request early.
        tokio::time::sleep(Duration::from_secs(15)).await;
        drop(writer);
    });
    let mut answer = Vec::new();
    let mut reset = false;
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {
                    reset = true;
                    break;
                }
            }
        }
    })
    .await;
    writing.abort();
    assert!(read.is_ok(), "the server did not close the connection");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Answer {
        status,
        body,
        reset: reset && text.is_empty(),
    }
}

fn error_shape(answer: &Answer) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(&answer.body).ok()?;
    Some((
        v["code"].as_str()?.to_owned(),
        v["message"].as_str()?.to_owned(),
    ))
}

/// Checks one answer against what the case expects; the failure, if any.
pub(super) fn judge(case: &Case, answer: &Answer) -> Result<i64, String> {
    let shown = || {
        format!(
            "{} {}: {}",
            answer.status,
            if answer.body.len() > 300 {
                &answer.body[..300]
            } else {
                &answer.body
            },
            if answer.reset { "(reset)" } else { "" }
        )
    };
    if answer.status >= 500 {
        return Err(format!("a 5xx: {}", shown()));
    }
    match &case.expect {
        Expect::Refused(status, code) => {
            let (got, message) =
                error_shape(answer).ok_or_else(|| format!("not the error shape: {}", shown()))?;
            if answer.status != *status || got != *code {
                return Err(format!("expected {status} {code}, got {}", shown()));
            }
            if let Some(want) = &case.message {
                if !message.contains(want.as_str()) {
                    return Err(format!("message {message:?} lacks {want:?}"));
                }
            }
            Ok(0)
        }
        Expect::Stored(n) => {
            if answer.status != 200 {
                return Err(format!("expected 200, got {}", shown()));
            }
            Ok(*n)
        }
        Expect::Answered => match answer.status {
            200 => Ok(0),
            400 | 404 => error_shape(answer)
                .map(|_| 0)
                .ok_or_else(|| format!("not the error shape: {}", shown())),
            _ => Err(format!("expected 200, 400 or 404, got {}", shown())),
        },
        Expect::Found(n) => {
            let page: Value = serde_json::from_str(&answer.body)
                .map_err(|_| format!("not a page: {}", shown()))?;
            let items = page["items"].as_array().map_or(usize::MAX, Vec::len);
            if answer.status != 200 || items != *n {
                return Err(format!("expected a page of {n}, got {}", shown()));
            }
            Ok(0)
        }
        Expect::TooLargeOrReset => {
            if answer.reset
                || (answer.status == 413
                    && error_shape(answer).is_some_and(|(c, _)| c == "payload_too_large"))
            {
                Ok(0)
            } else {
                Err(format!("expected 413 or a reset, got {}", shown()))
            }
        }
    }
}
