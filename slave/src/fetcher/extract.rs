//! Writing into the sandbox without ever leaving it: single files, and the entries of
//! tar (plain, gzip, bzip2, xz) and zip archives and of bare `.gz` files.
//!
//! Mesos: src/launcher/fetcher.cpp `extract` (libarchive for archives, `gunzip -dc`
//! for bare `.gz`). Safety rules, which Mesos leaves to libarchive's defaults:
//! - an entry whose path is absolute or has `..` refuses the whole archive;
//! - a symlink whose target is absolute or climbs out of the sandbox by name refuses
//!   the archive; after extraction every symlink is resolved on disk, and one that
//!   resolves outside refuses the archive too (chains of links), while a dangling one
//!   is removed (it could later be written through);
//! - a hard link becomes a copy of its target, which must be a file already extracted;
//! - devices and fifos are skipped; modes keep only the permission bits;
//! - files are opened with `O_NOFOLLOW` after any symlink at their path is removed,
//!   and their folder is resolved on disk and checked to be inside the sandbox;
//! - the bytes extracted from one archive are bounded like a download, and its entries
//!   by [`MAX_ENTRIES`] (empty entries cost inodes, not bytes).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::download::{Limits, bounded_copy};
use super::plan::{ArchiveKind, inside, link_stays_inside};

/// The most entries one archive may have; past it the extraction fails.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Creates (or truncates) the file `path` with permission bits `mode`, refusing to
/// follow a symlink there.
pub fn create_file(path: &Path, mode: u32) -> Result<File, String> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot replace '{}': {e}", path.display()))?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
        .map_err(|e| format!("cannot create '{}': {e}", path.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod '{}': {e}", path.display()))?;
    Ok(file)
}

/// The sandbox (or any folder) that writes are confined to.
pub struct Root {
    /// The folder, resolved on disk.
    canonical: PathBuf,
}

impl Root {
    /// Confines writes to `dir`, which must exist.
    pub fn new(dir: &Path) -> Result<Root, String> {
        let canonical = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve the sandbox '{}': {e}", dir.display()))?;
        Ok(Root { canonical })
    }

    /// The full path of `relative` (already free of `..` and roots), with its folder
    /// created and checked, on disk, to be inside the root.
    pub fn prepare(&self, relative: &Path) -> Result<PathBuf, String> {
        let path = self.canonical.join(relative);
        let parent = path.parent().unwrap_or(&self.canonical);
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create folder '{}': {e}", parent.display()))?;
        self.check_inside(parent)?;
        Ok(path)
    }

    fn check_inside(&self, path: &Path) -> Result<PathBuf, String> {
        let resolved =
            path.canonicalize().map_err(|e| format!("cannot resolve '{}': {e}", path.display()))?;
        if resolved.starts_with(&self.canonical) {
            Ok(resolved)
        } else {
            Err(format!("'{}' resolves outside the sandbox", path.display()))
        }
    }
}

/// Extracts archives into a [`Root`], keeping count of what it wrote.
pub struct Extractor<'a> {
    root: Root,
    limits: &'a Limits<'a>,
    written: u64,
    entries: usize,
    links: Vec<PathBuf>,
    /// Lines for the fetcher's log (skipped entries, removed links).
    pub notes: Vec<String>,
}

impl<'a> Extractor<'a> {
    /// Extracts into `dir`.
    pub fn new(dir: &Path, limits: &'a Limits<'a>) -> Result<Extractor<'a>, String> {
        Ok(Extractor {
            root: Root::new(dir)?,
            limits,
            written: 0,
            entries: 0,
            links: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// Extracts `archive` (of `kind`); a bare `.gz` becomes `name` minus `.gz`.
    pub fn extract(&mut self, archive: &Path, kind: ArchiveKind, name: &str) -> Result<(), String> {
        let open =
            || File::open(archive).map_err(|e| format!("cannot open '{}': {e}", archive.display()));
        match kind {
            ArchiveKind::Tar => self.tar(open()?)?,
            ArchiveKind::TarGz => self.tar(flate2::read::MultiGzDecoder::new(open()?))?,
            ArchiveKind::TarBz2 => self.tar(bzip2::read::MultiBzDecoder::new(open()?))?,
            ArchiveKind::TarXz => self.tar(lzma_rust2::XzReader::new(open()?, true))?,
            ArchiveKind::Zip => self.zip(open()?)?,
            ArchiveKind::Gz => {
                let base = Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name);
                let target = base.strip_suffix(".gz").unwrap_or(base);
                if target.is_empty() {
                    return Err(format!("'{name}' names no file once '.gz' is removed"));
                }
                let mut reader = flate2::read::MultiGzDecoder::new(open()?);
                self.file(Path::new(target), &mut reader, 0o644)?;
            }
        }
        self.check_links()
    }

    fn entry_path(&mut self, path: &Path) -> Result<Option<PathBuf>, String> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        let relative = inside(path).ok_or_else(|| {
            format!("archive entry '{}' would be written outside the sandbox", path.display())
        })?;
        Ok((!relative.as_os_str().is_empty()).then_some(relative))
    }

