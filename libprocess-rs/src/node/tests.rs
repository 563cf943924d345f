//! Unit tests of the node.

use super::*;
use crate::testing::Echo;
use std::collections::HashSet;

/// Every link table entry goes away with the processes: a terminating linker leaves
/// its links through the reverse index (no scan of every link on the node), and a
/// linkee still tells the linkers that are alive.
#[actix_rt::test]
async fn link_tables_are_empty_after_everyone_terminates() {
    let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().unwrap();
    let linkee = node.spawn("linkee", Echo::default()).unwrap();
    let early = node.spawn("early", Echo::default()).unwrap();
    let late = node.spawn("late", Echo::default()).unwrap();
    let remote: Pid = "gone@127.0.0.1:1".parse().unwrap();
    for linker in [&early, &late] {
        let (to, remote) = (linkee.pid().clone(), remote.clone());
        linker
            .dispatch(move |_, ctx| {
                ctx.link(&to);
                ctx.link(&remote);
            })
            .await
            .unwrap();
    }
    {
        let links = node.inner.links.lock();
        assert_eq!(links.linkees.len(), 2);
        assert_eq!(links.local[linkee.pid()].len(), 2);
    }
    node.terminate(early.pid());
    node.wait(early.pid()).await;
    {
        let links = node.inner.links.lock();
        assert_eq!(links.local[linkee.pid()], links::PidSet::from_iter([late.pid().clone()]));
        assert!(!links.linkees.contains_key(early.pid()));
    }
    node.terminate(linkee.pid());
    node.wait(linkee.pid()).await;
    node.terminate(late.pid());
    node.wait(late.pid()).await;
    {
        let links = node.inner.links.lock();
        assert!(links.local.is_empty(), "local links left: {:?}", links.local);
        assert!(links.linkees.is_empty(), "reverse links left: {:?}", links.linkees);
        assert!(links.remote.values().all(|linkees| linkees.values().all(HashSet::is_empty)));
    }
    node.shutdown().await;
}
