//! Rules the deployed stack must keep, read from infra/template.yaml itself: no S3 permission or condition open to
//! every bucket, no secret in a function's environment, every queue with a dead-letter queue and every dead-letter
//! queue with an alarm, data kept when the stack goes, logs not kept for ever, and the pds function only with PDS.

use serde_yaml_ng::Value;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");

fn parse(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("the template is YAML")
}

/// The value under a CloudFormation short-form tag (`!GetAtt X.Arn`) or its long form (`Fn::GetAtt: X.Arn`).
fn intrinsic<'a>(value: &'a Value, function: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == format!("!{function}").as_str() => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => map.get(format!("Fn::{function}")),
        _ => None,
    }
}

/// The logical id a `!GetAtt X.<attribute>` names.
fn get_att_of<'a>(value: &'a Value, attribute: &str) -> Option<&'a str> {
    match intrinsic(value, "GetAtt")? {
        Value::String(target) => target.strip_suffix(&format!(".{attribute}")),
        Value::Sequence(parts) if parts.get(1).and_then(Value::as_str) == Some(attribute) => parts[0].as_str(),
        _ => None,
    }
}

fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Sequence(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        Value::Tagged(tagged) => strings(&tagged.value, out),
        _ => {}
    }
}

fn resources(template: &Value) -> Vec<(&str, &Value)> {
    template["Resources"].as_mapping().expect("Resources").iter().map(|(id, r)| (id.as_str().unwrap(), r)).collect()
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template).into_iter().filter(|(_, r)| r["Type"].as_str() == Some(kind)).collect()
}

fn wildcard_bucket_arns(template: &Value) -> Vec<String> {
    let mut all = Vec::new();
    strings(template, &mut all);
    all.into_iter().filter(|s| s.contains(":s3:::*")).map(str::to_owned).collect()
}

/// Environment variables (of the globals or a function) holding a secret or a reference that resolves to one.
fn secrets_in_environment(template: &Value) -> Vec<String> {
    let secret_name = |name: &str| {
        let upper = name.to_ascii_uppercase();
        ["KEY", "SECRET", "PASSWORD", "PEM", "TOKEN"].iter().any(|word| upper.split('_').any(|part| part == *word))
            && !["_ID", "_ARN", "_NAME", "_URL"].iter().any(|suffix| upper.ends_with(suffix))
    };
    let functions = of_type(template, "AWS::Serverless::Function").into_iter().map(|(id, r)| (id, &r["Properties"]));
    let mut found = Vec::new();
    for (owner, properties) in std::iter::once(("Globals", &template["Globals"]["Function"])).chain(functions) {
        let Some(variables) = properties["Environment"]["Variables"].as_mapping() else { continue };
        for (name, value) in variables {
            let name = name.as_str().unwrap_or_default();
            let mut texts = Vec::new();
            strings(value, &mut texts);
            if secret_name(name)
                || texts.iter().any(|t| t.contains("{{resolve:secretsmanager") || t.contains("{{resolve:ssm-secure"))
            {
                found.push(format!("{owner}: {name}"));
            }
        }
    }
    found
}

fn dead_letter_targets(template: &Value) -> Vec<&str> {
    of_type(template, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, q)| get_att_of(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], "Arn"))
        .collect()
}

fn queues_without_dead_letter_queue(template: &Value) -> Vec<&str> {
    let targets = dead_letter_targets(template);
    of_type(template, "AWS::SQS::Queue")
        .into_iter()
        .filter(|(id, q)| q["Properties"].get("RedrivePolicy").is_none() && !targets.contains(id))
        .map(|(id, _)| id)
        .collect()
}

fn dead_letter_queues_without_alarm(template: &Value) -> Vec<&str> {
    let alarmed: Vec<&str> = of_type(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|(_, alarm)| alarm["Properties"]["Dimensions"].as_sequence().into_iter().flatten())
        .filter(|dimension| dimension["Name"].as_str() == Some("QueueName"))
        .filter_map(|dimension| get_att_of(&dimension["Value"], "QueueName"))
        .collect();
    dead_letter_targets(template).into_iter().filter(|dlq| !alarmed.contains(dlq)).collect()
}

