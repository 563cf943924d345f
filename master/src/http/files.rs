//! The master's files: its log (`--log_dir`) at the virtual path `/master/log`, served
//! by `/files/browse`, `/files/read`, `/files/download` and the v1 operator calls
//! `LIST_FILES` and `READ_FILE`, with the agent's code (`mesos-files`). Every master
//! serves its own log (no redirect to the leader). Without `--log_dir` nothing is
//! attached and every path is `404`.
//!
//! Mesos: master.cpp `Master::initialize` `files->attach(log, "/master/log",
//! authorize)` with `authorizeLogAccess` (the `access_mesos_logs` ACL: a denied
//! principal gets `403`); master/http.cpp `listFiles`, `readFile`. The file I/O runs on
//! the blocking pool, never on the node's I/O threads.

use std::sync::Arc;

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Response};
use mesos_files::Files;
use mesos_files::http::{FileCallAnswer, files_error, path_param, serve_files};
use mesos_proto::http_api::Encoding;
use mesos_proto::mesos::v1;
use mesos_proto::mesos::v1::master::{call, response};
use mesos_security::{Action, Authorizer, Principal};

use crate::process::MasterProcess;

/// The virtual path of the master's log file.
pub const LOG_PATH: &str = "/master/log";

/// What the master serves: its log file, when it has one.
pub fn files_of(log_file: Option<&std::path::Path>) -> Files {
    match log_file {
        Some(log) => Files::without_root().attach(LOG_PATH, log),
        None => Files::without_root(),
    }
}

/// Installs `/files/browse`, `/files/read` and `/files/download`.
pub(super) fn install(ctx: &mut Context<'_, MasterProcess>, shared: &super::Shared) {
    let files = files_of(shared.log_file.as_deref());
    for endpoint in ["browse", "read", "download"] {
        let (files, authorizer) = (files.clone(), shared.authorizer.clone());
        ctx.route_shared(
            &format!("/files/{endpoint}"),
            Arc::new(move |request: Request| {
                let (files, authorizer) = (files.clone(), authorizer.clone());
                Box::pin(async move {
                    let path = path_param(&request);
                    let principal = super::principal(&request);
                    let serve = move |files: &Files| serve_files(files, endpoint, &request);
                    serve_path(files, authorizer.as_deref(), principal.as_ref(), path, serve).await
                })
            }),
        );
    }
}

/// Serves `path` with `serve` on the blocking pool, once the caller may see it: the log
/// needs `access_mesos_logs` (Mesos: `authorizeLogAccess`).
pub async fn serve_path(
    files: Files,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
    path: String,
    serve: impl FnOnce(&Files) -> Response + Send + 'static,
) -> Response {
    let is_log = files.attachment_of(&path).is_some();
    if is_log && !authorizer.is_none_or(|a| a.authorize(principal, Action::AccessMesosLog)) {
        return super::forbidden("");
    }
    tokio::task::spawn_blocking(move || serve(&files))
        .await
        .unwrap_or_else(|error| lhttp::text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))
}

/// v1 `LIST_FILES` and `READ_FILE` on this master's files. Mesos: master/http.cpp
/// `Master::Http::listFiles`, `readFile`.
pub async fn on_file_call(
    call: v1::master::Call,
    files: Files,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
    encoding: Encoding,
) -> Response {
    let kind = call.r#type();
    let path = match (&call.list_files, &call.read_file) {
        (Some(list), _) if kind == call::Type::ListFiles => list.path.clone(),
        (_, Some(read)) if kind == call::Type::ReadFile => read.path.clone(),
        _ => {
            let field = if kind == call::Type::ListFiles { "list_files" } else { "read_file" };
            return lhttp::text(
                StatusCode::BAD_REQUEST,
                format!("Failed to validate master::Call: Expecting '{field}' to be present"),
            );
        }
    };
    let serve = move |files: &Files| {
        let answer = match (&call.list_files, &call.read_file) {
            (Some(list), _) => mesos_files::http::list_files(files, &list.path),
            (None, Some(read)) => {
                mesos_files::http::read_file(files, &read.path, read.offset, read.length)
            }
            (None, None) => unreachable_call(),
        };
        match answer {
            Ok(answer) => {
                let answer = v1_response(answer);
                lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&answer))
            }
            Err(error) => files_error(error),
        }
    };
    serve_path(files, authorizer, principal, path, serve).await
}

/// The path was taken from one of the two fields above, so one is set; answered as a
/// bad request rather than trusted.
fn unreachable_call() -> Result<FileCallAnswer, mesos_files::FilesError> {
    Err(mesos_files::FilesError::BadRequest("Expecting 'list_files' or 'read_file'".into()))
}

fn v1_response(answer: FileCallAnswer) -> v1::master::Response {
    let mut r = v1::master::Response::default();
    match answer {
        FileCallAnswer::List(file_infos) => {
            r.r#type = Some(response::Type::ListFiles as i32);
            r.list_files = Some(response::ListFiles { file_infos });
        }
        FileCallAnswer::Read { size, data } => {
            r.r#type = Some(response::Type::ReadFile as i32);
            r.read_file = Some(response::ReadFile { size, data });
        }
    }
    r
}
