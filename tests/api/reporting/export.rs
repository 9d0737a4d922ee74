//! The streamed export, both formats parsed back and compared with what is stored.

use calltrail::api::export::CSV_COLUMNS;
use calltrail::events::{stored_event, stored_kind};
use serde_json::json;

use super::*;

const CALLS: usize = 30;
const PER_CALL: usize = 100;

/// 3000 events, one of them with commas, quotes and line breaks in its fields and raw bytes.
async fn fixture(app: &TestApp) {
    for c in 0..CALLS {
        ingest(
            app,
            tones(&format!("x{c}"), &format!("export-{c}"), PER_CALL),
        )
        .await;
    }
    let awkward = "[{\"id\":\"awkward\",\n\"source\":\"calling/callConnections/export-0\",\"type\":\"Microsoft.Communication.PlayFailed\",\"specversion\":\"1.0\",\r\n\"time\":\"2024-03-12T09:15:40Z\",\"data\":{\"callConnectionId\":\"export-0\",\"operationContext\":\"ctx, \\\"quoted\\\"\",\"resultInformation\":{\"code\":400,\"subCode\":8536,\"message\":\"bad,\\n\\\"very\\\" bad\"}}}]";
    assert_eq!(app.post_callback(awkward.to_owned()).await.status(), 200);
}

#[derive(sqlx::FromRow)]
struct Stored {
    event_seq: i64,
    call_id: Option<String>,
    operation_context: Option<String>,
    format: String,
    raw: String,
}

impl Stored {
    /// The typed details, derived from the stored element as every reader derives them.
    fn details(&self) -> Value {
        serde_json::to_value(stored_kind(&self.format, &self.raw)).unwrap()
    }

    /// The result's message, also derived from the stored element.
    fn result_message(&self) -> Option<String> {
        stored_event(&self.format, &self.raw)
            .and_then(|e| e.common.result)
            .and_then(|r| r.message)
    }
}

async fn stored(app: &TestApp, call: Option<&str>) -> Vec<Stored> {
    sqlx::query_as(
        "SELECT event_seq, call_id, operation_context, format, raw FROM events \
         WHERE $1::text IS NULL OR call_id = $1 ORDER BY received_at, event_seq",
    )
    .bind(call)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn download(app: &TestApp, query: &str) -> (reqwest::header::HeaderMap, String) {
    let response = get(app, &format!("/api/v1/events/export?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let headers = response.headers().clone();
    assert!(
        headers.get("content-length").is_none(),
        "streamed, not sized up front"
    );
    (headers, response.text().await.unwrap())
}

#[tokio::test]
async fn ndjson_export_streams_every_event_with_its_raw_payload() {
    let app = spawn_api().await;
    fixture(&app).await;
    let expected = stored(&app, None).await;
    assert_eq!(expected.len(), CALLS * PER_CALL + 1);
    let (headers, body) = download(&app, "format=ndjson").await;
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("events.ndjson"));
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), expected.len());
    for (line, row) in lines.iter().zip(&expected) {
        assert_eq!(line["event_seq"], row.event_seq);
        assert_eq!(line["raw"].as_str().unwrap(), row.raw);
        assert_eq!(line["details"], row.details());
        assert_eq!(line["call_id"], json!(row.call_id));
    }
    // The default format is NDJSON, and the filters are those of /events.
    let (_, filtered) = download(&app, "call_id=export-7").await;
    assert_eq!(filtered.lines().count(), PER_CALL);
    let (_, filtered) = download(
        &app,
        "json_path=data.resultInformation.subCode&json_value=8536",
    )
    .await;
    assert_eq!(filtered.lines().count(), 1);
    let (_, none) = download(&app, "call_id=nobody").await;
    assert_eq!(none, "");
}

#[tokio::test]
async fn csv_export_is_properly_quoted_and_parses_back() {
    let app = spawn_api().await;
    fixture(&app).await;
    let expected = stored(&app, None).await;
    let (headers, body) = download(&app, "format=csv").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_COLUMNS);
    let column = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("a valid CSV record"))
        .collect();
    assert_eq!(records.len(), expected.len());
    for (record, row) in records.iter().zip(&expected) {
        assert_eq!(record.len(), CSV_COLUMNS.len());
        assert_eq!(record[column("event_seq")], row.event_seq.to_string());
        assert_eq!(&record[column("raw")], row.raw);
        assert_eq!(
            serde_json::from_str::<Value>(&record[column("details")]).unwrap(),
            row.details()
        );
        assert_eq!(
            &record[column("call_id")],
            row.call_id.as_deref().unwrap_or("")
        );
        assert_eq!(
            &record[column("operation_context")],
            row.operation_context.as_deref().unwrap_or("")
        );
        assert_eq!(
            &record[column("result_message")],
            row.result_message().as_deref().unwrap_or("")
        );
        assert!(record[column("received_at")].ends_with('Z'));
    }
    let awkward = expected
        .iter()
        .position(|r| r.raw.contains("awkward"))
        .unwrap();
    assert_eq!(
        &records[awkward][column("operation_context")],
        "ctx, \"quoted\""
    );
    assert_eq!(
        &records[awkward][column("result_message")],
        "bad,\n\"very\" bad"
    );
    assert!(records[awkward][column("raw")].contains("\r\n"));

    let (_, filtered) = download(&app, "format=csv&call_id=export-3").await;
    let rows = csv::Reader::from_reader(filtered.as_bytes())
        .records()
        .count();
    assert_eq!(rows, PER_CALL);
    let (_, empty) = download(&app, "format=csv&call_id=nobody").await;
    assert_eq!(empty.lines().count(), 1, "only the header");
    assert_error(&app, "/api/v1/events/export?format=xml", 400, "bad_request").await;
}

#[tokio::test]
async fn a_client_leaving_mid_export_does_not_disturb_the_service() {
    let app = spawn_api().await;
    fixture(&app).await;
    for _ in 0..3 {
        let mut response = get(&app, "/api/v1/events/export?format=ndjson").await;
        assert_eq!(response.status(), 200);
        let first = response.chunk().await.unwrap().expect("a first chunk");
        assert!(!first.is_empty());
        drop(response);
    }
    let page = get_ok(&app, "/api/v1/events?limit=3").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (_, body) = download(&app, "format=ndjson").await;
    assert_eq!(body.lines().count(), CALLS * PER_CALL + 1);
}
