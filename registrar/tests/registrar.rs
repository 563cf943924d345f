//! The replicated registry: Mesos's registrar operations, raft clusters of three
//! registrars on a simulated network with a paused clock, sled durability.

mod cases;
