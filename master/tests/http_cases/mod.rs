mod binary;
mod endpoints;
mod metrics;
mod state;
mod support;
mod web_ui;
