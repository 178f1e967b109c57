"""Deploys infra/template.yaml to LocalStack's CloudFormation as stack mavis-local, then writes stack.env.

Usage (scripts/localstack up runs it with the LocalStack venv's python): deploy.py TEMPLATE STACK_ENV

The SAM template is translated offline (as shared/spec/local-aws.md §1.5 does for linting) so that what only exists to
run or trigger functions can be dropped: LocalStack cannot run Lambda without Docker, and the functions run under
`cargo lambda watch` on the host instead. The rest is deployed as written, but for DeletionPolicy/UpdateReplacePolicy
Retain (which would leave orphans behind a recreated stack); what LocalStack's providers accept without applying is then
set through the service APIs. A changed template or parameter set recreates the stack rather than updating it, because
LocalStack reports bucket and table updates complete without making them.

Parameters: each template parameter P takes env MAVIS_LOCAL_<P in UPPER_SNAKE> when set (e.g. NhsApiBaseUrl from
MAVIS_LOCAL_NHS_API_BASE_URL, OidcJwksUrl from MAVIS_LOCAL_OIDC_JWKS_URL), else LOCAL_DEFAULTS, else its Default.
"""

import hashlib
import json
import os
import re
import sys
import time
import urllib.request

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")  # the translator builds ARNs for this region
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")

import boto3  # noqa: E402

# The same offline SAM translation as the template lint.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "template"))
from sam2cfn import translate  # noqa: E402

STACK = "mavis-local"
REGION = os.environ["AWS_DEFAULT_REGION"]
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
DIGEST_TAG = "mavis-local:template-sha256"
DEADLINE_SECONDS = 300

# Required parameters with no Default; nothing deployed here uses them (only the api function did).
LOCAL_DEFAULTS = {
    "OidcJwksUrl": "http://127.0.0.1:9/oidc/jwks.json",
    "OidcIssuer": "http://127.0.0.1:9/oidc",
    "OidcAudience": "mavis-local",
}

# Why each kind of resource goes: the first matching prefix wins.
DROP_TYPES = [
    ("AWS::Lambda::Function", "a function: LocalStack cannot run it without Docker; run it with cargo lambda watch"),
    ("AWS::Lambda::", "belongs to a function, which is not deployed here"),
    ("AWS::ApiGatewayV2::", "the HTTP API in front of the api function, which serves HTTP under cargo lambda watch"),
    ("AWS::Events::Rule", "a schedule that invokes a function; invoke it by hand"),
    ("AWS::Scheduler::", "a schedule that invokes a function; invoke it by hand"),
    ("AWS::Logs::", "a function's log group; under cargo lambda watch the logs go to its output"),
]

# Logical ids whose physical name or URL the functions read from these variables.
ENV_VARS = [
    ("MAVIS_TABLE_NAME", "RecordsTable"),
    ("MAVIS_BUCKET_NAME", "UploadsBucket"),
    ("MAVIS_OBJECT_EVENTS_QUEUE_URL", "ObjectEventsQueue"),
    ("MAVIS_OBJECT_EVENTS_DEAD_LETTER_QUEUE_URL", "ObjectEventsDeadLetterQueue"),
    ("MAVIS_PDS_QUEUE_URL", "PdsQueue"),
    ("MAVIS_PDS_DEAD_LETTER_QUEUE_URL", "PdsDeadLetterQueue"),
    ("MAVIS_FHIR_QUEUE_URL", "FhirQueue"),
    ("MAVIS_FHIR_DLQ_URL", "FhirDeadLetterQueue"),
]


