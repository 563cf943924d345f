//! Integration tests of libprocess-rs (one binary; the cases live in `cases/`).

mod cases;
