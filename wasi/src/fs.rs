//! The descriptor table and the sandbox.
//!
//! A guest reaches the host file system only through directory descriptors: the preopened
//! directories (`--dir`), and directories it opened below them. [`resolve`] turns a guest path,
//! relative to such a directory, into a host path, one component at a time: `..` may not climb
//! above the directory, absolute paths are refused, and symbolic links are read and expanded
//! by the resolver itself (a link to an absolute path, or one whose `..` climbs out, is
//! refused), so the host never follows a link we have not checked. The final `open` adds
//! `O_NOFOLLOW`, so a link that appears after resolution is not followed either.
//! (Intermediate directories could still be swapped for links by a concurrent host process
//! between resolution and use; the guest itself cannot do that while a call runs.)

use super::pipe::Pipe;
use super::types::{filetype, filetype_of, rights, Errno};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How many symbolic links one resolution may expand before `ELOOP` (Linux's limit).
const MAX_SYMLINK_EXPANSIONS: u32 = 40;

/// The highest descriptor number handed out.
const MAX_FDS: u32 = 1 << 16;

/// The three standard streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    In,
    Out,
    Err,
}

impl Stdio {
    /// A duplicate of the host descriptor, to ask the host about it (type, times).
    pub fn host_file(self) -> io::Result<File> {
        let owned = match self {
            Stdio::In => io::stdin().as_fd().try_clone_to_owned()?,
            Stdio::Out => io::stdout().as_fd().try_clone_to_owned()?,
            Stdio::Err => io::stderr().as_fd().try_clone_to_owned()?,
        };
        Ok(File::from(owned))
    }

    /// Writes all of `data` (stdout is flushed at once, so output is never held back by us:
    /// wasi-libc does its own buffering).
    pub fn write(self, data: &[u8]) -> io::Result<()> {
        match self {
            Stdio::In => Err(io::Error::from_raw_os_error(libc::EBADF)),
            Stdio::Out => {
                let mut out = io::stdout().lock();
                out.write_all(data)?;
                out.flush()
            }
            Stdio::Err => io::stderr().lock().write_all(data),
        }
    }
}

/// One entry of a directory listing, as `fd_readdir` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub filetype: u8,
}

/// An open directory: where it is on the host, and the listing `fd_readdir` pages through
/// (taken when a guest starts reading at cookie 0, so that cookies stay stable).
#[derive(Debug)]
pub struct Dir {
    pub path: PathBuf,
    pub listing: Option<Vec<DirEntry>>,
}

impl Dir {
    pub fn new(path: PathBuf) -> Dir {
        Dir {
            path,
            listing: None,
        }
    }

