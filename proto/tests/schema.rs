//! Schema conformance: our compiled descriptors list exactly the messages,
//! fields (number, name, label, type, default, oneof, deprecation) and enum
//! values of Apache Mesos 1.11, as listed by `tests/golden/make_golden.py` from
//! Mesos's own generated code (`mesos_schema.txt`) and from Mesos's .proto
//! sources compiled by Google's protoc (`mesos_schema_all.txt`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use mesos_proto::DESCRIPTOR_POOL;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

fn enum_lines(prefix: &str, e: &EnumDescriptorProto, out: &mut Vec<String>) {
    for v in &e.value {
        out.push(format!("E {prefix}.{} {} {}", e.name(), v.name(), v.number()));
    }
}

fn message_lines(prefix: &str, m: &DescriptorProto, out: &mut Vec<String>) {
    let name = format!("{prefix}.{}", m.name());
    let map_entry = m.options.as_ref().is_some_and(|o| o.map_entry());
    out.push(format!("M {name}{}", if map_entry { " map_entry" } else { "" }));
    for f in &m.field {
        let oneof = f
            .oneof_index
            .map(|i| m.oneof_decl[i as usize].name().to_string())
            .unwrap_or_else(|| "-".into());
        let opts = f.options.as_ref();
        out.push(format!(
            "F {name} {} {} label={} type={} type_name={} default={} oneof={oneof} deprecated={} packed={}",
            f.number(),
            f.name(),
            f.label.unwrap_or(0),
            f.r#type.unwrap_or(0),
            f.type_name.as_deref().unwrap_or("-"),
            f.default_value.as_deref().unwrap_or("-"),
            u8::from(opts.is_some_and(|o| o.deprecated())),
            u8::from(opts.is_some_and(|o| o.packed())),
        ));
    }
    for r in &m.reserved_range {
        out.push(format!("R {name} {}-{}", r.start(), r.end()));
    }
    for n in &m.nested_type {
        message_lines(&name, n, out);
    }
    for e in &m.enum_type {
        enum_lines(&name, e, out);
    }
}

/// The same canonical listing make_golden.py writes, for our descriptors.
fn our_listing(keep: impl Fn(&FileDescriptorProto) -> bool) -> BTreeSet<String> {
    let mut out = Vec::new();
    for file in DESCRIPTOR_POOL.file_descriptor_protos() {
        if file.package().starts_with("google.") || !keep(file) {
            continue;
        }
        for m in &file.message_type {
            message_lines(file.package(), m, &mut out);
        }
        for e in &file.enum_type {
            enum_lines(file.package(), e, &mut out);
        }
    }
    out.into_iter().collect()
}

fn golden_listing(file: &str) -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file);
    std::fs::read_to_string(path).expect("schema listing").lines().map(str::to_string).collect()
}

fn report(ours: &BTreeSet<String>, mesos: &BTreeSet<String>) -> String {
    let only_ours: Vec<_> = ours.difference(mesos).collect();
    let only_mesos: Vec<_> = mesos.difference(ours).collect();
    format!("only ours: {only_ours:#?}\nonly Mesos: {only_mesos:#?}")
}

/// Mesos's `--acls` format, compared on its own: the listings above were made from
/// mesos_pb2 and the files we had then, which did not include it.
const ACLS_FILE: &str = "mesos/authorizer/acls.proto";

/// `mesos/authorizer/acls.proto` is identical (names, numbers, labels, types, defaults)
/// to Mesos 1.11's include/mesos/authorizer/acls.proto. `golden/acls_schema.txt` was
/// listed from Mesos's file by a parser independent of ours (see proto/README.md).
#[test]
fn acls_match_mesos() {
    let ours = our_listing(|f| f.name() == ACLS_FILE);
    let mesos = golden_listing("acls_schema.txt");
    assert!(mesos.len() > 200, "listing too small to mean anything");
    assert!(ours == mesos, "{}", report(&ours, &mesos));
}

/// Package `mesos` is identical to Mesos 1.11's generated mesos_pb2.
#[test]
fn package_mesos_matches_mesos_generated_code() {
    let ours = our_listing(|f| f.package() == "mesos" && f.name() != ACLS_FILE);
    let mesos = golden_listing("mesos_schema.txt");
    assert!(mesos.len() > 1000, "listing too small to mean anything");
    assert!(ours == mesos, "{}", report(&ours, &mesos));
}

/// Every kept package is identical to Mesos 1.11's .proto sources, except
/// exactly what proto/README.md says was left out.
#[test]
fn all_packages_match_mesos_sources_except_what_was_left_out() {
    let ours = our_listing(|f| f.name() != ACLS_FILE);
    let mut mesos = golden_listing("mesos_schema_all.txt");
    // Left out (proto/README.md): the resource provider wrapper messages and
    // the registry's resource provider registry (field 9, reserved instead).
    let left_out: Vec<String> = mesos
        .iter()
        .filter(|l| {
            l.contains("mesos.internal.ResourceProviderCallMessage")
                || l.contains("mesos.internal.ResourceProviderEventMessage")
                || l.starts_with("F mesos.internal.Registry 9 resource_provider_registry ")
        })
        .cloned()
        .collect();
    assert_eq!(left_out.len(), 2 + 5 + 1, "left-out lines: {left_out:#?}");
    for line in &left_out {
        mesos.remove(line);
    }
    mesos.insert("R mesos.internal.Registry 9-10".to_string());
    assert!(ours == mesos, "{}", report(&ours, &mesos));
}
