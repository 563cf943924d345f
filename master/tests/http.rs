//! The master's HTTP endpoints, metrics and the `mesos-master` binary, over real TCP on
//! loopback: a master runs on its own thread, fake agents and schedulers speak Mesos's
//! protocol to it, and a small HTTP client checks each endpoint's JSON.

mod http_cases;
