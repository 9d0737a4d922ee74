//! Event Grid deliveries to an application's subscription endpoint, as Event Grid makes them: the
//! subscription-validation handshake first (the endpoint must answer 200 with the code echoed in
//! `validationResponse`), then notifications, each a JSON array in the Event Grid schema with
//! `aeg-event-type: Notification`.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

/// The topic of the emulated Communication Services resource.
const TOPIC: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.Communication/communicationServices/calltrail-emulator";

/// What the endpoint answered, or why nothing usable came back.
#[derive(Debug)]
pub struct Answer {
    pub status: Option<u16>,
    pub problem: Option<String>,
}

pub struct EventGrid {
    client: reqwest::Client,
}

impl EventGrid {
    pub fn new(timeout: Duration) -> EventGrid {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("an HTTP client with a timeout builds");
        EventGrid { client }
    }

    /// The validation handshake; `Ok` once the endpoint echoed the code.
    pub async fn validate(&self, endpoint: &str) -> Result<(), String> {
        let code = uuid::Uuid::new_v4().to_string().to_uppercase();
        let event = json!([{
            "id": uuid::Uuid::new_v4().to_string(),
            "topic": TOPIC,
            "subject": "",
            "data": {"validationCode": code, "validationUrl": null},
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": now(),
            "metadataVersion": "1",
            "dataVersion": "2",
        }]);
        let response = self
            .post(endpoint, "SubscriptionValidation", &event)
            .await
            .map_err(|e| format!("the validation handshake was not answered: {e}"))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == 200 && body["validationResponse"] == code.as_str() {
            Ok(())
        } else {
            Err(format!(
                "the validation handshake was answered {status} without the code in validationResponse"
            ))
        }
    }

    /// Sends one `IncomingCall` notification.
    pub async fn incoming_call(&self, endpoint: &str, data: Value, subject: String) -> Answer {
        let event = json!([{
            "id": uuid::Uuid::new_v4().to_string(),
            "topic": TOPIC,
            "subject": subject,
            "data": data,
            "eventType": "Microsoft.Communication.IncomingCall",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": now(),
        }]);
        match self.post(endpoint, "Notification", &event).await {
            Ok(response) => {
                let status = response.status().as_u16();
                Answer {
                    status: Some(status),
                    problem: (!(200..300).contains(&status))
                        .then(|| format!("the endpoint answered {status}")),
                }
            }
            Err(e) => Answer {
                status: None,
                problem: Some(e.to_string()),
            },
        }
    }

    async fn post(
        &self,
        endpoint: &str,
        kind: &str,
        body: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(endpoint)
            .header("content-type", "application/json")
            .header("aeg-event-type", kind)
            .header("aeg-subscription-name", "CALLTRAIL-EMULATOR")
            // One attempt each: the first is numbered 0, as Event Grid numbers them.
            .header("aeg-delivery-count", "0")
            .json(body)
            .send()
            .await
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}
