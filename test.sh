#!/usr/bin/env bash
# The test command (README, .ci/run): the whole suite in the project's virtual environment.
set -euo pipefail
cd "$(dirname "$0")"
exec .venv/bin/python -m pytest -q "$@"
