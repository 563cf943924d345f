#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, then `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
