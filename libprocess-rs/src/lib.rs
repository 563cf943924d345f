//! libprocess-rs (work in progress).
