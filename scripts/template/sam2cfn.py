"""Translates the SAM template into plain CloudFormation offline, as `sam validate` does, so that cfn-lint can check
what SAM generates (event source mappings, roles, permissions) and LocalStack can deploy it.

Usage: sam2cfn.py TEMPLATE OUT.json. Exits 2 with the translator's reasons when the template does not translate."""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs by name; offline there are none, and policy templates such as
    SQSSendMessagePolicy need none."""

    def load(self):
        return {}


def translate(source):
    """The template at `source` as plain CloudFormation; exits 2 with the reasons when it does not translate."""
    with open(source) as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        # Local code folders are uploaded by `sam build`/`sam deploy`; the translation only needs a location.
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = "s3://dummy-bucket/dummy.zip"
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"{source}: {cause.message}", file=sys.stderr)
        sys.exit(2)
    return translated


def main(source, target):
    translated = translate(source)
    with open(target, "w") as f:
        json.dump(translated, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
