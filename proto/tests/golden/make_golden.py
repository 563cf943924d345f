#!/usr/bin/env python3
"""Writes the golden protobuf encodings that proto/tests/golden.rs compares with.

Each case of cases.json (a message type and its content in Mesos's JSON) is built
with Google's Python protobuf runtime from *Mesos's own* generated code or
schema, and serialized; the Rust test must produce the same bytes.

Sources of Mesos's schema:
  * package `mesos`: the generated module `mesos.interface.mesos_pb2` of the
    PyPI package mesos.interface 1.11.0, installed by scripts/test-setup.sh.
  * every other package (v1 APIs, mesos.internal, registry): only with
    --mesos-fds FILE, a FileDescriptorSet compiled by Google's protoc from
    Apache Mesos 1.11.0's own .proto sources (no PyPI package ships them). Without
    it those cases are skipped here (their committed .bin files stay as made).

It also writes schema listings (one line per message, field, enum value):
  * mesos_schema.txt from mesos_pb2's descriptor (package `mesos`),
  * mesos_schema_all.txt from --mesos-fds (all packages we keep), if given.
The Rust test compares them with our own descriptors.

Usage: make_golden.py [--mesos-fds FILE] [--out DIR] [--check]
  --check: write into a temporary directory and fail if anything that could be
           regenerated differs from the committed files in DIR.
"""

import argparse
import filecmp
import json
import os
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))


def mesos_pb2_classes():
    from mesos.interface import mesos_pb2  # noqa: the installed Mesos code

    fdp = descriptor_pb2.FileDescriptorProto()
    mesos_pb2.DESCRIPTOR.CopyToProto(fdp)
    return mesos_pb2, fdp


def lookup_v0(mesos_pb2, full_name):
    """A class of mesos_pb2 by full name, e.g. mesos.Offer.Operation."""
    parts = full_name.split(".")
    assert parts[0] == "mesos"
    obj = mesos_pb2
    for part in parts[1:]:
        obj = getattr(obj, part)
    return obj


def listing(files, packages=None):
    """Canonical schema lines for the messages and enums of `files`."""
    lines = []

    def enum_lines(prefix, enum):
        for v in enum.value:
            lines.append(f"E {prefix}.{enum.name} {v.name} {v.number}")

    def msg_lines(prefix, msg):
        name = f"{prefix}.{msg.name}"
        lines.append(f"M {name}{' map_entry' if msg.options.map_entry else ''}")
        for f in msg.field:
            oneof = msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else "-"
            lines.append(
                f"F {name} {f.number} {f.name} label={f.label} type={f.type} "
                f"type_name={f.type_name or '-'} default={f.default_value if f.HasField('default_value') else '-'} "
                f"oneof={oneof} deprecated={int(f.options.deprecated)} packed={int(f.options.packed)}"
            )
        for r in msg.reserved_range:
            lines.append(f"R {name} {r.start}-{r.end}")
        for n in msg.nested_type:
            msg_lines(name, n)
        for e in msg.enum_type:
            enum_lines(name, e)

    for fdp in files:
        if packages is not None and fdp.package not in packages:
            continue
        for m in fdp.message_type:
            msg_lines(fdp.package, m)
        for e in fdp.enum_type:
            enum_lines(fdp.package, e)
    return "\n".join(sorted(lines)) + "\n"


# Packages this project keeps (see proto/README.md for what is left out).
KEPT = {
    "mesos", "mesos.allocator", "mesos.maintenance", "mesos.quota", "mesos.scheduler", "mesos.internal",
    "mesos.v1", "mesos.v1.allocator", "mesos.v1.maintenance", "mesos.v1.quota", "mesos.v1.scheduler",
    "mesos.v1.executor", "mesos.v1.master", "mesos.v1.agent",
}


def generate(out_dir, fds_path):
    os.makedirs(out_dir, exist_ok=True)
    cases = json.load(open(os.path.join(HERE, "cases.json")))
    mesos_pb2, mesos_fdp = mesos_pb2_classes()
    with open(os.path.join(out_dir, "mesos_schema.txt"), "w") as f:
        f.write(listing([mesos_fdp]))

    factory_lookup = None
    if fds_path:
        fds = descriptor_pb2.FileDescriptorSet()
        with open(fds_path, "rb") as f:
            fds.ParseFromString(f.read())
        pool = descriptor_pool.DescriptorPool()
        for fdp in fds.file:
            pool.Add(fdp)
        factory = message_factory.MessageFactory(pool)

        def factory_lookup(name):
            return factory.GetPrototype(pool.FindMessageTypeByName(name))

        with open(os.path.join(out_dir, "mesos_schema_all.txt"), "w") as f:
            f.write(listing(fds.file, KEPT))

    written = []
    for case in cases:
        name, type_name = case["name"], case["type"]
        # `mesos.<Upper>...` is package `mesos` (mesos_pb2); `mesos.<lower>.` is a sub-package.
        if type_name.split(".")[1][0].isupper():
            cls = lookup_v0(mesos_pb2, type_name)
        elif factory_lookup is not None:
            cls = factory_lookup(type_name)
        else:
            print(f"skip {name} ({type_name}): needs --mesos-fds", file=sys.stderr)
            continue
        msg = json_format.ParseDict(case["json"], cls())
        data = msg.SerializeToString(deterministic=True)
        with open(os.path.join(out_dir, f"{name}.bin"), "wb") as f:
            f.write(data)
        written.append(f"{name}.bin")
    written.append("mesos_schema.txt")
    if fds_path:
        written.append("mesos_schema_all.txt")
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesos-fds")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.check:
        written = generate(args.out, args.mesos_fds)
        print(f"wrote {len(written)} files to {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        written = generate(tmp, args.mesos_fds)
        bad = [n for n in written
               if not os.path.exists(os.path.join(args.out, n))
               or not filecmp.cmp(os.path.join(tmp, n), os.path.join(args.out, n), shallow=False)]
        if bad:
            print("golden files differ from what Mesos's code produces: " + ", ".join(bad), file=sys.stderr)
            return 1
        print(f"golden check: {len(written)} files regenerated from Mesos's code, all identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
