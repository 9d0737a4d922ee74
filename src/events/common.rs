//! Fields every event family may carry, extracted the same way for all of
//! them so calls can be correlated whatever the era or the event type.

use crate::events::call_id::CallId;
use crate::events::error::ParseError;
use crate::events::fields::Node;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CommonFields {
    /// A1 `CallLegId`, later eras `callConnectionId`.
    pub call_id: Option<CallId>,
    pub server_call_id: Option<String>,
    pub correlation_id: Option<String>,
    pub operation_context: Option<String>,
    pub result: Option<ResultInfo>,
    /// Orders participant snapshots; arrival order is meaningless.
    pub sequence_number: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ResultInfo {
    pub code: Option<i64>,
    pub sub_code: Option<i64>,
    pub message: Option<String>,
}

impl ResultInfo {
    /// How A1/A2 report that CancelMediaProcessing stopped an operation:
    /// there is no cancellation event of its own in those eras.
    pub fn is_cancellation(&self) -> bool {
        self.code == Some(400) && self.sub_code == Some(8508)
    }
}

/// How wrongly typed common fields are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Known event types: a wrong type is a malformed event.
    Strict,
    /// Unknown event types: we do not know their schema, so a field that
    /// merely shares a name with ours is skipped rather than refused.
    Lenient,
}

pub(crate) fn extract_common(
    data: Option<&Node<'_>>,
    strictness: Strictness,
) -> Result<CommonFields, ParseError> {
    let Some(data) = data else {
        return Ok(CommonFields::default());
    };
    let keep = |r: Result<Option<String>, ParseError>| settle(r, strictness);
    let call_id = match data.opt_str("callConnectionId") {
        Ok(None) => data.opt_str("callLegId"),
        other => other,
    };
    Ok(CommonFields {
        call_id: keep(call_id)?.map(CallId::new),
        server_call_id: keep(data.opt_str("serverCallId"))?,
        correlation_id: keep(data.opt_str("correlationId"))?,
        operation_context: keep(data.opt_str("operationContext"))?,
        result: settle(result_info(data, strictness), strictness)?,
        sequence_number: settle(data.opt_i64("sequenceNumber"), strictness)?,
    })
}

fn settle<T>(
    r: Result<Option<T>, ParseError>,
    strictness: Strictness,
) -> Result<Option<T>, ParseError> {
    match strictness {
        Strictness::Strict => r,
        Strictness::Lenient => Ok(r.ok().flatten()),
    }
}

/// `resultInformation` (GA) or `resultInfo` (previews); the sub-code key is
/// `Subcode`/`subcode` in the previews and `subCode` in GA, which the
/// case-insensitive lookup covers.
fn result_info(data: &Node<'_>, strictness: Strictness) -> Result<Option<ResultInfo>, ParseError> {
    let node = match data.opt_obj("resultInformation")? {
        Some(n) => n,
        None => match data.opt_obj("resultInfo")? {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    Ok(Some(ResultInfo {
        code: settle(node.opt_i64("code"), strictness)?,
        sub_code: settle(node.opt_i64("subCode"), strictness)?,
        message: settle(node.opt_str("message"), strictness)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::error::Ctx;
    use crate::events::fields::tests::object;
    use crate::events::fields::{Path, ROOT};
    use serde_json::{json, Value};

    fn extract(v: &Value, strictness: Strictness) -> Result<CommonFields, ParseError> {
        let node = Node::new(
            object(&v.to_string()),
            Path::Key(&ROOT, "data"),
            Ctx::new(Some(3)),
        );
        extract_common(Some(&node), strictness)
    }

    #[test]
    fn ga_fields() {
        let v = json!({
            "callConnectionId": "421f1100-2b4a-4bd5-a7a4-2e1f35a1cc5d",
            "serverCallId": "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHk",
            "correlationId": "9b2e4f1a-7c3d-4e5f-8a6b-1c2d3e4f5a6b",
            "operationContext": "queue-music",
            "sequenceNumber": 4,
            "resultInformation": {"code": 200, "subCode": 0, "message": "Action completed successfully."}
        });
        let got = extract(&v, Strictness::Strict).unwrap();
        assert_eq!(
            got,
            CommonFields {
                call_id: Some("421f1100-2b4a-4bd5-a7a4-2e1f35a1cc5d".into()),
                server_call_id: Some("aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHk".into()),
                correlation_id: Some("9b2e4f1a-7c3d-4e5f-8a6b-1c2d3e4f5a6b".into()),
                operation_context: Some("queue-music".into()),
                result: Some(ResultInfo {
                    code: Some(200),
                    sub_code: Some(0),
                    message: Some("Action completed successfully.".into()),
                }),
                sequence_number: Some(4),
            }
        );
    }

    #[test]
    fn preview_fields_in_pascal_case() {
        let v = json!({
            "CallLegId": "511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c",
            "OperationContext": "welcome",
            "ResultInfo": {"Code": 400, "Subcode": 8508, "Message": "Action falied, the operation was cancelled."}
        });
        let got = extract(&v, Strictness::Strict).unwrap();
        assert_eq!(
            got.call_id.as_deref(),
            Some("511f0b00-84d1-4b0f-9a59-d4bd8bd9e27c")
        );
        assert_eq!(got.operation_context.as_deref(), Some("welcome"));
        let result = got.result.unwrap();
        assert_eq!((result.code, result.sub_code), (Some(400), Some(8508)));
        assert!(result.is_cancellation());
        assert_eq!(got.server_call_id, None);
        assert_eq!(got.sequence_number, None);
    }

    #[test]
    fn wrong_types_refused_when_strict_skipped_when_lenient() {
        let v = json!({"callConnectionId": "c1", "sequenceNumber": "4",
                       "resultInformation": {"code": "200", "message": "ok"}});
        let err = extract(&v, Strictness::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 3: field `data.resultInformation.code` must be an integer"
        );
        let v_seq = json!({"sequenceNumber": "4"});
        let err = extract(&v_seq, Strictness::Strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "element 3: field `data.sequenceNumber` must be an integer"
        );
        let got = extract(&v, Strictness::Lenient).unwrap();
        assert_eq!(got.call_id.as_deref(), Some("c1"));
        assert_eq!(got.sequence_number, None);
        assert_eq!(
            got.result,
            Some(ResultInfo {
                code: None,
                sub_code: None,
                message: Some("ok".into())
            })
        );
    }
}