    /// `.`, `..` and the entries, sorted by name.
    pub fn read_listing(&self) -> io::Result<Vec<DirEntry>> {
        let own = fs::metadata(&self.path)?;
        let parent_ino = fs::metadata(self.path.join(".."))
            .map(|m| m.ino())
            .unwrap_or(own.ino());
        let mut entries = Vec::new();
        for e in fs::read_dir(&self.path)? {
            let e = e?;
            let filetype = e.file_type().map(filetype_of).unwrap_or(filetype::UNKNOWN);
            entries.push(DirEntry {
                name: e.file_name().as_bytes().to_vec(),
                ino: e.ino(),
                filetype,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let dots = [
            DirEntry {
                name: b".".to_vec(),
                ino: own.ino(),
                filetype: filetype::DIRECTORY,
            },
            DirEntry {
                name: b"..".to_vec(),
                ino: parent_ino,
                filetype: filetype::DIRECTORY,
            },
        ];
        Ok(dots.into_iter().chain(entries).collect())
    }
}

/// What a descriptor refers to.
#[derive(Debug)]
pub enum Handle {
    /// One of the host's own standard streams.
    Stdio(Stdio),
    /// A standard stream the embedder provides instead (bytes, a buffer, nothing).
    Pipe(Pipe),
    File(File),
    Dir(Dir),
}

/// A descriptor: its object, rights and `fdflags`.
#[derive(Debug)]
pub struct FdEntry {
    pub handle: Handle,
    pub rights_base: u64,
    pub rights_inheriting: u64,
    pub flags: u16,
    /// For a preopened directory: the name the guest knows it by.
    pub preopen: Option<Vec<u8>>,
}

impl FdEntry {
    /// Standard stream `s` (0, 1 or 2) as the pipe `pipe`: the rights are those of the
    /// stream it stands for.
    pub fn pipe(s: Stdio, pipe: Pipe) -> FdEntry {
        FdEntry {
            handle: Handle::Pipe(pipe),
            ..FdEntry::stdio(s)
        }
    }

    pub fn stdio(s: Stdio) -> FdEntry {
        FdEntry {
            handle: Handle::Stdio(s),
            rights_base: match s {
                Stdio::In => rights::STDIN,
                Stdio::Out | Stdio::Err => rights::STDOUT,
            },
            rights_inheriting: 0,
            flags: 0,
            preopen: None,
        }
    }

    /// The WASI file type of the descriptor.
    pub fn filetype(&self) -> u8 {
        match &self.handle {
            Handle::Dir(_) => filetype::DIRECTORY,
            // Like `/dev/null`, which is what a discarded stream is.
            Handle::Pipe(Pipe::Null) => filetype::CHARACTER_DEVICE,
            Handle::Pipe(_) => filetype::UNKNOWN,
            Handle::File(f) => f
                .metadata()
                .map(|m| filetype_of(m.file_type()))
                .unwrap_or(filetype::UNKNOWN),
            Handle::Stdio(s) => {
                use std::io::IsTerminal;
                let terminal = match s {
                    Stdio::In => io::stdin().is_terminal(),
                    Stdio::Out => io::stdout().is_terminal(),
                    Stdio::Err => io::stderr().is_terminal(),
                };
                if terminal {
                    filetype::CHARACTER_DEVICE
                } else {
                    s.host_file()
                        .and_then(|f| f.metadata())
                        .map(|m| filetype_of(m.file_type()))
                        .unwrap_or(filetype::UNKNOWN)
                }
            }
        }
    }

    /// A host file for metadata, times and syncing (a directory is opened for the purpose).
    pub fn with_host_file<T>(&self, f: impl FnOnce(&File) -> io::Result<T>) -> Result<T, Errno> {
        let r = match &self.handle {
            Handle::File(file) => f(file),
            Handle::Dir(d) => File::open(&d.path).and_then(|file| f(&file)),
            Handle::Stdio(s) => s.host_file().and_then(|file| f(&file)),
            Handle::Pipe(_) => return Err(Errno::NOTSUP),
        };
        r.map_err(Errno::from)
    }
}

/// The guest's descriptors: 0, 1, 2 are stdio, preopens follow, and new descriptors take the
/// lowest free number (as POSIX does).
#[derive(Debug)]
pub struct FdTable {
    entries: BTreeMap<u32, FdEntry>,
}

impl Default for FdTable {
    fn default() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(0, FdEntry::stdio(Stdio::In));
        entries.insert(1, FdEntry::stdio(Stdio::Out));
        entries.insert(2, FdEntry::stdio(Stdio::Err));
        FdTable { entries }
    }
}

impl FdTable {
    /// Replaces standard stream `s` with `pipe`.
    pub fn set_stdio(&mut self, s: Stdio, pipe: Pipe) {
        let fd = match s {
            Stdio::In => 0,
            Stdio::Out => 1,
            Stdio::Err => 2,
        };
        self.entries.insert(fd, FdEntry::pipe(s, pipe));
    }

    pub fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let mut fd = 0;
        for &used in self.entries.keys() {
            if used != fd {
                break;
            }
            fd += 1;
        }
        if fd >= MAX_FDS {
            return Err(Errno::MFILE);
        }
        self.entries.insert(fd, entry);
        Ok(fd)
    }

    pub fn get(&self, fd: u32) -> Result<&FdEntry, Errno> {
        self.entries.get(&fd).ok_or(Errno::BADF)
    }

    pub fn get_mut(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        self.entries.get_mut(&fd).ok_or(Errno::BADF)
    }

    pub fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        self.entries.remove(&fd).ok_or(Errno::BADF)
    }

