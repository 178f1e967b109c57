#!/usr/bin/env bash
# Checks the SAM template offline: cfn-lint on the template, then the SAM translation (which catches event-source
# errors that cfn-lint alone misses, shared/spec/local-aws.md §2.6) and cfn-lint again on what it generates. The tools
# come from PyPI into .emulators/lint-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.emulators/lint-venv
if ! "$venv/bin/python" -c "import cfnlint, samtranslator" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "cfn-lint==1.58.0" "aws-sam-translator==1.115.0"
fi
out=.emulators/template
mkdir -p "$out"
"$venv/bin/cfn-lint" infra/template.yaml
"$venv/bin/python" scripts/template/sam2cfn.py infra/template.yaml "$out/cloudformation.json"
"$venv/bin/cfn-lint" "$out/cloudformation.json"
echo "infra/template.yaml: the SAM translation and cfn-lint found no problems"