def refs(node):
    """Logical ids that node refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, list):
        return set().union(*map(refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0] if isinstance(value, list) else value.split(".")[0])
        elif key == "Fn::Sub":
            text, own = (value[0], value[1]) if isinstance(value, list) else (value, {})
            found |= {m for m in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text) if m not in own}
            found |= refs(own)
        else:
            found |= refs(value)
    return found


def unsupported(resources):
    """Why LocalStack cannot create each resource it cannot, by its own CloudFormation providers and services.

    LocalStack's own check needs a support catalog from the internet; offline it refuses every type, so
    scripts/localstack leaves that check off and this one stands in for it.
    """
    from localstack.services.cloudformation.cfn_utils import get_service_name
    from localstack.services.cloudformation.resource_provider import plugin_manager

    providers = set(plugin_manager.list_names())
    with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=5) as r:
        services = json.load(r)["services"]
    why = {}
    for name, res in resources.items():
        service = get_service_name(res["Type"])
        if res["Type"] not in providers:
            why[name] = "LocalStack (community, 2026.3.0) has no CloudFormation provider for this type"
        elif services.get(service, "disabled") == "disabled":
            sys.exit(f"{name} ({res['Type']}) needs service {service}: add it to SERVICES in scripts/localstack")
    return why


def drop_function_plumbing(cfn):
    """Removes from cfn what only runs or triggers functions, what LocalStack cannot create, and what leans on those;
    returns one line for each, saying why."""
    resources = cfn["Resources"]
    dropped = {}
    for name, res in resources.items():
        reason = next((why for prefix, why in DROP_TYPES if res["Type"].startswith(prefix)), None)
        if reason:
            dropped[name] = reason
    dropped |= unsupported({n: r for n, r in resources.items() if n not in dropped})
    # Then whatever leans on something dropped, and the roles that only dropped resources assume (the functions'
    # execution roles), until nothing changes.
    while True:
        kept = {n: r for n, r in resources.items() if n not in dropped}
        uses = {n: refs(r) - {n} for n, r in resources.items()}
        more = {}
        for name, res in kept.items():
            gone = sorted(uses[name] & dropped.keys())
            users = [n for n, u in uses.items() if name in u]
            if gone:
                more[name] = f"refers to dropped {', '.join(gone)}"
            elif res["Type"] == "AWS::IAM::Role" and users and all(u in dropped for u in users):
                more[name] = f"execution role of dropped {', '.join(sorted(users))}"
        if not more:
            break
        dropped.update(more)
    notes = [f"dropped {name} ({resources.pop(name)['Type']}): {reason}" for name, reason in dropped.items()]
    for name, res in resources.items():
        # Retained resources would outlive a recreated stack: an orphan table, and a named bucket that LocalStack then
        # silently adopts with its old objects.
        retain = [p for p in ("DeletionPolicy", "UpdateReplacePolicy") if res.get(p, "").startswith("Retain")]
        if retain:
            notes.append(f"not applied to {name}: {' and '.join(f'{p} {res.pop(p)}' for p in retain)}")
        if "DependsOn" in res:
            deps = res.pop("DependsOn")
            deps = [d for d in ([deps] if isinstance(deps, str) else deps) if d not in dropped]
            if deps:
                res["DependsOn"] = deps
    for name, out in list(cfn.get("Outputs", {}).items()):
        gone = sorted(refs(out) & dropped.keys())
        if gone:
            del cfn["Outputs"][name]
            notes.append(f"dropped output {name}: refers to dropped {', '.join(gone)}")
    return notes


def lifecycle_rule(rule):
    """A CloudFormation LifecycleConfiguration rule in PutBucketLifecycleConfiguration's shape."""
    out = {"ID": rule.get("Id", ""), "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": rule["ExpirationInDays"]}
    for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if key in rule:
            out[key] = rule[key]
    unknown = set(rule) - {"Id", "Status", "Prefix", "ExpirationInDays", *out}
    if unknown:
        raise ValueError(f"rule {out['ID']}: no mapping here for {', '.join(sorted(unknown))}")
    return out


def apply_ignored_properties(cfn, physical):
    """Sets by hand what LocalStack's resource providers (2026.3.0) accept but do not apply; a line for each."""
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name=REGION)
    ddb = boto3.client("dynamodb", endpoint_url=ENDPOINT, region_name=REGION)
    fixes = {  # (type, property): how to apply its value to the physical resource
        ("AWS::S3::Bucket", "LifecycleConfiguration"): lambda bucket, value: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [lifecycle_rule(r) for r in value["Rules"]]}),
        ("AWS::S3::Bucket", "BucketEncryption"): lambda bucket, value: s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                 **{k: v for k, v in r.items() if k == "BucketKeyEnabled"}}
                for r in value["ServerSideEncryptionConfiguration"]]}),
        ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"): lambda bucket, value: s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=value),
        ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): lambda table, value:
            ddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification=value),
    }
    notes = []
    for name, res in cfn["Resources"].items():
        props = res.get("Properties", {})
        for (kind, prop), fix in fixes.items():
            if res["Type"] != kind or prop not in props:
                continue
            try:
                fix(physical[name], props[prop])
                notes.append(f"{name}.{prop}: LocalStack's {kind} provider ignores it; set directly")
            except Exception as e:  # e.g. an intrinsic function in the value: say so, deploy the rest
                notes.append(f"{name}.{prop}: LocalStack's {kind} provider ignores it, and setting it failed: {e}")
        if res["Type"] == "AWS::S3::Bucket" and "AccessControl" not in props:
            s3.put_bucket_acl(Bucket=physical[name], ACL="private")
            notes.append(f"{name}: LocalStack's provider creates it public-read, not private as AWS does; set private")
    return notes


def parameters(cfn):
    values = []
    for name, spec in cfn.get("Parameters", {}).items():
        env = "MAVIS_LOCAL_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()
        value = os.environ.get(env, LOCAL_DEFAULTS.get(name, spec.get("Default")))
        if value is not None:
            values.append({"ParameterKey": name, "ParameterValue": str(value)})
    return values


def describe(cfn_client):
    try:
        stack = cfn_client.describe_stacks(StackName=STACK)["Stacks"][0]
    except cfn_client.exceptions.ClientError as e:
        if "does not exist" in str(e):
            return None
        raise
    return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack


def wait(cfn_client, verb):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        stack = describe(cfn_client)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.5)
    sys.exit(f"stack {STACK}: no end to {verb} within {DEADLINE_SECONDS}s")


