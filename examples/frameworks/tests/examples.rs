//! Every example framework against a simulated cluster (a real master, fake agents,
//! in-process executors, a paused clock), and against real processes on loopback.

mod cases;
