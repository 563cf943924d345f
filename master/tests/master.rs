//! Scenario tests of the master on a simulated network with a paused clock: fake agents
//! and schedulers speak Mesos's protocol to the real master and allocator.

mod cases;
