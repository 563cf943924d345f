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
const PROTO_FILES: &[&str] = &["mesos/mesos.proto", "mesos/v1/mesos.proto"];

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

    prost_build::Config::new()
        // Every message implements `prost::Name`: libprocess routes messages
        // by their full protobuf type name.
        .enable_type_names()
        // One `_includes.rs` nesting the per-package files as Rust modules
        // that mirror the protobuf packages (`mesos::v1::scheduler`).
        .include_file("_includes.rs")
        .compile_fds(descriptors)?;
    Ok(())
}
