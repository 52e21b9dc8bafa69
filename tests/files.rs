//! Files holding data are readable by their owner only (RELIABILITY.md R9): the
//! database, its WAL and shared-memory files, the lock file and backups are created
//! 0600, and a database left readable by others is narrowed when Keel opens it.
#![cfg(unix)]

#[path = "support/db.rs"]
mod db;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use keel::store::backup::{self, DatabaseLock};
use keel::store::{Store, StoreOptions};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn beside(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

async fn write_something(store: &Store) {
    db::execute(
        store,
        "INSERT INTO communities (name, created_at) VALUES ('c', '2026-01-01T00:00:00Z')",
        &[],
    )
    .await;
}

#[tokio::test]
async fn new_database_wal_lock_and_backup_files_are_the_owners_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keel.db");
    let url = format!("sqlite://{}", db.display());
    let _lock = DatabaseLock::shared(&db).unwrap();
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    write_something(&store).await;
    for file in [
        db.clone(),
        beside(&db, "-wal"),
        beside(&db, "-shm"),
        beside(&db, ".keel-lock"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let copy = dir.path().join("backup.db");
    backup::backup(&url, &copy).await.unwrap();
    assert_eq!(mode(&copy), 0o600, "the backup");
    store.close().await;
}

#[tokio::test]
async fn a_database_readable_by_others_is_narrowed_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keel.db");
    let url = format!("sqlite://{}", db.display());
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    write_something(&store).await;
    store.close().await;
    // As an older Keel (or a copy made by hand) left it.
    let wal = beside(&db, "-wal");
    std::fs::write(&wal, b"").unwrap();
    for file in [&db, &wal] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let lock = beside(&db, ".keel-lock");
    std::fs::write(&lock, b"").unwrap();
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o644)).unwrap();

    let _lock = DatabaseLock::shared(&db).unwrap();
    let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
    write_something(&store).await;
    for file in [db.clone(), wal, beside(&db, "-shm"), lock] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    store.close().await;

    // A restore puts the backup in place as the owner's alone, whatever its mode.
    let copy = dir.path().join("backup.db");
    backup::backup(&url, &copy).await.unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(_lock);
    backup::restore(&url, &copy).await.unwrap();
    assert_eq!(mode(&db), 0o600, "the restored database");
}
