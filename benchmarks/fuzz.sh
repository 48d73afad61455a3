#!/usr/bin/env bash
# A long, randomized Schemathesis fuzz of every mounted surface: the contract tests of
# tests/contract/ with AGENTYARD_FUZZ_EXAMPLES random examples per operation (default 500)
# and a fresh seed each run, instead of CI's bounded deterministic set. Prints pytest's
# report; any failure names the operation and the request that broke it.
#
#   bash benchmarks/fuzz.sh            # ~500 examples per operation, SQLite + PostgreSQL/Redis if set
#   AGENTYARD_FUZZ_EXAMPLES=2000 bash benchmarks/fuzz.sh -k harnesslayer
set -euo pipefail
cd "$(dirname "$0")/.."
export AGENTYARD_FUZZ_EXAMPLES="${AGENTYARD_FUZZ_EXAMPLES:-500}"
exec .venv/bin/python -m pytest -p no:randomly -q tests/contract -k "schemathesis" "$@"
