#!/usr/bin/env bash
# The test command (README, .ci/run): the lint gate (ruff and mypy, scripts/lint.sh), then the
# whole suite in the project's virtual environment. Arguments go to pytest; PIAOJUE_SKIP_LINT=1
# skips the gate when running a few tests by hand.
set -euo pipefail
cd "$(dirname "$0")"
if [ "${PIAOJUE_SKIP_LINT:-0}" != 1 ]; then
  scripts/lint.sh
fi
exec .venv/bin/python -m pytest -q "$@"
