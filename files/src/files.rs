//! [`Files`]: the files a node serves, and how a requested path maps onto them.
//!
//! These functions do blocking file I/O: callers run them on the blocking pool, never
//! on the node's I/O threads (a slow disk must not stall messages).
//!
//! Mesos: src/files/files.cpp. The Mesos web UI passes the sandbox's absolute path
//! (the `directory` of an executor in `/state`) and pages through files with
//! `offset` and `length`; `offset=-1` asks for the file's size. Every path is
//! resolved (`..` and symlinks included) and must stay below the sandboxes root
//! `<work_dir>/slaves`: anything else is refused, so no request escapes a sandbox.
//! Besides the root, a virtual path can be attached to a file or folder (Mesos's
//! `Files::attach`): the master's log is `/master/log`, the agent's `/slave/log`.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Most bytes one `/files/read` returns (Mesos pages are 16 KiB by default).
pub const MAX_READ_LENGTH: u64 = 1024 * 1024;
/// Largest file `/files/download` serves whole.
pub const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// Why a `/files` request fails, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesError {
    /// 400: missing or malformed parameters.
    BadRequest(String),
    /// 403: the path resolves outside every sandbox.
    Forbidden(String),
    /// 404: nothing there.
    NotFound(String),
}

impl FilesError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            FilesError::BadRequest(_) => 400,
            FilesError::Forbidden(_) => 403,
            FilesError::NotFound(_) => 404,
        }
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        match self {
            FilesError::BadRequest(m) | FilesError::Forbidden(m) | FilesError::NotFound(m) => m,
        }
    }
}

/// Decodes a query string into (name, value) pairs (`+` is a space, `%XX` escapes).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One entry of a folder listing.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// The entry's full path.
    pub path: String,
    /// Its metadata (symlinks followed).
    pub meta: fs::Metadata,
}

impl FileEntry {
    /// As `/files/browse` shows it.
    pub fn to_json(&self) -> Value {
        let meta = &self.meta;
        json!({
            "path": self.path,
            "nlink": meta.nlink(),
            "size": meta.len(),
            "mtime": meta.mtime(),
            "mode": mode_string(meta),
            "uid": meta.uid().to_string(),
            "gid": meta.gid().to_string(),
        })
    }

    /// As the v1 operator API's `FileInfo` (`mode` is the whole `st_mode`, `mtime` in
    /// nanoseconds). Mesos: files.cpp `FilesProcess::_browse`.
    pub fn to_v1(&self) -> mesos_proto::mesos::v1::FileInfo {
        let meta = &self.meta;
        let nanos = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
        mesos_proto::mesos::v1::FileInfo {
            path: self.path.clone(),
            nlink: Some(i32::try_from(meta.nlink()).unwrap_or(i32::MAX)),
            size: Some(meta.len()),
            mtime: Some(mesos_proto::mesos::v1::TimeInfo { nanoseconds: nanos }),
            mode: Some(meta.mode()),
            uid: Some(meta.uid().to_string()),
            gid: Some(meta.gid().to_string()),
        }
    }
}

/// Serves files below one root (the agent's `<work_dir>/slaves`) and at attached
/// virtual paths.
#[derive(Debug, Clone, Default)]
pub struct Files {
    root: Option<PathBuf>,
    /// (virtual path, real path): Mesos's attached paths.
    attached: Vec<(String, PathBuf)>,
}