#[test]
fn no_permission_or_condition_should_name_every_bucket() {
    assert_eq!(wildcard_bucket_arns(&parse(TEMPLATE)), Vec::<String>::new());
    let open = parse(
        r#"{ Resources: { P: { Type: AWS::SQS::QueuePolicy, Properties: { C: !Sub "arn:${AWS::Partition}:s3:::*" } } } }"#,
    );
    assert_eq!(wildcard_bucket_arns(&open).len(), 1, "the rule finds a wildcard bucket ARN");
}

#[test]
fn no_secret_should_be_in_a_function_environment() {
    assert_eq!(secrets_in_environment(&parse(TEMPLATE)), Vec::<String>::new());
    let resolved = parse(
        r#"{ Resources: { F: { Type: AWS::Serverless::Function, Properties: { Environment: { Variables: {
            NHS_API_KEY: !Sub "{{resolve:secretsmanager:${Name}:SecretString:api_key}}", NHS_API_SECRET_ID: x,
            OTHER: "{{resolve:secretsmanager:n:SecretString:k}}" } } } } } }"#,
    );
    assert_eq!(secrets_in_environment(&resolved), vec!["F: NHS_API_KEY", "F: OTHER"]);
}

#[test]
fn every_queue_should_have_a_dead_letter_queue_and_every_dead_letter_queue_an_alarm() {
    let template = parse(TEMPLATE);
    assert_eq!(queues_without_dead_letter_queue(&template), Vec::<&str>::new());
    assert_eq!(dead_letter_queues_without_alarm(&template), Vec::<&str>::new());
    assert_eq!(dead_letter_targets(&template).len(), 3, "object events, pds and fhir");
    let bare = parse(
        r#"{ Resources: { Q: { Type: AWS::SQS::Queue, Properties: { RedrivePolicy: { deadLetterTargetArn: !GetAtt D.Arn } } },
            D: { Type: AWS::SQS::Queue }, Lonely: { Type: AWS::SQS::Queue } } }"#,
    );
    assert_eq!(queues_without_dead_letter_queue(&bare), vec!["Lonely"]);
    assert_eq!(dead_letter_queues_without_alarm(&bare), vec!["D"]);
}

#[test]
fn the_table_and_the_bucket_should_outlive_the_stack() {
    let template = parse(TEMPLATE);
    for id in ["RecordsTable", "UploadsBucket"] {
        let resource = &template["Resources"][id];
        assert_eq!(resource["DeletionPolicy"].as_str(), Some("Retain"), "{id}");
        assert_eq!(resource["UpdateReplacePolicy"].as_str(), Some("Retain"), "{id}");
    }
    assert_eq!(template["Resources"]["RecordsTable"]["Properties"]["DeletionProtectionEnabled"].as_bool(), Some(true));
    let bucket = &template["Resources"]["UploadsBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"].as_str(), Some("Enabled"));
    let rules = bucket["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    assert!(rules.iter().any(|rule| rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64().is_some()));
    let tls_only = of_type(&template, "AWS::S3::BucketPolicy").into_iter().any(|(_, policy)| {
        policy["Properties"]["PolicyDocument"]["Statement"].as_sequence().into_iter().flatten().any(|statement| {
            statement["Effect"].as_str() == Some("Deny")
                && statement["Condition"]["Bool"]["aws:SecureTransport"].as_str() == Some("false")
        })
    });
    assert!(tls_only, "a bucket policy denies requests without TLS");
}

#[test]
fn every_function_should_log_to_a_group_with_a_retention_period() {
    let template = parse(TEMPLATE);
    for (id, function) in of_type(&template, "AWS::Serverless::Function") {
        let group = &function["Properties"]["LoggingConfig"]["LogGroup"];
        let group_id =
            intrinsic(group, "Ref").and_then(Value::as_str).unwrap_or_else(|| panic!("{id} has no log group"));
        let group = &template["Resources"][group_id];
        assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{id}");
        assert!(group["Properties"].get("RetentionInDays").is_some(), "{group_id} keeps logs for ever");
    }
}

#[test]
fn the_pds_function_its_queues_and_its_schedule_should_exist_only_with_pds() {
    let template = parse(TEMPLATE);
    for id in ["PdsFunction", "PdsQueue", "PdsDeadLetterQueue", "FhirFunction", "FhirQueue", "FhirDeadLetterQueue"] {
        assert_eq!(template["Resources"][id]["Condition"].as_str(), Some("PdsEnabled"), "{id}");
    }
    // The schedule is an event of the function, so it goes with it.
    assert!(template["Resources"]["PdsFunction"]["Properties"]["Events"].get("ScheduledRefresh").is_some());
}
