mod binary;
mod endpoints;
mod messages;
mod metrics;
mod state;
mod support;
mod web_ui;
