//! Unit tests of the node.

use super::*;
use crate::process::Context;
use crate::testing::{Echo, EchoMessage};
use std::collections::HashSet;

/// Records the `exited` events it is given.
#[derive(Default)]
struct Watcher {
    exited: Vec<Pid>,
}

impl Process for Watcher {
    type Message = EchoMessage;
    fn on_message(&mut self, _: Pid, _: EchoMessage, _: &mut Context<'_, Self>) {}
    fn on_exited(&mut self, pid: Pid, _: &mut Context<'_, Self>) {
        self.exited.push(pid);
    }
}

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

/// The flags a termination trusts: a process is `linked` once a link names it, as
/// linker or linkee, and `waited` once someone waits for it; until then neither is set,
/// and its termination leaves the link table and the waiters alone.
#[actix_rt::test]
async fn links_and_waiters_mark_the_processes_they_name() {
    let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().unwrap();
    let flags = |id: &str| {
        let entry = node.inner.processes.get(id).expect("process");
        (entry.linked, entry.waited)
    };
    let linker = node.spawn("linker", Watcher::default()).unwrap();
    let linkee = node.spawn("linkee", Echo::default()).unwrap();
    let loner = node.spawn("loner", Echo::default()).unwrap();
    assert_eq!(flags("linker"), (false, false));
    let to = linkee.pid().clone();
    linker.dispatch(move |_, ctx| ctx.link(&to)).await.unwrap();
    assert_eq!(flags("linker"), (true, false));
    assert_eq!(flags("linkee"), (true, false));
    assert_eq!(flags("loner"), (false, false));
    // A remote link marks its linker.
    let remote = node.spawn("remote-linker", Echo::default()).unwrap();
    node.link(remote.pid(), &"gone@127.0.0.1:1".parse().unwrap(), LinkMode::Normal);
    assert_eq!(flags("remote-linker"), (true, false));
    assert!(!node.inner.links.lock().unregistered_linkers);

    let waiting = {
        let node = node.clone();
        let pid = loner.pid().clone();
        actix_rt::spawn(async move { node.wait(&pid).await })
    };
    while !flags("loner").1 {
        actix_rt::task::yield_now().await;
    }
    node.terminate(loner.pid());
    waiting.await.unwrap();
    node.terminate(linkee.pid());
    node.wait(linkee.pid()).await;
    // The linker was told, through the link the flags kept looked up.
    let exited = linker.dispatch(|p, _| p.exited.clone()).await.unwrap();
    assert_eq!(exited, vec![linkee.pid().clone()]);
    node.shutdown().await;
}

/// A link made by a pid of this node that is no process (yet) makes every termination
/// look in the link table again: the process later spawned under that id leaves the
/// link when it terminates, as if no flag existed, and its linkee's termination tells
/// nobody. Trusting its (unset) flag would leave the link behind.
#[actix_rt::test]
async fn a_linker_that_is_no_process_keeps_terminations_looking() {
    let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().unwrap();
    let linkee = node.spawn("linkee", Echo::default()).unwrap();
    node.link(&node.pid("later"), linkee.pid(), LinkMode::Normal);
    assert!(node.inner.links.lock().unregistered_linkers);
    let later = node.spawn("later", Echo::default()).unwrap();
    node.terminate(later.pid());
    node.wait(later.pid()).await;
    {
        let links = node.inner.links.lock();
        assert!(!links.linkees.contains_key(later.pid()), "the link outlived its linker");
        assert!(links.local[linkee.pid()].is_empty());
    }
    node.shutdown().await;
}
