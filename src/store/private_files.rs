//! Files holding data are readable by their owner only (RELIABILITY.md R9): the
//! database, the files SQLite keeps beside it, the lock file and backups.
//!
//! SQLite creates a new database with the process's umask (0644 under the usual
//! 022), and its `-wal` and `-shm` files with the database file's own mode. So
//! Keel creates the database file 0600 before SQLite opens it, and the rest
//! follows; a file an older Keel (or a copy by hand) left readable by others is
//! narrowed when Keel opens it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What SQLite keeps beside the database: a WAL, its shared-memory index, and a
/// rollback journal (only while migrating from another journal mode).
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Options that create a file readable and writable by its owner alone.
pub fn create_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `path` empty and private unless it exists; fails if it does.
pub fn create_new(path: &Path) -> io::Result<File> {
    create_options().write(true).create_new(true).open(path)
}

/// Takes group and other permissions off `path`, if it exists and has any.
pub fn narrow(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::internal("reading a data file's permissions", e)),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)).map_err(
                |e| {
                    Error::internal(
                        "making a data file readable by its owner only",
                        format!("{}: {e}", path.display()),
                    )
                },
            )?;
            tracing::info!(file = %path.display(), "made readable by its owner only");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Before SQLite opens `db`: creates it private if missing, and narrows it and
/// its companions if they are there.
pub fn prepare_database(db: &Path) -> Result<()> {
    match create_new(db) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => narrow(db)?,
        // A directory that does not exist, say: SQLite reports it more usefully.
        Err(_) => return Ok(()),
    }
    for suffix in COMPANIONS {
        narrow(&beside(db, suffix))?;
    }
    Ok(())
}
