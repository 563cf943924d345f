//! Integration tests of the framework SDK: the scheduler driver against a real master on
//! a simulated network, the executor driver against a fake agent, `mesos-execute`, and
//! real processes on loopback.

mod cases;