    /// `fd_renumber`: moves `from` to `to`, closing what `to` was.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.entries.contains_key(&from) || !self.entries.contains_key(&to) {
            return Err(Errno::BADF);
        }
        if from != to {
            let entry = self.remove(from)?;
            self.entries.insert(to, entry);
        }
        Ok(())
    }

    /// The directory a path-taking call starts from: `EBADF` if `fd` is not open, `ENOTDIR`
    /// if it is not a directory.
    pub fn dir(&self, fd: u32) -> Result<&FdEntry, Errno> {
        let entry = self.get(fd)?;
        match entry.handle {
            Handle::Dir(_) => Ok(entry),
            _ => Err(Errno::NOTDIR),
        }
    }

    /// The host path of directory `fd`.
    pub fn dir_path(&self, fd: u32) -> Result<&Path, Errno> {
        match &self.dir(fd)?.handle {
            Handle::Dir(d) => Ok(&d.path),
            _ => Err(Errno::NOTDIR),
        }
    }
}

/// A guest path resolved inside a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The host path.
    pub path: PathBuf,
    /// The path names the directory itself (`.`, `a/..`): it cannot be removed or renamed.
    pub is_root: bool,
    /// The guest path ended in `/`: it must name a directory.
    pub trailing_slash: bool,
}

impl Resolved {
    /// `ENOTDIR` when the path had a trailing slash but names an existing non-directory.
    pub fn check_trailing_slash(&self) -> Result<(), Errno> {
        if self.trailing_slash {
            if let Ok(m) = fs::symlink_metadata(&self.path) {
                if !m.is_dir() {
                    return Err(Errno::NOTDIR);
                }
            }
        }
        Ok(())
    }
}

