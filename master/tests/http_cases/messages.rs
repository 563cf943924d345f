//! `/master/messages` and `/master/messages/body`: the master node's message ring.

use serde_json::{Value, json};

use super::support::{Fake, TcpMaster, get};

fn messages(page: &Value) -> Vec<Value> {
    page["messages"].as_array().cloned().unwrap_or_default()
}

/// Nothing is recorded before the first read; after it, an agent's registration shows
/// as `mesos.internal.RegisterSlaveMessage` in and `SlaveRegisteredMessage` out, and
/// the body read back is the `RegisterSlaveMessage` the agent sent, in Mesos's JSON.
#[actix_rt::test]
async fn register_slave_message_is_recorded_and_decoded() {
    let master = TcpMaster::start(|_| {});
    let mut before = Fake::new(&master, "slave(1)");
    before.register_agent("cpus:2;mem:512", "").await;

    let first = get(master.address, "/master/messages").await;
    assert_eq!(first.status, 200);
    let first = first.json();
    assert_eq!(first["node"], master.address.to_string());
    assert!(messages(&first).is_empty(), "nothing was recorded before the first read: {first}");

    let mut agent = Fake::new(&master, "slave(1)");
    agent.register_agent("cpus:4;mem:1024", "rack:a").await;
    let page =
        get(master.address, &format!("/master/messages?after={}", first["next"])).await.json();
    let all = messages(&page);
    let find = |name: &str, direction: &str| {
        all.iter()
            .find(|m| m["name"] == name && m["direction"] == direction)
            .cloned()
            .unwrap_or_else(|| panic!("no {direction} {name} in {page}"))
    };
    let register = find("mesos.internal.RegisterSlaveMessage", "in");
    assert_eq!(register["from"], agent.pid.to_string());
    assert_eq!(register["to"], master.pid.to_string());
    assert!(register["size"].as_u64().is_some_and(|s| s > 0));
    assert!(register["time"].as_f64().is_some_and(|t| t > 1.0e9), "seconds since the epoch");
    let registered = find("mesos.internal.SlaveRegisteredMessage", "out");
    assert_eq!(registered["to"], agent.pid.to_string());
    assert!(registered["seq"].as_u64() > register["seq"].as_u64());
    // Oldest first, numbered without gaps.
    let seqs: Vec<u64> = all.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(page["next"].as_u64(), seqs.last().copied());

    let body = get(master.address, &format!("/master/messages/body?seq={}", register["seq"])).await;
    assert_eq!(body.status, 200);
    let body = body.json();
    assert_eq!(body["name"], "mesos.internal.RegisterSlaveMessage");
    assert_eq!(body["seq"], register["seq"]);
    let slave = &body["body"]["slave"];
    assert_eq!(slave["hostname"], "agent-host");
    assert_eq!(slave["port"], 5051);
    let cpus = slave["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "cpus"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(cpus["scalar"], json!({ "value": 4.0 }));
    assert_eq!(slave["attributes"][0]["name"], "rack");
    assert_eq!(body["body"]["version"], "1.11.0");

    assert_eq!(get(master.address, "/master/messages/body?seq=999999").await.status, 404);
    assert_eq!(get(master.address, "/master/messages?limit=lots").await.status, 400);
}
