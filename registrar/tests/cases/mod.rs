//! Test cases of the registrar.

mod binary;
mod cluster;
mod durability;
mod membership;
mod model;
mod operations;
mod support;