/// Resolves `guest` relative to the host directory `root` without ever leaving it.
///
/// Symbolic links in the middle of the path are always followed (inside the sandbox); the last
/// component is followed only with `follow_final` (or when the path ends in `/`). A final
/// component that does not exist is fine (the caller may create it); a missing or
/// non-directory intermediate component is `ENOENT`/`ENOTDIR`. Anything that would leave
/// `root` is `ENOTCAPABLE`.
pub fn resolve(root: &Path, guest: &[u8], follow_final: bool) -> Result<Resolved, Errno> {
    if guest.is_empty() {
        return Err(Errno::NOENT);
    }
    if guest.contains(&0) {
        return Err(Errno::ILSEQ);
    }
    if guest.starts_with(b"/") {
        return Err(Errno::NOTCAPABLE);
    }
    let trailing_slash = guest.ends_with(b"/");
    let mut work: VecDeque<Vec<u8>> = guest.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut expansions = 0;
    let host = |stack: &[Vec<u8>]| -> PathBuf {
        let mut p = root.to_path_buf();
        p.extend(stack.iter().map(|c| OsStr::from_bytes(c)));
        p
    };
    while let Some(component) = work.pop_front() {
        match component.as_slice() {
            b"" | b"." => continue,
            b".." => {
                if stack.pop().is_none() {
                    return Err(Errno::NOTCAPABLE);
                }
                continue;
            }
            _ => {}
        }
        let is_last = work.is_empty();
        stack.push(component);
        if is_last && !follow_final {
            break;
        }
        let path = host(&stack);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                expansions += 1;
                if expansions > MAX_SYMLINK_EXPANSIONS {
                    return Err(Errno::LOOP);
                }
                let target = fs::read_link(&path)?;
                let target = target.as_os_str().as_bytes();
                if target.starts_with(b"/") || target.is_empty() {
                    return Err(Errno::NOTCAPABLE);
                }
                stack.pop();
                for c in target.split(|&b| b == b'/').rev() {
                    work.push_front(c.to_vec());
                }
            }
            Ok(m) => {
                if !is_last && !m.is_dir() {
                    return Err(Errno::NOTDIR);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !is_last {
                    return Err(Errno::NOENT);
                }
            }
            Err(e) => return Err(Errno::from(e)),
        }
    }
    Ok(Resolved {
        path: host(&stack),
        is_root: stack.is_empty(),
        trailing_slash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let p =
                std::env::temp_dir().join(format!("strata-wasi-fs-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p.canonicalize().unwrap())
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn dot_dot_cannot_escape() {
        let t = TempDir::new("dotdot");
        let root = t.0.join("root");
        fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(resolve(&root, b"../x", true), Err(Errno::NOTCAPABLE));
        assert_eq!(resolve(&root, b"a/../../x", true), Err(Errno::NOTCAPABLE));
        assert_eq!(resolve(&root, b"/etc/passwd", true), Err(Errno::NOTCAPABLE));
        let r = resolve(&root, b"a/b/../../x", true).unwrap();
        assert_eq!(r.path, root.join("x"));
        assert!(resolve(&root, b"a/..", true).unwrap().is_root);
        assert!(resolve(&root, b".", false).unwrap().is_root);
        assert_eq!(resolve(&root, b"", true), Err(Errno::NOENT));
        assert_eq!(resolve(&root, b"nope/x", true), Err(Errno::NOENT));
    }

    #[test]
    fn symlinks_are_followed_inside_only() {
        let t = TempDir::new("links");
        let root = t.0.join("root");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/file"), b"x").unwrap();
        fs::write(t.0.join("secret"), b"s").unwrap();
        symlink("sub", root.join("in")).unwrap();
        symlink("../secret", root.join("out")).unwrap();
        symlink(t.0.join("secret"), root.join("abs")).unwrap();
        symlink("loop", root.join("loop")).unwrap();

        assert_eq!(
            resolve(&root, b"in/file", false).unwrap().path,
            root.join("sub/file")
        );
        assert_eq!(resolve(&root, b"in", true).unwrap().path, root.join("sub"));
        // Not following the final link: the link itself.
        assert_eq!(
            resolve(&root, b"out", false).unwrap().path,
            root.join("out")
        );
        assert_eq!(resolve(&root, b"out", true), Err(Errno::NOTCAPABLE));
        assert_eq!(resolve(&root, b"abs", true), Err(Errno::NOTCAPABLE));
        assert_eq!(resolve(&root, b"abs/x", false), Err(Errno::NOTCAPABLE));
        assert_eq!(resolve(&root, b"loop", true), Err(Errno::LOOP));
        // A link inside a subdirectory resolves relative to it, and may not leave the root.
        symlink("../../secret", root.join("sub/up")).unwrap();
        assert_eq!(resolve(&root, b"sub/up", true), Err(Errno::NOTCAPABLE));
        // But the same link seen from a directory one level higher stays inside.
        assert_eq!(
            resolve(&t.0, b"root/sub/up", true).unwrap().path,
            t.0.join("secret")
        );
        // A file used as a directory.
        assert_eq!(resolve(&root, b"sub/file/x", false), Err(Errno::NOTDIR));
    }

    #[test]
    fn lowest_free_descriptor() {
        let mut t = FdTable::default();
        let d = |p: &str| FdEntry {
            handle: Handle::Dir(Dir::new(PathBuf::from(p))),
            rights_base: 0,
            rights_inheriting: 0,
            flags: 0,
            preopen: None,
        };
        assert_eq!(t.insert(d("/a")).unwrap(), 3);
        assert_eq!(t.insert(d("/b")).unwrap(), 4);
        t.remove(3).unwrap();
        assert_eq!(t.insert(d("/c")).unwrap(), 3);
        assert_eq!(t.remove(9).err(), Some(Errno::BADF));
        assert_eq!(t.dir(1).err(), Some(Errno::NOTDIR));
        t.renumber(4, 1).unwrap();
        assert_eq!(t.dir_path(1).unwrap(), Path::new("/b"));
        assert_eq!(t.get(4).err(), Some(Errno::BADF));
    }
}
