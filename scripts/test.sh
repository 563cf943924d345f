#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, then `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test prerequisites (a Python venv with Mesos's generated protobuf code, under target/).
scripts/test-setup.sh
# The proto golden files must be what Mesos's own generated code produces today.
target/golden-venv/bin/python proto/tests/golden/make_golden.py --check
cargo test --workspace --all-targets
cargo test --workspace --doc
