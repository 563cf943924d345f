//! Compiles the `.proto` files under `proto/` into Rust at build time.
//!
//! `protox` (a pure-Rust protobuf compiler) parses the files into a
//! `FileDescriptorSet`, so no system `protoc` is needed; `prost-build` turns that
//! set into Rust types. The encoded set is also written to `OUT_DIR` so the JSON
//! mapping (`src/json.rs`) can reflect over every message at run time.

use std::path::PathBuf;

use prost::Message as _;

/// Every file compiled, relative to the include root `proto/`. Imports are
/// resolved against the same root, so a new file must be listed here.
const PROTO_FILES: &[&str] = &[
    // package mesos (v0, `Slave` naming) and its sub-packages.
    "mesos/mesos.proto",
    "mesos/allocator/allocator.proto",
    "mesos/authorizer/acls.proto",
    "mesos/maintenance/maintenance.proto",
    "mesos/quota/quota.proto",
    "mesos/scheduler/scheduler.proto",
    // package mesos.internal: libprocess messages and the registry.
    "mesos/internal/messages.proto",
    "mesos/internal/registry.proto",
    // package mesos.internal: v0 authentication (CRAM-MD5 over libprocess).
    "mesos/authentication/authentication.proto",
    // package mesos.v1 (`Agent` naming) and the v1 HTTP APIs.
    "mesos/v1/mesos.proto",
    "mesos/v1/allocator/allocator.proto",
    "mesos/v1/maintenance/maintenance.proto",
    "mesos/v1/quota/quota.proto",
    "mesos/v1/scheduler/scheduler.proto",
    "mesos/v1/executor/executor.proto",
    "mesos/v1/master/master.proto",
    "mesos/v1/agent/agent.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let files: Vec<PathBuf> = PROTO_FILES.iter().map(|f| root.join(f)).collect();
    // Rebuild when any listed file changes (also covers edits to imports,
    // since every imported file is itself listed).
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let descriptors = protox::compile(&files, [&root])?;
    std::fs::write(out_dir.join("descriptors.bin"), descriptors.encode_to_vec())?;

    let mut config = prost_build::Config::new();
    // Every message also implements `prost_reflect::ReflectMessage`, tied to
    // the embedded descriptor pool, so the JSON mapping can walk any message.
    // Names are given without a leading dot: prost-build then matches them by
    // suffix, so an attribute for `mesos.Offer` does not also land on the
    // nested `mesos.Offer.Operation` (a leading dot would match by prefix).
    for name in message_names(&descriptors) {
        config.message_attribute(&name, "#[derive(::prost_reflect::ReflectMessage)]");
        config.message_attribute(
            &name,
            format!(
                r#"#[prost_reflect(descriptor_pool = "crate::DESCRIPTOR_POOL", message_name = "{name}")]"#
            ),
        );
    }
    config
        // Every message implements `prost::Name`: libprocess routes messages
        // by their full protobuf type name.
        .enable_type_names()
        // Map fields become BTreeMaps so encoding is deterministic (a
        // HashMap would encode entries in a different order on every run).
        .btree_map(["."])
        // A `Resource`'s `disk` (888 of its 1,160 bytes, set only on disk resources with
        // a source, a volume or a persistence id) is boxed, so that a `Resource` is
        // about 300 bytes: the master, the allocator and the agent copy, move and grow
        // vectors of resources all the time (a re-registering agent's ten tasks copy
        // about 30 of them; issue 18, FAIL-1).
        .boxed(".mesos.Resource.disk")
        // The same for a `Task`'s container, health check and discovery (1,048 of its
        // 1,344 bytes, often unset): the master keeps every task of every agent, and a
        // new leader decodes and stores 400,000 of them at once in FAIL-1.
        .boxed(".mesos.Task.container")
        .boxed(".mesos.Task.health_check")
        .boxed(".mesos.Task.discovery")
        // One `_includes.rs` nesting the per-package files as Rust modules
        // that mirror the protobuf packages (`mesos::v1::scheduler`).
        .include_file("_includes.rs")
        .compile_fds(descriptors)?;
    Ok(())
}

/// Full names (`mesos.Offer.Operation`) of every message we generate code for:
/// all messages of our files, nested ones included, except the synthetic map
/// entry messages (prost turns those into map fields, not types) and the
/// well-known `google.protobuf` types (prost-types provides those).
fn message_names(set: &prost_types::FileDescriptorSet) -> Vec<String> {
    fn walk(prefix: &str, message: &prost_types::DescriptorProto, out: &mut Vec<String>) {
        let is_map_entry = message.options.as_ref().is_some_and(|o| o.map_entry());
        if is_map_entry {
            return;
        }
        let name = format!("{prefix}.{}", message.name());
        for nested in &message.nested_type {
            walk(&name, nested, out);
        }
        out.push(name);
    }
    let mut out = Vec::new();
    for file in &set.file {
        if file.package().starts_with("google.") {
            continue;
        }
        for message in &file.message_type {
            walk(file.package(), message, &mut out);
        }
    }
    out
}
