mod agents;
mod bad_input;
mod drf;
mod frameworks;
mod offers;
mod reconciliation;
mod support;
mod tasks;
