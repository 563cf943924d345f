//! Test cases of the registrar.

mod cluster;
mod durability;
mod operations;
mod support;
