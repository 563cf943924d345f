//! Integration tests of the agent (one binary; the cases live in `cases/`).

mod cases;
