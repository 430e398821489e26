#!/usr/bin/env bash
# The lint gate (issue #14 item 5): ruff with the rules in pyproject.toml's [tool.ruff.lint], then
# mypy as [tool.mypy] configures it (strict on ballot/ and keys/, mypy's defaults on the rest).
# `ruff format --check` is not part of it: the tree has never been formatted by ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
.venv/bin/ruff check --no-cache . || status=1
.venv/bin/mypy || status=1
exit "$status"
