//! One Schedule event, as an EventBridge rule delivers it: at each firing, the rule's `Input` or a
//! "Scheduled Event" document.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use crate::invoke::Invoker;
use crate::template::ScheduleSource;

/// What the function receives at `time`.
pub fn payload(source: &ScheduleSource, time: chrono::DateTime<Utc>, region: &str) -> Value {
    source.input.clone().unwrap_or_else(|| {
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": region,
            "resources": [format!("arn:aws:events:{region}:000000000000:rule/{}", source.name)],
            "detail": {}
        })
    })
}

pub async fn run(source: ScheduleSource, invoker: Arc<Invoker>, region: String) {
    loop {
        let now = Utc::now();
        let Some(next) = source.schedule.next_after(now) else {
            tracing::info!(schedule = %source.name, "the schedule never fires again");
            return;
        };
        tracing::info!(schedule = %source.name, next = %next, "waiting for the schedule");
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        match invoker.invoke(&source.function, &payload(&source, next, &region)).await {
            Ok(answer) => tracing::info!(schedule = %source.name, answer = %answer, "schedule fired"),
            Err(e) => tracing::warn!(schedule = %source.name, error = %e, "schedule fired; the function failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;

    #[test]
    fn a_rule_with_input_should_send_the_input_and_one_without_an_eventbridge_event() {
        let time = "2026-12-07T05:00:00Z".parse().unwrap();
        let with_input = ScheduleSource {
            function: "import-file".into(),
            name: "ImportFileFunction.AgedOutDaily".into(),
            schedule: Schedule::parse("cron(0 5 * * ? *)").unwrap(),
            input: Some(json!({ "job": "aged-out" })),
        };
        assert_eq!(payload(&with_input, time, "eu-west-2"), json!({ "job": "aged-out" }));
        let plain = ScheduleSource { input: None, name: "FhirFunction.Sweep".into(), ..with_input };
        let event = payload(&plain, time, "eu-west-2");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["time"], "2026-12-07T05:00:00Z");
    }
}
