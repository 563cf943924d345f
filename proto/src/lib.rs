//! Mesos-compatible protobuf definitions (work in progress: see issue "proto").