impl Files {
    /// Files below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Files {
        Files { root: Some(root.into()), attached: Vec::new() }
    }

    /// No root: only what [`Files::attach`] adds (the master's files).
    pub fn without_root() -> Files {
        Files::default()
    }

    /// Serves `real` (a file, or a folder and what is below it) at `virtual_path`,
    /// e.g. the log file at `/master/log`. `real` is resolved at each request, so a
    /// symlink to the current log follows its rotation. Mesos: `Files::attach`.
    pub fn attach(mut self, virtual_path: &str, real: impl Into<PathBuf>) -> Files {
        self.attached.push((virtual_path.trim_end_matches('/').to_string(), real.into()));
        self
    }

    /// The attached virtual path that `path` names or lies below, if any.
    pub fn attachment_of(&self, path: &str) -> Option<&str> {
        self.attached_match(path).map(|(virtual_path, _)| virtual_path.as_str())
    }

    fn attached_match(&self, path: &str) -> Option<&(String, PathBuf)> {
        let path = path.trim_end_matches('/');
        self.attached.iter().find(|(virtual_path, _)| {
            path == virtual_path
                || path
                    .strip_prefix(virtual_path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Resolves a path below an attachment; it must stay below the attached path.
    fn resolve_attached(
        &self,
        path: &str,
        (virtual_path, real): &(String, PathBuf),
    ) -> Result<PathBuf, FilesError> {
        let base = fs::canonicalize(real)
            .map_err(|_| FilesError::NotFound(format!("no such file or folder: '{path}'")))?;
        let rest = path.trim_end_matches('/')[virtual_path.len()..].trim_start_matches('/');
        let candidate = if rest.is_empty() { base.clone() } else { base.join(rest) };
        let resolved = fs::canonicalize(&candidate)
            .map_err(|_| FilesError::NotFound(format!("no such file or folder: '{path}'")))?;
        if !resolved.starts_with(&base) {
            return Err(FilesError::Forbidden(format!("'{path}' is outside '{virtual_path}'")));
        }
        Ok(resolved)
    }

    /// Resolves `path` (an attached virtual path, or a path below the root) and checks
    /// it stays below what it names.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        if path.is_empty() {
            return Err(FilesError::BadRequest("expecting 'path=value' in query".into()));
        }
        if let Some(attached) = self.attached_match(path) {
            return self.resolve_attached(path, attached);
        }
        let Some(root) = &self.root else {
            return Err(FilesError::NotFound(format!("no such file or folder: '{path}'")));
        };
        let root = fs::canonicalize(root)
            .map_err(|_| FilesError::NotFound(format!("no sandboxes yet: '{path}'")))?;
        let requested = Path::new(path);
        let candidate =
            if requested.is_absolute() { requested.to_path_buf() } else { root.join(requested) };
        let resolved = fs::canonicalize(&candidate)
            .map_err(|_| FilesError::NotFound(format!("no such file or folder: '{path}'")))?;
        if !resolved.starts_with(&root) {
            return Err(FilesError::Forbidden(format!("'{path}' is outside every sandbox")));
        }
        Ok(resolved)
    }

    /// The framework and executor whose sandbox `path` resolves into (a path below
    /// `<agent>/frameworks/<f>/executors/<e>/` of the root), or `None` for a path in
    /// no executor's sandbox. Errors as [`Files::resolve`].
    pub fn sandbox_of(&self, path: &str) -> Result<Option<(String, String)>, FilesError> {
        let resolved = self.resolve(path)?;
        let Some(root) = &self.root else { return Ok(None) };
        let root = fs::canonicalize(root)
            .map_err(|_| FilesError::NotFound(format!("no sandboxes yet: '{path}'")))?;
        let Ok(relative) = resolved.strip_prefix(&root) else { return Ok(None) };
        let parts: Vec<&str> = relative.iter().filter_map(|c| c.to_str()).collect();
        Ok(match parts.as_slice() {
            [_agent, "frameworks", framework, "executors", executor, ..] => {
                Some((framework.to_string(), executor.to_string()))
            }
            _ => None,
        })
    }

    /// The entries of a folder (at most 10,000, sorted by path), each named by the
    /// requested path joined with its name (so an attached folder lists virtual
    /// paths); a file lists nothing, as in Mesos (files.cpp `browse`: `os::ls` of a
    /// file fails and the listing is empty). What `/files/browse` and the operator
    /// API's `LIST_FILES` list.
    pub fn list(&self, path: &str) -> Result<Vec<FileEntry>, FilesError> {
        let dir = self.resolve(path)?;
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let entries = fs::read_dir(&dir)
            .map_err(|e| FilesError::NotFound(format!("cannot list '{path}': {e}")))?;
        let base = path.trim_end_matches('/');
        let mut listing = Vec::new();
        for entry in entries.flatten().take(10_000) {
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            listing.push(FileEntry { path: format!("{base}/{name}"), meta });
        }
        listing.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(listing)
    }

    /// The entries of a folder, as Mesos's `/files/browse` lists them.
    pub fn browse(&self, path: &str) -> Result<Value, FilesError> {
        let listing = self.list(path)?.iter().map(FileEntry::to_json).collect();
        Ok(Value::Array(listing))
    }

    /// The file's size and at most `length` bytes from `offset` (all the rest when
    /// `None`, capped at [`MAX_READ_LENGTH`]); nothing past the end. What the operator
    /// API's `READ_FILE` answers. Mesos: files.cpp `FilesProcess::_read`.
    pub fn read_bytes(
        &self,
        path: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<(u64, Vec<u8>), FilesError> {
        let (_, mut file, size) = self.open_regular(path)?;
        let offset = offset.min(size);
        let length = length.unwrap_or(size - offset).min(size - offset).min(MAX_READ_LENGTH);
        let cannot_read =
            |e: std::io::Error| FilesError::NotFound(format!("cannot read '{path}': {e}"));
        file.seek(SeekFrom::Start(offset)).map_err(cannot_read)?;
        let mut page = Vec::with_capacity(length as usize);
        file.take(length).read_to_end(&mut page).map_err(cannot_read)?;
        Ok((size, page))
    }

    /// `{"data": ..., "offset": ...}` for a page of a file; `offset` -1 (or absent)
    /// returns no data and the file's size as the offset. Reads at most the page asked
    /// for (seek, then at most `length` bytes), so a huge log costs one page.
    pub fn read(
        &self,
        path: &str,
        offset: Option<i64>,
        length: Option<i64>,
    ) -> Result<Value, FilesError> {
        let (_, mut file, size) = self.open_regular(path)?;
        let offset = match offset {
            None | Some(-1) => return Ok(json!({ "data": "", "offset": size })),
            Some(o) if o < 0 => return Err(FilesError::BadRequest(format!("negative offset {o}"))),
            Some(o) => (o as u64).min(size),
        };
        let length = match length {
            None | Some(-1) => MAX_READ_LENGTH,
            Some(l) if l < 0 => return Err(FilesError::BadRequest(format!("negative length {l}"))),
            Some(l) => (l as u64).min(MAX_READ_LENGTH),
        };
        let cannot_read =
            |e: std::io::Error| FilesError::NotFound(format!("cannot read '{path}': {e}"));
        file.seek(SeekFrom::Start(offset)).map_err(cannot_read)?;
        // The file may have grown since its size was taken; the page stays within it.
        let mut page = Vec::with_capacity(length.min(size - offset) as usize);
        file.take(length.min(size - offset)).read_to_end(&mut page).map_err(cannot_read)?;
        let data = String::from_utf8_lossy(&page).into_owned();
        Ok(json!({ "data": data, "offset": offset }))
    }

    /// The whole content of a file and its name, for `/files/download`.
    pub fn download(&self, path: &str) -> Result<(String, Vec<u8>), FilesError> {
        let (resolved, file, size) = self.open_regular(path)?;
        if size > MAX_DOWNLOAD_BYTES {
            return Err(FilesError::BadRequest(format!(
                "'{path}' is larger than {MAX_DOWNLOAD_BYTES} bytes"
            )));
        }
        let name =
            resolved.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_DOWNLOAD_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| FilesError::NotFound(format!("cannot read '{path}': {e}")))?;
        Ok((name, bytes))
    }

    /// Opens a regular file below the root: its resolved path, the file and its size. Opened non-blocking, so that a
    /// FIFO in a sandbox (whose open would wait for a writer) is refused, not waited on.
    fn open_regular(&self, path: &str) -> Result<(PathBuf, fs::File, u64), FilesError> {
        let resolved = self.resolve(path)?;
        if resolved.is_dir() {
            return Err(FilesError::BadRequest(format!("'{path}' is a folder")));
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&resolved)
            .map_err(|e| FilesError::NotFound(format!("cannot open '{path}': {e}")))?;
        let meta = file.metadata().map_err(|e| FilesError::NotFound(format!("'{path}': {e}")))?;
        if !meta.is_file() {
            return Err(FilesError::BadRequest(format!("'{path}' is not a regular file")));
        }
        Ok((resolved, file, meta.len()))
    }
}

fn mode_string(meta: &fs::Metadata) -> String {
    let mode = meta.permissions().mode();
    let kind = if meta.is_dir() {
        'd'
    } else if meta.file_type().is_symlink() {
        'l'
    } else {
        '-'
    };
    let mut out = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Root(PathBuf);

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn setup(name: &str) -> (Root, Files, PathBuf) {
        let base =
            std::env::temp_dir().join(format!("mesos-agent-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let sandbox = base.join("slaves/A/frameworks/F/executors/E/runs/C");
        fs::create_dir_all(&sandbox).unwrap();
        fs::write(sandbox.join("stdout"), "hello world").unwrap();
        fs::write(base.join("secret"), "outside").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), sandbox.join("escape")).unwrap();
        let files = Files::new(base.join("slaves"));
        (Root(base), files, sandbox)
    }

    /// A path names the sandbox it resolves into (after `..` and symlinks), so the
    /// `access_sandboxes` check asks about the executor whose files are really read.
    #[test]
    fn sandbox_of_names_the_executor() {
        let (root, files, sandbox) = setup("owner");
        let stdout = sandbox.join("stdout").to_string_lossy().into_owned();
        let owner = Some(("F".to_string(), "E".to_string()));
        assert_eq!(files.sandbox_of(&stdout).unwrap(), owner);
        let other = root.0.join("slaves/A/frameworks/G/executors/X/runs/C");
        fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::symlink(&other, sandbox.join("peek")).unwrap();
        let through = sandbox.join("peek").to_string_lossy().into_owned();
        assert_eq!(files.sandbox_of(&through).unwrap(), Some(("G".into(), "X".into())));
        let above = root.0.join("slaves/A/frameworks").to_string_lossy().into_owned();
        assert_eq!(files.sandbox_of(&above).unwrap(), None);
        assert_eq!(files.sandbox_of("/etc/passwd").unwrap_err().status(), 403);
    }

    /// Reads page through a sandbox file with offset and length as the Mesos UI does;
    /// offset -1 gives the size.
    #[test]
    fn read_pages_with_offset_and_length() {
        let (_root, files, sandbox) = setup("read");
        let stdout = sandbox.join("stdout").to_string_lossy().into_owned();
        assert_eq!(files.read(&stdout, Some(-1), None).unwrap(), json!({"data": "", "offset": 11}));
        assert_eq!(
            files.read(&stdout, Some(6), Some(3)).unwrap(),
            json!({"data": "wor", "offset": 6})
        );
        assert_eq!(
            files.read(&stdout, Some(100), Some(3)).unwrap(),
            json!({"data": "", "offset": 11})
        );
        assert_eq!(files.read(&stdout, Some(-5), None).unwrap_err().status(), 400);
        let listing = files.browse(&sandbox.to_string_lossy()).unwrap();
        assert!(
            listing
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["path"].as_str().unwrap().ends_with("/stdout"))
        );
        assert_eq!(files.read_bytes(&stdout, 6, Some(3)).unwrap(), (11, b"wor".to_vec()));
        assert_eq!(files.read_bytes(&stdout, 6, None).unwrap(), (11, b"world".to_vec()));
        assert_eq!(files.read_bytes(&stdout, 50, None).unwrap(), (11, Vec::new()));
        let listed = files.list(&sandbox.to_string_lossy()).unwrap();
        let info = listed.iter().find(|e| e.path.ends_with("/stdout")).unwrap().to_v1();
        assert_eq!(info.size, Some(11));
        assert_eq!(
            files.download(&stdout).unwrap(),
            ("stdout".to_string(), b"hello world".to_vec())
        );
    }

    /// A FIFO in a sandbox is refused at once (opening it for reading would wait for a
    /// writer), and a page of a big file is read without reading the rest.
    #[test]
    fn fifo_refused_and_pages_bounded() {
        let (_root, files, sandbox) = setup("fifo");
        let fifo = sandbox.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let fifo = fifo.to_string_lossy().into_owned();
        assert_eq!(files.read(&fifo, Some(0), Some(10)).unwrap_err().status(), 400);
        assert_eq!(files.download(&fifo).unwrap_err().status(), 400);
        let big = sandbox.join("big");
        let file = fs::File::create(&big).unwrap();
        file.set_len(8 * 1024 * 1024 * 1024).unwrap(); // sparse: 8 GiB, no disk used
        let big = big.to_string_lossy().into_owned();
        let page = files.read(&big, Some(4 * 1024 * 1024 * 1024), Some(5)).unwrap();
        assert_eq!(page, json!({"data": "\0\0\0\0\0", "offset": 4u64 * 1024 * 1024 * 1024}));
        let page = files.read(&big, Some(0), None).unwrap();
        assert_eq!(page["data"].as_str().unwrap().len() as u64, MAX_READ_LENGTH);
    }

    /// Path traversal is refused: `..` out of the root, absolute paths elsewhere, and
    /// symlinks inside a sandbox that point outside it.
    #[test]
    fn path_traversal_is_refused() {
        let (_root, files, sandbox) = setup("escape");
        let dotdot = format!("{}/../../../../../../../../secret", sandbox.display());
        assert_eq!(files.read(&dotdot, Some(0), None).unwrap_err().status(), 403);
        assert_eq!(files.read("/etc/passwd", Some(0), None).unwrap_err().status(), 403);
        assert_eq!(files.browse("/").unwrap_err().status(), 403);
        let link = sandbox.join("escape").to_string_lossy().into_owned();
        assert_eq!(files.download(&link).unwrap_err().status(), 403);
        assert_eq!(files.read("../secret", Some(0), None).unwrap_err().status(), 403);
        assert_eq!(files.read("", None, None).unwrap_err().status(), 400);
        assert_eq!(files.read("/nonexistent/x", None, None).unwrap_err().status(), 404);
    }

    /// An attached file is served at its virtual path (through a symlink, as the log's
    /// `mesos-master.INFO`), nothing escapes an attached folder, and without a root only
    /// attachments exist.
    #[test]
    fn attached_paths() {
        let (root, _, sandbox) = setup("attach");
        let log = root.0.join("app.log.1");
        fs::write(&log, "line one\n").unwrap();
        std::os::unix::fs::symlink(&log, root.0.join("app.INFO")).unwrap();
        let files = Files::without_root()
            .attach("/master/log", root.0.join("app.INFO"))
            .attach("/box/", &sandbox);
        assert_eq!(files.attachment_of("/master/log"), Some("/master/log"));
        assert_eq!(files.attachment_of("/master/logs"), None);
        assert_eq!(files.attachment_of("/box/stdout"), Some("/box"));
        assert_eq!(
            files.read("/master/log", Some(0), None).unwrap(),
            json!({"data": "line one\n", "offset": 0})
        );
        assert_eq!(files.read_bytes("/box/stdout", 0, Some(5)).unwrap(), (11, b"hello".to_vec()));
        assert_eq!(files.read("/box/escape", Some(0), None).unwrap_err().status(), 403);
        assert_eq!(
            files.read("/box/../../../../../../../../secret", Some(0), None).unwrap_err().status(),
            403
        );
        assert_eq!(files.read("/etc/passwd", Some(0), None).unwrap_err().status(), 404);
        assert_eq!(files.sandbox_of("/master/log").unwrap(), None);
        assert!(files.list("/master/log").unwrap().is_empty(), "a file lists nothing");
        let listed: Vec<String> = files.list("/box").unwrap().into_iter().map(|e| e.path).collect();
        assert!(listed.contains(&"/box/stdout".to_string()), "{listed:?}");
    }

    /// Query strings decode escapes and pluses.
    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("path=%2Ftmp%2Fa+b&offset=-1&x"),
            vec![
                ("path".into(), "/tmp/a b".into()),
                ("offset".into(), "-1".into()),
                ("x".into(), "".into())
            ]
        );
        assert_eq!(parse_query("p=%zz"), vec![("p".into(), "%zz".into())]);
    }
}
