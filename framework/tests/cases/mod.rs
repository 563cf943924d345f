mod authentication;
mod execute;
mod executor_driver;
mod real_processes;
mod scheduler_driver;
mod scheduler_faults;
mod support;
