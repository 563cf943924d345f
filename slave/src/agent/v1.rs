//! The agent's v1 HTTP APIs share their plumbing with the master's: see
//! [`mesos_proto::http_api`].

pub use mesos_proto::http_api::*;
