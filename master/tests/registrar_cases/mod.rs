//! Test cases of the registrar.

mod cluster;
mod durability;
mod model;
mod operations;
mod support;
