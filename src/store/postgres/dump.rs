//! `keel backup` and `keel restore` on PostgreSQL wrap `pg_dump` and `pg_restore`,
//! PostgreSQL's own tools (installed with its client), in their custom format.
//! The password goes to them in the environment (PGPASSWORD), never on a command
//! line other users could read.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::error::{Error, Result};

/// The URL without its password, and the password (percent-decoded), if any.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| *c == '/' || *c == '?')
        .unwrap_or((rest.len(), ' '));
    let Some((credentials, host)) = rest[..authority_end].rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let Some((user, password)) = credentials.split_once(':') else {
        return (url.to_string(), None);
    };
    (
        format!("{scheme}://{user}@{host}{}", &rest[authority_end..]),
        Some(percent_decode(password)),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run(tool: &'static str, args: &[&str], url: &str) -> Result<()> {
    let (dbname, password) = split_password(url);
    let mut command = Command::new(tool);
    command
        .args(args)
        .arg(format!("--dbname={dbname}"))
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(|e| {
        Error::internal(
            "running PostgreSQL's tools",
            format!(
                "{tool} could not be started ({e}); install PostgreSQL's client tools \
                 (Debian: apt install postgresql-client)"
            ),
        )
    })?;
    if !output.status.success() {
        return Err(Error::internal(
            "running PostgreSQL's tools",
            format!(
                "{tool} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// `pg_dump --format=custom` of the database into `target`, which must not exist.
/// Returns its size.
pub async fn backup(url: &str, target: &Path) -> Result<u64> {
    if target.exists() {
        return Err(Error::internal(
            "backup",
            format!("{} already exists; name a new file", target.display()),
        ));
    }
    let file = target.to_string_lossy();
    run("pg_dump", &["--format=custom", "--file", &file], url).await?;
    super::super::private_files::narrow(target)?;
    std::fs::metadata(target)
        .map(|m| m.len())
        .map_err(|e| Error::internal("backup", e))
}

/// `pg_restore --clean --if-exists` of a `keel backup` file into the database, in
/// one transaction: the database is as the backup was, or unchanged.
pub async fn restore(url: &str, backup: &Path) -> Result<()> {
    let file = backup.to_string_lossy();
    run(
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            &file,
        ],
        url,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn the_password_leaves_the_url_decoded() {
        assert_eq!(
            split_password("postgres://keel:p%40ss@db:5432/keel?sslmode=require"),
            (
                "postgres://keel@db:5432/keel?sslmode=require".to_string(),
                Some("p@ss".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://keel@db/keel"),
            ("postgres://keel@db/keel".to_string(), None)
        );
    }
}
