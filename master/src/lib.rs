//! The Mesos master (work in progress: see issue "Master").
