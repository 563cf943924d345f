//! The pure part of a fetch: where a URI comes from, what it is called in the sandbox,
//! what kind of archive it is, and whether a path stays inside the sandbox.
//!
//! Mesos: src/slave/containerizer/fetcher.cpp `Fetcher::basename`, `validateUri`,
//! `validateOutputFile`, `uriToLocalPath`, `isNetUri`; src/launcher/fetcher.cpp
//! `extract`. No I/O here: every function takes strings and paths and answers.

use std::path::{Component, Path, PathBuf};

/// Where a URI's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `http://` or `https://`: downloaded.
    Net(String),
    /// `file://` or a plain path: copied from the agent's file system.
    Local(PathBuf),
}

/// Classifies a URI (leading whitespace trimmed, as Mesos does). A relative plain path
/// is taken under `--frameworks_home`, and is an error without it.
// Mesos: Fetcher::uriToLocalPath, Fetcher::isNetUri.
pub fn source(uri: &str, frameworks_home: Option<&Path>) -> Result<Source, String> {
    let uri = uri.trim_start();
    basename(uri)?;
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(Source::Net(uri.to_string()));
    }
    let file_uri = uri.strip_prefix("file://");
    if file_uri.is_none() && uri.contains("://") {
        let scheme = uri.split("://").next().unwrap_or_default();
        return Err(format!(
            "unsupported URI scheme '{scheme}' (http, https, file and plain paths are)"
        ));
    }
    let path = match file_uri {
        // Mesos drops a `localhost` host part.
        Some(rest) => rest.strip_prefix("localhost").unwrap_or(rest),
        None => uri,
    };
    let path = PathBuf::from(path);
    if path.is_absolute() {
        return Ok(Source::Local(path));
    }
    if file_uri.is_some() {
        return Err("File URI only supports absolute paths".into());
    }
    match frameworks_home {
        Some(home) if !home.as_os_str().is_empty() => Ok(Source::Local(home.join(path))),
        _ => Err("A relative path was passed for the resource but the Mesos framework \
                  home was not specified (--frameworks_home)"
            .into()),
    }
}

/// The last path segment of a URI, which names the fetched file in the sandbox when
/// the URI has no `output_file`. URIs are treated as paths, as Mesos does: a query
/// string stays part of the name.
// Mesos: Fetcher::basename.
pub fn basename(uri: &str) -> Result<String, String> {
    if uri.contains(['\\', '\'', '\0']) {
        return Err("Illegal characters in URI".into());
    }
    let name = match uri.find("://") {
        Some(index) if index > 1 => {
            let path = &uri[index + 3..];
            match path.find('/') {
                Some(slash) if slash + 1 < path.len() => {
                    path.rsplit('/').next().unwrap_or_default().to_string()
                }
                _ => return Err(format!("Malformed URI (missing path): {uri}")),
            }
        }
        _ => uri.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string(),
    };
    // Ours: the name must be a file of the sandbox, never the sandbox or its parent.
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("URI '{uri}' does not name a file"));
    }
    Ok(name)
}

/// The path, relative to the sandbox, that a URI is fetched to: its `output_file`
/// (which must be relative and stay inside the sandbox) or its basename.
// Mesos: Fetcher::validateOutputFile (absolute paths refused); `..` refused here too.
pub fn destination(uri: &str, output_file: Option<&str>) -> Result<PathBuf, String> {
    let Some(output) = output_file else { return Ok(PathBuf::from(basename(uri)?)) };
    if output.is_empty() {
        return Err("URI output file path is empty".into());
    }
    if output.contains('\0') {
        return Err("Illegal characters in URI output file".into());
    }
    if output.starts_with('/') {
        return Err("URI output file must be within the sandbox directory".into());
    }
    let relative = inside(Path::new(output)).ok_or_else(|| {
        format!("URI output file '{output}' must be within the sandbox directory")
    })?;
    if relative.as_os_str().is_empty() || output.ends_with('/') {
        return Err(format!("URI output file '{output}' does not name a file"));
    }
    Ok(relative)
}

/// `path` as a plain relative path (`.` components dropped) if it has no root and no
/// `..`; `None` if it could leave the folder it is joined to.
pub fn inside(path: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(clean)
}

/// True if a symlink at `link` (relative to the extraction root) pointing at `target`
/// stays inside the root when resolved by name: relative, and its `..`s never climb
/// above the root. (Chains of links are checked again on disk after extraction.)
pub fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.has_root() {
        return false;
    }
    let mut depth: Vec<&std::ffi::OsStr> = Vec::new();
    let parent = link.parent().unwrap_or(Path::new(""));
    for component in parent.components().chain(target.components()) {
        match component {
            Component::Normal(part) => depth.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// How a fetched file is extracted, from its name (Mesos: launcher/fetcher.cpp
/// `extract`, which looks at the extension only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `.tar`.
    Tar,
    /// `.tar.gz`, `.tgz`.
    TarGz,
    /// `.tar.bz2`, `.tbz2`.
    TarBz2,
    /// `.tar.xz`, `.txz`.
    TarXz,
    /// `.zip`.
    Zip,
    /// A bare `.gz`: decompressed next to it without the extension.
    Gz,
}

impl ArchiveKind {
    /// The kind a file name says, or `None` if it is no archive (then it is kept as
    /// it is, with a warning, as Mesos does).
    pub fn of(name: &str) -> Option<ArchiveKind> {
        let kinds = [
            (".tar", ArchiveKind::Tar),
            (".tgz", ArchiveKind::TarGz),
            (".tar.gz", ArchiveKind::TarGz),
            (".tbz2", ArchiveKind::TarBz2),
            (".tar.bz2", ArchiveKind::TarBz2),
            (".txz", ArchiveKind::TarXz),
            (".tar.xz", ArchiveKind::TarXz),
            (".zip", ArchiveKind::Zip),
            (".gz", ArchiveKind::Gz),
        ];
        // The longest matching suffix wins (`.tar.gz` before `.gz`).
        kinds
            .iter()
            .filter(|(suffix, _)| name.ends_with(suffix))
            .max_by_key(|(suffix, _)| suffix.len())
            .map(|(_, kind)| *kind)
    }
}

/// The cache key of a URI: the user and the URI (Mesos: fetcher.cpp `cacheKey`).
pub fn cache_key(user: Option<&str>, uri: &str) -> String {
    match user {
        Some(user) => format!("{user}@{uri}"),
        None => uri.to_string(),
    }
}

/// The name of a cache file: a serial number, then a bounded part of the URI's
/// basename keeping its extension (so extraction still recognises the archive).
// Mesos: FetcherProcess::Cache::nextFilename.
pub fn cache_filename(serial: u64, basename: &str) -> String {
    let chars: Vec<char> = basename.chars().collect();
    let short = if chars.len() > 20 {
        let head: String = chars[..10].iter().collect();
        let tail: String = chars[chars.len() - 10..].iter().collect();
        format!("{head}_{tail}")
    } else {
        basename.to_string()
    };
    format!("c{serial}-{short}")
}