    fn tar(&mut self, reader: impl Read) -> Result<(), String> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| format!("not a tar archive: {e}"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("broken tar archive: {e}"))?;
            let path = entry.path().map_err(|e| format!("bad entry name: {e}"))?.into_owned();
            let Some(relative) = self.entry_path(&path)? else { continue };
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().unwrap_or(0o644);
            if kind.is_dir() {
                self.dir(&relative)?;
            } else if kind.is_file() {
                self.file(&relative, &mut entry, mode)?;
            } else if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name()
                    .map_err(|e| format!("bad link target: {e}"))?
                    .ok_or_else(|| format!("link '{}' has no target", path.display()))?
                    .into_owned();
                if kind.is_symlink() {
                    self.symlink(&relative, &target)?;
                } else {
                    self.hard_link(&relative, &target)?;
                }
            } else {
                self.notes
                    .push(format!("skipped '{}' (not a file, folder or link)", path.display()));
            }
        }
        Ok(())
    }

    fn zip(&mut self, file: File) -> Result<(), String> {
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive: {e}"))?;
        for index in 0..archive.len() {
            let mut entry =
                archive.by_index(index).map_err(|e| format!("broken zip archive: {e}"))?;
            let name = entry.name().map_err(|e| format!("bad zip entry name: {e}"))?.into_owned();
            let Some(relative) = self.entry_path(Path::new(&name))? else { continue };
            let mode = entry.unix_mode().unwrap_or(0o644);
            if entry.is_dir() {
                self.dir(&relative)?;
            } else if entry.is_symlink() {
                let mut target = String::new();
                entry
                    .by_ref()
                    .take(4096)
                    .read_to_string(&mut target)
                    .map_err(|e| format!("bad link '{name}': {e}"))?;
                self.symlink(&relative, Path::new(&target))?;
            } else {
                self.file(&relative, &mut entry, mode)?;
            }
        }
        Ok(())
    }

    fn dir(&mut self, relative: &Path) -> Result<(), String> {
        let path = self.root.prepare(relative)?;
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot replace '{}': {e}", path.display()))?;
        }
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create folder '{}': {e}", path.display()))?;
        Ok(())
    }

    fn file(&mut self, relative: &Path, reader: &mut dyn Read, mode: u32) -> Result<(), String> {
        let path = self.root.prepare(relative)?;
        // Only permission bits; the owner can always read and rewrite what we fetched.
        let mut file = create_file(&path, (mode & 0o777) | 0o600)?;
        let budget = Limits {
            max_bytes: self.limits.max_bytes.saturating_sub(self.written),
            deadline: self.limits.deadline,
            stall_timeout: self.limits.stall_timeout,
            cancelled: self.limits.cancelled,
        };
        let written = bounded_copy(reader, &mut file, &budget)
            .map_err(|e| format!("extracting '{}': {e}", relative.display()))?;
        self.written += written;
        Ok(())
    }

    fn symlink(&mut self, relative: &Path, target: &Path) -> Result<(), String> {
        if !link_stays_inside(relative, target) {
            return Err(format!(
                "archive symlink '{}' -> '{}' points outside the sandbox",
                relative.display(),
                target.display()
            ));
        }
        let path = self.root.prepare(relative)?;
        if std::fs::symlink_metadata(&path).is_ok() {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot replace '{}': {e}", path.display()))?;
        }
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| format!("cannot create symlink '{}': {e}", path.display()))?;
        self.links.push(path);
        Ok(())
    }

    fn hard_link(&mut self, relative: &Path, target: &Path) -> Result<(), String> {
        let source = inside(target).filter(|t| !t.as_os_str().is_empty()).ok_or_else(|| {
            format!(
                "archive hard link '{}' -> '{}' points outside the sandbox",
                relative.display(),
                target.display()
            )
        })?;
        let source = self.root.check_inside(&self.root.canonical.join(source))?;
        let mut input =
            File::open(&source).map_err(|e| format!("cannot open '{}': {e}", source.display()))?;
        let mode = input.metadata().map(|m| m.permissions().mode()).unwrap_or(0o644);
        self.file(relative, &mut input, mode)
    }

    /// Every symlink extracted must resolve inside the sandbox (refused otherwise);
    /// dangling ones are removed.
    fn check_links(&mut self) -> Result<(), String> {
        for link in std::mem::take(&mut self.links) {
            match link.canonicalize() {
                Ok(resolved) if resolved.starts_with(&self.root.canonical) => {}
                Ok(_) => {
                    let _ = std::fs::remove_file(&link);
                    return Err(format!(
                        "archive symlink '{}' resolves outside the sandbox",
                        link.display()
                    ));
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&link);
                    self.notes.push(format!("removed dangling symlink '{}'", link.display()));
                }
            }
        }
        Ok(())
    }
}
