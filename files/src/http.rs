//! The HTTP side of [`Files`]: `/files/browse`, `/files/read`, `/files/download` and
//! the v1 operator calls `LIST_FILES` and `READ_FILE`, the same on the master and the
//! agent. Mesos: files.cpp `FilesProcess::browse`, `read`, `download`; master/http.cpp
//! and slave/http.cpp `listFiles`, `readFile`.
//!
//! Every function here does blocking file I/O; callers run it on the blocking pool.

use http::StatusCode;
use libprocess::http::{self as lhttp, Request, Response};
use mesos_proto::mesos::v1::FileInfo;

use crate::files::{Files, FilesError, parse_query};

/// The HTTP answer for a files error (Mesos maps `FilesError`s the same way: not found
/// 404, unauthorized 403, invalid 400).
pub fn files_error(error: FilesError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    lhttp::text(status, error.message().to_string())
}

/// The decoded query of `request`.
pub fn query(request: &Request) -> Vec<(String, String)> {
    request.uri().query().map(parse_query).unwrap_or_default()
}

/// The value of the query parameter `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The `path` parameter of a `/files/*` request (empty when absent).
pub fn path_param(request: &Request) -> String {
    param(&query(request), "path").unwrap_or("").to_string()
}

// The error is the whole HTTP answer, built once per bad request; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn int_param(params: &[(String, String)], name: &str) -> Result<Option<i64>, Response> {
    match param(params, name) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            lhttp::text(
                StatusCode::BAD_REQUEST,
                format!("'{name}' must be an integer, not '{text}'"),
            )
        }),
    }
}

/// `/files/<endpoint>` (`browse`, `read`, anything else is `download`) for `request`,
/// whose access the caller has checked.
pub fn serve_files(files: &Files, endpoint: &str, request: &Request) -> Response {
    let params = query(request);
    let path = param(&params, "path").unwrap_or("");
    match endpoint {
        "browse" => {
            files.browse(path).map(|v| lhttp::json(StatusCode::OK, &v)).unwrap_or_else(files_error)
        }
        "read" => {
            let (offset, length) =
                match (int_param(&params, "offset"), int_param(&params, "length")) {
                    (Ok(o), Ok(l)) => (o, l),
                    (Err(response), _) | (_, Err(response)) => return response,
                };
            files
                .read(path, offset, length)
                .map(|v| lhttp::json(StatusCode::OK, &v))
                .unwrap_or_else(files_error)
        }
        _ => match files.download(path) {
            Ok((name, bytes)) => {
                let mut response =
                    lhttp::response(StatusCode::OK, "application/octet-stream", bytes);
                if let Ok(value) = http::HeaderValue::from_str(&format!(
                    "attachment; filename=\"{}\"",
                    name.replace('"', "")
                )) {
                    response.headers_mut().insert(http::header::CONTENT_DISPOSITION, value);
                }
                response
            }
            Err(error) => files_error(error),
        },
    }
}

/// What a v1 `LIST_FILES` or `READ_FILE` answers, whichever API's response wraps it.
#[derive(Debug, Clone, PartialEq)]
pub enum FileCallAnswer {
    /// `LIST_FILES`: the entries of the folder.
    List(Vec<FileInfo>),
    /// `READ_FILE`: the file's size and the bytes read.
    Read {
        /// The file's whole size.
        size: u64,
        /// At most the requested length from the requested offset.
        data: Vec<u8>,
    },
}

/// `LIST_FILES` of `path`.
pub fn list_files(files: &Files, path: &str) -> Result<FileCallAnswer, FilesError> {
    Ok(FileCallAnswer::List(files.list(path)?.iter().map(|e| e.to_v1()).collect()))
}

/// `READ_FILE` of `path` from `offset`, at most `length` bytes (all the rest, up to
/// [`MAX_READ_LENGTH`](crate::MAX_READ_LENGTH), when `None`).
pub fn read_file(
    files: &Files,
    path: &str,
    offset: u64,
    length: Option<u64>,
) -> Result<FileCallAnswer, FilesError> {
    let (size, data) = files.read_bytes(path, offset, length)?;
    Ok(FileCallAnswer::Read { size, data })
}
