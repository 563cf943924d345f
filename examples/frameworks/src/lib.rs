//! Example frameworks.
