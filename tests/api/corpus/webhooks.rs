//! Replayed, forged and malformed Standard Webhooks signatures.

use calltrail::auth::testing::sign_webhook;
use serde_json::json;

use crate::fixtures::*;

use super::case::{Case, Expect};
use super::{T, WHSEC};

pub(super) fn webhook_cases() -> Vec<Case> {
    let g = "Standard Webhooks";
    let now = chrono::Utc::now().timestamp();
    let body = json!([b_tone("wh-never", "c-wh", 1, "one", T)]).to_string();
    let signed = |name: &str, id: &str, ts: String, signature: String, body: &str| {
        Case::post(g, name.to_owned(), "/api/callbacks", body.to_owned())
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", signature)
    };
    let sign =
        |id: &str, ts: i64, body: &str| sign_webhook(WHSEC, id, ts, body.as_bytes()).unwrap();
    let mut cases = Vec::new();
    for (name, offset) in [
        ("replayed 301 s late", -301),
        ("replayed 10 minutes late", -600),
        ("replayed a day late", -86_400),
        ("replayed a year late", -31_536_000),
        ("301 s in the future", 301),
        ("a day in the future", 86_400),
    ] {
        let ts = now + offset;
        cases.push(
            signed(
                name,
                "msg_r",
                ts.to_string(),
                sign("msg_r", ts, &body),
                &body,
            )
            .refused(401, "unauthorized"),
        );
    }
    for (name, ts) in [
        ("timestamp 0", 0_i64),
        ("timestamp -1", -1),
        ("timestamp in year 5138", 99_999_999_999),
    ] {
        cases.push(
            signed(
                name,
                "msg_r",
                ts.to_string(),
                sign("msg_r", ts, &body),
                &body,
            )
            .refused(401, "unauthorized"),
        );
    }
    let good = sign("msg_r", now, &body);
    for (name, ts) in [
        (
            "timestamp beyond 64 bits",
            "99999999999999999999999".to_owned(),
        ),
        ("timestamp with a fraction", format!("{now}.5")),
        ("timestamp in RFC 3339", chrono::Utc::now().to_rfc3339()),
        ("timestamp with SQL", format!("{now}' OR '1'='1")),
        ("timestamp empty", String::new()),
    ] {
        cases.push(signed(name, "msg_r", ts, good.clone(), &body).refused(401, "unauthorized"));
    }
    let wrong = sign_webhook(
        "whsec_d3Jvbmcgc2VjcmV0IGZvciB0ZXN0aW5nIQ==",
        "msg_r",
        now,
        body.as_bytes(),
    )
    .unwrap();
    for (name, id, sig, sent) in [
        ("wrong secret", "msg_r", wrong.clone(), body.clone()),
        (
            "tampered body",
            "msg_r",
            good.clone(),
            body.replace("one", "two"),
        ),
        ("another id", "msg_x", good.clone(), body.clone()),
        (
            "not base64",
            "msg_r",
            "v1,not-base64!!".to_owned(),
            body.clone(),
        ),
        ("empty v1", "msg_r", "v1,".to_owned(), body.clone()),
        (
            "v1a instead of v1",
            "msg_r",
            good.replace("v1,", "v1a,"),
            body.clone(),
        ),
        (
            "10,000 wrong signatures",
            "msg_r",
            vec![wrong.as_str(); 200].join(" "),
            body.clone(),
        ),
        (
            "a signature of 20 kB",
            "msg_r",
            format!("v1,{}", "A".repeat(20_000)),
            body.clone(),
        ),
        (
            "an id with SQL",
            "'; DROP TABLE events; --",
            good.clone(),
            body.clone(),
        ),
    ] {
        cases.push(signed(name, id, now.to_string(), sig, &sent).refused(401, "unauthorized"));
    }
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        cases.push(
            signed(
                &format!("no {missing}"),
                "msg_r",
                now.to_string(),
                good.clone(),
                &body,
            )
            .without_header(missing)
            .refused(401, "unauthorized"),
        );
    }
    let fresh = json!([b_tone("wh-good", "c-wh", 1, "one", T)]).to_string();
    let sig = sign("msg_good", now, &fresh);
    cases.push(signed(
        "a good signature",
        "msg_good",
        now.to_string(),
        sig.clone(),
        &fresh,
    ));
    cases.push(
        signed(
            "the same message replayed within the tolerance",
            "msg_good",
            now.to_string(),
            sig,
            &fresh,
        )
        .expect(Expect::Stored(0)),
    );
    cases
}
