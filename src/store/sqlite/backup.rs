//! Online backup and restore of the one database file (RELIABILITY.md Q5), and the
//! lock that keeps a restore from pulling the file from under a running Keel.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::private_files;
use crate::error::{Error, Result};

/// The database file a `sqlite:` URL names.
pub fn database_path(url: &str) -> Result<PathBuf> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| Error::internal("database url", e))?;
    Ok(options.get_filename().to_path_buf())
}

/// Held by every Keel process that uses the database (shared), and by restore
/// (exclusive), through a lock file beside the database. `keel run` also holds the
/// runner lock, so a second `keel run` on the same file refuses to start (M4).
pub struct DatabaseLock {
    _file: File,
    _runner: Option<File>,
}

fn lock_path(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn open_lock(db: &Path) -> Result<File> {
    open_lock_file(&lock_path(db, ".keel-lock"))
}

fn open_lock_file(path: &Path) -> Result<File> {
    let file = private_files::create_options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::internal("opening the database lock file", e))?;
    private_files::narrow(path)?;
    Ok(file)
}

impl DatabaseLock {
    /// Taken by `keel run` and `keel console` for as long as they run.
    pub fn shared(db: &Path) -> Result<DatabaseLock> {
        let file = open_lock(db)?;
        file.try_lock_shared().map_err(|_| {
            Error::internal(
                "database lock",
                "a restore of this database is under way; try again when it has finished",
            )
        })?;
        Ok(DatabaseLock {
            _file: file,
            _runner: None,
        })
    }

    /// Taken by `keel run`: the shared lock, and the runner lock alone. One SQLite
    /// file has one writer process; several processes need PostgreSQL.
    pub fn runner(db: &Path) -> Result<DatabaseLock> {
        let path = lock_path(db, ".keel-run-lock");
        let mut runner = open_lock_file(&path)?;
        if runner.try_lock().is_err() {
            let mut holder = String::new();
            let _ = runner.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                String::new()
            } else {
                format!(" (process {holder})")
            };
            return Err(Error::internal(
                "database lock",
                format!(
                    "another `keel run` is already serving {}{holder}. Stop it first, or give \
                     this one its own database.url; several Keel processes share one \
                     database only on PostgreSQL",
                    db.display()
                ),
            ));
        }
        runner
            .set_len(0)
            .and_then(|()| runner.write_all(std::process::id().to_string().as_bytes()))
            .map_err(|e| Error::internal("writing the runner lock file", e))?;
        let mut lock = DatabaseLock::shared(db)?;
        lock._runner = Some(runner);
        Ok(lock)
    }

    pub(in crate::store) fn exclusive(db: &Path) -> Result<DatabaseLock> {
        let file = open_lock(db)?;
        file.try_lock().map_err(|_| {
            Error::internal(
                "database lock",
                "Keel is running on this database; stop it (keel run, keel console) before restoring",
            )
        })?;
        Ok(DatabaseLock {
            _file: file,
            _runner: None,
        })
    }
}

fn fsync_dir(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::internal("syncing the directory", e))
}

/// Runs `PRAGMA integrity_check` on a file, read-only.
pub async fn integrity_check(path: &Path) -> Result<String> {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let result: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(result)
}

/// Copies the live database into `target` with `VACUUM INTO` (a consistent
/// snapshot, safe while Keel runs), syncs it to disk and checks its integrity.
pub async fn backup(url: &str, target: &Path) -> Result<u64> {
    if target.exists() {
        return Err(Error::internal(
            "backup",
            format!(
                "{} already exists; choose a new file name",
                target.display()
            ),
        ));
    }
    let source = database_path(url)?;
    if !source.exists() {
        return Err(Error::internal(
            "backup",
            format!("there is no database at {}", source.display()),
        ));
    }
    // Created private and empty first: VACUUM INTO fills an empty file, and one it
    // created itself would be readable by everyone the umask allows.
    private_files::create_new(target)
        .map_err(|e| Error::internal("backup", format!("creating {}: {e}", target.display())))?;
    if let Err(e) = vacuum_into(&source, target).await {
        // Not a backup: leave the name free for the next attempt.
        let _ = std::fs::remove_file(target);
        return Err(e);
    }
    File::open(target)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::internal("syncing the backup", e))?;
    fsync_dir(target)?;
    let check = integrity_check(target).await?;
    if check != "ok" {
        return Err(Error::internal("backup integrity check", check));
    }
    Ok(std::fs::metadata(target).map(|m| m.len()).unwrap_or(0))
}

async fn vacuum_into(source: &Path, target: &Path) -> Result<()> {
    let mut conn = SqliteConnectOptions::new()
        .filename(source)
        .connect()
        .await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target.to_string_lossy().to_string())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Replaces the database with `backup` after checking it. The current file is
/// kept beside it as `<name>.before-restore-<time>`. Refuses while Keel runs.
pub async fn restore(url: &str, backup: &Path) -> Result<Option<PathBuf>> {
    let target = database_path(url)?;
    if !backup.exists() {
        return Err(Error::internal(
            "restore",
            format!("there is no file {}", backup.display()),
        ));
    }
    let check = integrity_check(backup).await?;
    if check != "ok" {
        return Err(Error::internal(
            "restore",
            format!("{} fails its integrity check: {check}", backup.display()),
        ));
    }
    let _lock = DatabaseLock::exclusive(&target)?;
    let staging = target.with_extension("restore-tmp");
    std::fs::copy(backup, &staging).map_err(|e| Error::internal("copying the backup", e))?;
    // The copy took the backup's permissions; the database is the owner's alone.
    private_files::narrow(&staging)?;
    File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::internal("syncing the restored file", e))?;
    let mut kept = None;
    if target.exists() {
        // Fold the WAL into the file first, so the kept copy is whole on its own.
        let mut conn = SqliteConnectOptions::new()
            .filename(&target)
            .connect()
            .await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut name = target.as_os_str().to_owned();
        name.push(format!(".before-restore-{stamp}"));
        let aside = PathBuf::from(name);
        std::fs::rename(&target, &aside)
            .map_err(|e| Error::internal("keeping the current database", e))?;
        kept = Some(aside);
    }
    for suffix in ["-wal", "-shm"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    std::fs::rename(&staging, &target)
        .map_err(|e| Error::internal("putting the backup in place", e))?;
    fsync_dir(&target)?;
    Ok(kept)
}
