#!/usr/bin/env bash
# Lints the SAM template offline with cfn-lint (installed from PyPI into .emulators/lint-venv on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.emulators/lint-venv
if [ ! -x "$venv/bin/cfn-lint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "cfn-lint==1.58.0"
fi
"$venv/bin/cfn-lint" infra/template.yaml
echo "infra/template.yaml: cfn-lint found no problems"
