//! The scheduler driver authenticating with CRAM-MD5 against a real master that
//! requires it (`--authenticate_frameworks`), on a simulated network.

use mesos_framework::scheduler::{DriverStatus, Event};
use mesos_framework::testing::{AgentConfig, Cluster};
use mesos_master::authentication::AuthenticationConfig;
use mesos_security::{Credential, Credentials};

use super::support::{Recorder, config, start, wait_for};

fn secured() -> Cluster {
    Cluster::start_with(|options| {
        options.authentication = AuthenticationConfig {
            authenticate_frameworks: true,
            authenticate_agents: false,
            credentials: Some(Credentials::parse("ops s3cret\n").unwrap()),
            timeout: mesos_security::cram_md5::AUTHENTICATION_V0_TIMEOUT,
        };
    })
}

fn credential(secret: &str) -> Option<Credential> {
    Some(Credential { principal: "ops".into(), secret: secret.into() })
}

/// Mesos: AuthenticationTest.AuthenticatedFramework — a driver with the right credential
/// authenticates, subscribes (its principal recorded by the master) and gets offers.
#[actix_rt::test]
async fn driver_with_credential_subscribes() {
    let cluster = secured();
    let _agent = cluster.agent(AgentConfig::new("cpus:1;mem:128"));
    let mut config = config(vec![cluster.master_pid()]);
    config.credential = credential("s3cret");
    let (_node, handle) = start(&cluster, config, Recorder::holding());
    assert!(wait_for(&cluster, &handle, |e| matches!(e, Event::Offers(_))).await);
    let principals = cluster
        .master
        .master
        .dispatch(|m, _| {
            m.core().frameworks().map(|f| f.info.principal.clone()).collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert_eq!(principals, vec![Some("ops".to_string())]);
}

/// Mesos: AuthenticationTest.InvalidCredentials — a wrong secret: the driver aborts with
/// "Master refused authentication" and never registers.
#[actix_rt::test]
async fn driver_with_wrong_secret_aborts() {
    let cluster = secured();
    let mut config = config(vec![cluster.master_pid()]);
    config.credential = credential("guess");
    let (_node, mut handle) = start(&cluster, config, Recorder::holding());
    cluster.settle().await;
    let (scheduler, status) = handle.join().await.unwrap();
    assert_eq!(scheduler.events, vec![Event::Error("Master refused authentication".into())]);
    assert_eq!(status, DriverStatus::Aborted { message: "Master refused authentication".into() });
}

/// Mesos: AuthenticationTest.UnauthenticatedFramework — no credential: the master
/// refuses the subscription and the driver reports the error.
#[actix_rt::test]
async fn driver_without_credential_is_refused() {
    let cluster = secured();
    let (_node, mut handle) =
        start(&cluster, config(vec![cluster.master_pid()]), Recorder::holding());
    cluster.settle().await;
    let (scheduler, _) = handle.join().await.unwrap();
    let events = scheduler.events;
    assert!(
        matches!(&events[..], [Event::Error(m)] if m.contains("is not authenticated")),
        "{events:?}"
    );
}
