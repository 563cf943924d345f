//! The master's log at `/master/log` (`--log_dir`): `/files/read`, `/files/download`,
//! `/files/browse` and the v1 `LIST_FILES`/`READ_FILE` serve it, and the
//! `access_mesos_logs` ACL guards it (Mesos: master.cpp `files->attach(log,
//! "/master/log", authorize)`, `authorizeLogAccess`). The log file here is one the test
//! writes behind a `mesos-master.INFO` symlink, as `--log_dir` makes.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::http::Response;
use mesos_security::{Authorizer, Principal};
use serde_json::{Value, json};

use super::support::Cluster;

/// A log folder with `mesos-master.INFO` linking to a file holding `text`.
struct LogDir(PathBuf);

impl LogDir {
    fn new(name: &str, text: &str) -> LogDir {
        let dir = std::env::temp_dir().join(format!("master-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mesos-master.host.user.log.INFO.20260101-000000.1");
        std::fs::write(&file, text).unwrap();
        std::os::unix::fs::symlink(&file, dir.join("mesos-master.INFO")).unwrap();
        LogDir(dir)
    }

    fn link(&self) -> PathBuf {
        self.0.join("mesos-master.INFO")
    }
}

impl Drop for LogDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn request(
    cluster: &Cluster,
    method: Method,
    path: &str,
    principal: Option<&str>,
    body: Value,
) -> Response {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Bytes::from(if body.is_null() { String::new() } else { body.to_string() }))
        .unwrap();
    if let Some(principal) = principal {
        request.extensions_mut().insert(Principal(principal.into()));
    }
    cluster.node.handle_http(request).await
}

async fn body_json(response: Response) -> Value {
    serde_json::from_slice(&response.into_body().into_bytes().await).unwrap()
}

const READ: &str = "/files/read?path=/master/log&offset=0";

fn read_file_call() -> Value {
    json!({"type": "READ_FILE", "read_file": {"path": "/master/log", "offset": 6}})
}

/// Every way of reading the log serves it; without `--log_dir` the path is 404 and no
/// answer is 501.
#[actix_rt::test]
async fn master_log_is_served_at_master_log() {
    let log = LogDir::new("served", "hello master log\n");
    let link = log.link();
    let cluster = Cluster::start(move |options| options.log_file = Some(link));
    let read = request(&cluster, Method::GET, READ, None, Value::Null).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(body_json(read).await, json!({"data": "hello master log\n", "offset": 0}));
    let size =
        request(&cluster, Method::GET, "/files/read?path=/master/log&offset=-1", None, Value::Null);
    assert_eq!(body_json(size.await).await["offset"], 17);
    let download =
        request(&cluster, Method::GET, "/files/download?path=/master/log", None, Value::Null).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(&download.into_body().into_bytes().await[..], b"hello master log\n");
    let browse =
        request(&cluster, Method::GET, "/files/browse?path=/master/log", None, Value::Null).await;
    assert_eq!(browse.status(), StatusCode::OK, "a file lists nothing, as in Mesos");

    let answer = request(&cluster, Method::POST, "/api/v1", None, read_file_call()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = body_json(answer).await;
    assert_eq!(answer["type"], "READ_FILE");
    assert_eq!(answer["read_file"]["size"], 17);
    // Mesos's JSON carries bytes as base64: "master log\n".
    assert_eq!(answer["read_file"]["data"], "bWFzdGVyIGxvZwo=");
    let list = json!({"type": "LIST_FILES", "list_files": {"path": "/master/log"}});
    let answer = request(&cluster, Method::POST, "/api/v1", None, list).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(body_json(answer).await["type"], "LIST_FILES");
    let elsewhere = json!({"type": "READ_FILE", "read_file": {"path": "/etc/passwd", "offset": 0}});
    let answer = request(&cluster, Method::POST, "/api/v1", None, elsewhere).await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    let without = Cluster::start(|_| {});
    let read = request(&without, Method::GET, READ, None, Value::Null).await;
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let answer = request(&without, Method::POST, "/api/v1", None, read_file_call()).await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

/// `access_mesos_logs`: a principal the ACLs allow reads the log; one they deny (and,
/// with `permissive: false`, anyone not listed) gets 403 on `/files/*` and on
/// READ_FILE alike.
#[actix_rt::test]
async fn access_mesos_logs_guards_the_master_log() {
    let log = LogDir::new("acl", "secret master log\n");
    let link = log.link();
    let acls = json!({
        "permissive": false,
        "access_mesos_logs": [
            {"principals": {"values": ["ops"]}, "logs": {"type": "ANY"}},
            {"principals": {"values": ["dev"]}, "logs": {"type": "NONE"}}
        ]
    });
    let authorizer = Arc::new(Authorizer::from_flag(&acls.to_string()).expect("valid ACLs"));
    let cluster = Cluster::start(move |options| {
        options.log_file = Some(link);
        options.authorizer = Some(authorizer);
    });
    let read = |principal| request(&cluster, Method::GET, READ, principal, Value::Null);
    assert_eq!(read(Some("ops")).await.status(), StatusCode::OK);
    assert_eq!(read(Some("dev")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(read(Some("other")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(read(None).await.status(), StatusCode::FORBIDDEN);
    let call = |principal| request(&cluster, Method::POST, "/api/v1", principal, read_file_call());
    assert_eq!(call(Some("ops")).await.status(), StatusCode::OK);
    assert_eq!(call(Some("dev")).await.status(), StatusCode::FORBIDDEN);
}
