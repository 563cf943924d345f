mod batch;
mod hello;
mod keeper;
mod ping;
mod real_processes;
mod real_support;
