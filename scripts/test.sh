#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, checks formatting and clippy,
# then `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test prerequisites (Python venvs under target/: Mesos's generated protobuf code for the
# proto golden tests, pymesos for the whole-cluster tests).
scripts/test-setup.sh
# The tree is formatted (rustfmt.toml) and clippy-clean, warnings included; CI fails otherwise.
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The proto golden files must be what Mesos's own generated code produces today.
target/golden-venv/bin/python proto/tests/golden/make_golden.py --check
# Every library, binary, integration test and example; benchmarks are only compiled here
# (they measure, they do not test: run them with `cargo bench`).
cargo test --workspace --lib --bins --tests --examples
cargo test --workspace --benches --no-run
cargo test --workspace --doc
