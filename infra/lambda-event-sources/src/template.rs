//! The event sources of the SAM template: each function's SQS events (queue, batch size, partial batch responses)
//! and Schedule events (expression, input), so the runner follows the template instead of a second description.

use serde_yaml_ng::Value;

use crate::schedule::{Schedule, ScheduleError};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{function}: {reason}")]
    Function { function: String, reason: String },
    #[error("{function}.{event}: {source}")]
    Schedule { function: String, event: String, source: ScheduleError },
}

/// One SQS event of a function: Lambda's event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSource {
    /// The binary `cargo lambda watch` serves (the function's `BuildProperties.Binary`).
    pub function: String,
    /// The queue's logical id in the template.
    pub queue: String,
    pub batch_size: i32,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: only the listed messages stay on the queue.
    pub partial_batch_response: bool,
}

/// One Schedule event of a function: an EventBridge rule.
#[derive(Debug, Clone)]
pub struct ScheduleSource {
    pub function: String,
    /// `Function.Event`, as the logs name it.
    pub name: String,
    pub schedule: Schedule,
    /// The rule's `Input`: sent instead of the EventBridge event when set.
    pub input: Option<serde_json::Value>,
}

#[derive(Debug, Default)]
pub struct EventSources {
    pub queues: Vec<QueueSource>,
    pub schedules: Vec<ScheduleSource>,
}

/// The logical id of `!GetAtt X.Arn` (short or long form).
fn get_att_arn(value: &Value) -> Option<String> {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "!GetAtt" => tagged.value.as_str()?.to_owned(),
        Value::Mapping(map) => map.get("Fn::GetAtt")?.as_sequence()?.first()?.as_str()?.to_owned() + ".Arn",
        _ => return None,
    };
    target.strip_suffix(".Arn").map(str::to_owned)
}

pub fn event_sources(template_text: &str) -> Result<EventSources, TemplateError> {
    let template: Value = serde_yaml_ng::from_str(template_text)?;
    let mut sources = EventSources::default();
    let Some(resources) = template["Resources"].as_mapping() else { return Ok(sources) };
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or_default();
        let fail = |reason: &str| TemplateError::Function { function: id.to_owned(), reason: reason.to_owned() };
        let function = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| fail("has no Metadata.BuildProperties.Binary (the cargo-lambda binary)"))?
            .to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for (event, definition) in events {
            let event = event.as_str().unwrap_or_default();
            let properties = &definition["Properties"];
            match definition["Type"].as_str() {
                Some("SQS") => sources.queues.push(QueueSource {
                    function: function.clone(),
                    queue: get_att_arn(&properties["Queue"])
                        .ok_or_else(|| fail("an SQS event's Queue is not !GetAtt X.Arn"))?,
                    // Lambda's default batch size for SQS.
                    batch_size: properties["BatchSize"].as_i64().map_or(10, |size| size.clamp(1, 10) as i32),
                    partial_batch_response: properties["FunctionResponseTypes"]
                        .as_sequence()
                        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures"))),
                }),
                Some("Schedule") => {
                    let expression =
                        properties["Schedule"].as_str().ok_or_else(|| fail("a Schedule event has no Schedule"))?;
                    let schedule = Schedule::parse(expression).map_err(|source| TemplateError::Schedule {
                        function: id.to_owned(),
                        event: event.to_owned(),
                        source,
                    })?;
                    let input = match properties["Input"].as_str() {
                        Some(text) => {
                            Some(serde_json::from_str(text).map_err(|_| fail("a Schedule Input is not JSON"))?)
                        }
                        None => None,
                    };
                    sources.schedules.push(ScheduleSource {
                        function: function.clone(),
                        name: format!("{id}.{event}"),
                        schedule,
                        input,
                    });
                }
                // HttpApi events are served by `cargo lambda watch` itself (its function URLs).
                _ => {}
            }
        }
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_template_should_give_every_queue_and_schedule_of_every_function() {
        let sources = event_sources(include_str!("../../template.yaml")).expect("template");
        let queues: Vec<(&str, &str, i32, bool)> = sources
            .queues
            .iter()
            .map(|q| (q.function.as_str(), q.queue.as_str(), q.batch_size, q.partial_batch_response))
            .collect();
        assert_eq!(
            queues,
            [
                ("import-file", "ObjectEventsQueue", 1, true),
                ("pds", "PdsQueue", 2, true),
                ("fhir", "FhirQueue", 10, true)
            ]
        );
        let schedules: Vec<&str> = sources.schedules.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            schedules,
            ["ImportFileFunction.AgedOutDaily", "PdsFunction.ScheduledRefresh", "FhirFunction.Sweep"]
        );
        assert_eq!(sources.schedules[0].input, Some(serde_json::json!({ "job": "aged-out" })));
    }

    #[test]
    fn a_function_without_its_binary_name_should_be_refused_by_name() {
        let text = "Resources: { F: { Type: AWS::Serverless::Function, Properties: {} } }";
        assert_eq!(
            event_sources(text).unwrap_err().to_string(),
            "F: has no Metadata.BuildProperties.Binary (the cargo-lambda binary)"
        );
    }
}