def failure_reasons(cfn_client):
    events = cfn_client.describe_stack_events(StackName=STACK)["StackEvents"]
    return [
        f"  {e['LogicalResourceId']} ({e['ResourceType']}) {e['ResourceStatus']}: {e.get('ResourceStatusReason', '')}"
        for e in reversed(events)
        if "FAILED" in e["ResourceStatus"] or "ROLLBACK" in e["ResourceStatus"]
    ]


def delete(cfn_client):
    # LocalStack's bucket provider empties a bucket before deleting it, but leaves the old versions of a versioned
    # one, and then the delete fails.
    s3 = boto3.resource("s3", endpoint_url=ENDPOINT, region_name=REGION)
    for res in cfn_client.describe_stack_resources(StackName=STACK)["StackResources"]:
        if res["ResourceType"] == "AWS::S3::Bucket" and res.get("PhysicalResourceId"):
            try:
                s3.Bucket(res["PhysicalResourceId"]).object_versions.delete()
            except s3.meta.client.exceptions.NoSuchBucket:
                pass
    cfn_client.delete_stack(StackName=STACK)
    if wait(cfn_client, "delete") != "DELETE_COMPLETE":
        sys.exit("\n".join([f"stack {STACK}: delete failed"] + failure_reasons(cfn_client)))


def deploy(cfn, params, notes):
    """Creates the stack unless it is there as cfn and params would make it; returns the client, or None if it was."""
    client = boto3.client("cloudformation", endpoint_url=ENDPOINT, region_name=REGION)
    body = json.dumps(cfn, sort_keys=True)
    digest = hashlib.sha256((body + json.dumps(params, sort_keys=True)).encode()).hexdigest()
    wait(client, "the last change")
    stack = describe(client)
    if stack:
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
        if stack["StackStatus"] == "CREATE_COMPLETE" and tags.get(DIGEST_TAG) == digest:
            print(f"stack {STACK}: CREATE_COMPLETE, already up to date")
            return None
        # Not updated in place: LocalStack reports an update of AWS::S3::Bucket or AWS::DynamoDB::Table complete
        # while it applies nothing ("the update operation is not implemented" in its log). Local data is disposable.
        why = "template or parameters changed" if stack["StackStatus"] == "CREATE_COMPLETE" else stack["StackStatus"]
        print(f"stack {STACK}: {why}; deleting it to create it afresh (its data goes with it)")
        delete(client)
    print(f"left out of the local stack ({len(notes)}):")
    print("\n".join(f"  {note}" for note in notes))
    print(f"stack {STACK}: creating")
    t0 = time.monotonic()
    client.create_stack(StackName=STACK, TemplateBody=body, Parameters=params,
                        Tags=[{"Key": DIGEST_TAG, "Value": digest}],
                        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    status = wait(client, "create")
    if status != "CREATE_COMPLETE":
        sys.exit("\n".join([f"stack {STACK}: create ended {status}"] + failure_reasons(client)))
    print(f"stack {STACK}: CREATE_COMPLETE in {time.monotonic() - t0:.1f} s")
    return client


def physical_ids(client):
    return {r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in client.describe_stack_resources(StackName=STACK)["StackResources"]}


def write_env(client, path):
    physical = physical_ids(client)
    sqs = boto3.client("sqs", endpoint_url=ENDPOINT, region_name=REGION)
    # AWS_REGION for the Rust SDK, AWS_DEFAULT_REGION for boto3 and the aws CLI.
    lines = [f"export AWS_ENDPOINT_URL={ENDPOINT}", f"export AWS_REGION={REGION}",
             f"export AWS_DEFAULT_REGION={REGION}", "export AWS_ACCESS_KEY_ID=test",
             "export AWS_SECRET_ACCESS_KEY=test"]
    queues = {logical for logical, kind in resource_types(client).items() if kind == "AWS::SQS::Queue"}
    for logical in queues:
        # CloudFormation's physical id of a queue is its URL; ask SQS so the form is the path one it serves.
        physical[logical] = sqs.get_queue_url(QueueName=physical[logical].rstrip("/").rsplit("/", 1)[-1])["QueueUrl"]
    for var, logical in ENV_VARS:
        if logical in physical:  # else left out by a template Condition
            lines.append(f"export {var}={physical[logical]}")
    write_atomically(path, "\n".join(lines) + "\n")
    # For the event-source runner (infra/lambda-event-sources): where each queue of the template is.
    write_atomically(os.path.join(os.path.dirname(path), "resources.json"), json.dumps(physical, indent=1))


def resource_types(client):
    return {r["LogicalResourceId"]: r["ResourceType"]
            for r in client.describe_stack_resources(StackName=STACK)["StackResources"]}


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    template, env_path = sys.argv[1:3]
    cfn = translate(template)
    notes = drop_function_plumbing(cfn)
    client = deploy(cfn, parameters(cfn), notes)
    if client:
        print("worked around:")
        print("\n".join(f"  {note}" for note in apply_ignored_properties(cfn, physical_ids(client))))
    write_env(client or boto3.client("cloudformation", endpoint_url=ENDPOINT, region_name=REGION), env_path)


if __name__ == "__main__":
    main()
