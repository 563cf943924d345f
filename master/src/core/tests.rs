//! Transcript tests of the master core.
