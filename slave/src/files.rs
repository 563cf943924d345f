//! `/files/*` and the files of `LIST_FILES`/`READ_FILE`: the shared `mesos-files` crate
//! (moved there so the master serves its log with the same code).

pub use mesos_files::*;
