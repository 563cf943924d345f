//! Type names, defaults and presence of the generated code.

use mesos_proto::mesos;
use prost::{Message, Name};

/// Every message knows its protobuf full type name, which libprocess uses as
/// the wire name of the message; nested messages join names with dots.
#[test]
fn full_type_names_follow_mesos_packages() {
    assert_eq!(mesos::FrameworkInfo::full_name(), "mesos.FrameworkInfo");
    assert_eq!(mesos::v1::AgentInfo::full_name(), "mesos.v1.AgentInfo");
    assert_eq!(mesos::offer::operation::Launch::full_name(), "mesos.Offer.Operation.Launch");
    assert_eq!(mesos::v1::TaskStatus::type_url(), "/mesos.v1.TaskStatus");
}

/// proto2 defaults from the .proto files show through the getters, and an
/// unset optional field is absent (not its default) after a round trip.
// `role` is deprecated in Mesos (replaced by `roles`) but still on the wire.
#[allow(deprecated)]
#[test]
fn proto2_defaults_and_presence() {
    let info =
        mesos::FrameworkInfo { user: "root".into(), name: "fw".into(), ..Default::default() };
    assert_eq!(info.failover_timeout(), 0.0);
    assert!(!info.checkpoint());
    assert_eq!(info.role(), "*");
    let decoded = mesos::FrameworkInfo::decode(info.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded.role, None);
    assert_eq!(decoded, info);
    let filters = mesos::Filters::default();
    assert_eq!(filters.refuse_seconds(), 5.0);
}
