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

/// Singular message fields kept behind a `Box` (under both `mesos.` and `mesos.v1.`).
///
/// prost lays a sub-message out inline, so a `Resource` was 1,160 bytes because of its
/// `DiskInfo` (888 bytes, absent on all but disk resources), and a `Task` 1,344 bytes
/// because of its `ContainerInfo`, `HealthCheck` and `DiscoveryInfo`. Every decode
/// writes those bytes, every clone and move copies them, and a master holding 400,000
/// tasks (FAIL-1) keeps them: about 5 KB per task of which nearly all is zeros. Boxed,
/// an absent field costs 8 bytes. Mesos's C++ protobufs do the same for every
/// sub-message (a pointer, allocated when set).
const BOXED: &[&str] = &["Resource.disk", "Task.container", "Task.discovery", "Task.health_check"];

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
    for path in BOXED {
        config.boxed(format!(".mesos.{path}"));
        config.boxed(format!(".mesos.v1.{path}"));
    }
    config
        // Every message implements `prost::Name`: libprocess routes messages
        // by their full protobuf type name.
        .enable_type_names()
        // Map fields become BTreeMaps so encoding is deterministic (a
        // HashMap would encode entries in a different order on every run).
        .btree_map(["."])
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
