//! The console adapter: reads commands line by line (typed, or piped from a file),
//! runs them through the seam as one member, prints the replies, and prints
//! milestone announcements as they are delivered. It also finishes erasures and
//! merges left under way (by a large `forget-me` or `link`, a purge, or an
//! interrupted run). The tokenless way to try Keel.

pub mod render;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::app::App;
use crate::domain::reply::Attachment;
use crate::domain::{Envelope, Platform, Role};
use crate::error::{Error, Result};
use crate::jobs::outbox::{Deliverer, DeliveryError, Notifier};
use crate::store::outbox::{Delivery, Posted};

pub struct ConsoleOptions {
    pub member: String,
    pub organiser: bool,
    pub community: String,
    /// Where exports and charts are written.
    pub output_dir: PathBuf,
}

/// Prints announcements for console workspaces.
pub struct ConsoleNotifier;

impl Notifier for ConsoleNotifier {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            let heading = match &delivery.recipient {
                Some(member) => format!("✉️ Private message to {member}:"),
                None if !delivery.recipients.is_empty() => {
                    format!("👥 To {} together:", delivery.recipients.join(", "))
                }
                None => format!(
                    "📣 Announcement to {}:",
                    delivery
                        .channel
                        .as_deref()
                        .unwrap_or("the organisers' channel")
                ),
            };
            let text = render::reply(&delivery.body);
            let mut out = std::io::stdout().lock();
            writeln!(out, "{heading}\n{text}")
                .and_then(|_| out.flush())
                .map_err(|e| DeliveryError::Retry {
                    after: None,
                    reason: e.to_string(),
                })?;
            Ok(Posted {
                channel: "console".into(),
                message: delivery.announcement.to_string(),
            })
        }
        .boxed()
    }

    /// A terminal cannot change what it printed: it prints the new text, saying
    /// which announcement it replaces.
    fn edit<'a>(
        &'a self,
        delivery: &'a Delivery,
        posted: &'a Posted,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            let text = render::reply(&delivery.body);
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "✏️ Announcement #{} in {} is now:\n{text}",
                posted.message, posted.channel
            )
            .and_then(|_| out.flush())
            .map_err(|e| DeliveryError::Retry {
                after: None,
                reason: e.to_string(),
            })
        }
        .boxed()
    }
}

/// Runs the console until the input ends. Returns how many commands failed.
pub async fn run(
    app: App,
    options: ConsoleOptions,
    mut input: impl AsyncBufRead + Unpin,
) -> Result<usize> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let envelope = Envelope {
        platform: Platform::Console,
        workspace_id: options.community.clone(),
        workspace_name: options.community.clone(),
        user_id: options.member.clone(),
        user_name: options.member.clone(),
        role: if options.organiser {
            Role::Organiser
        } else {
            Role::Member
        },
    };
    let actor = app
        .actor(&envelope)
        .await
        .map_err(|e| Error::internal("console", e.to_string()))?;
    let deliverer = Deliverer::new(app.clone(), vec![Arc::new(ConsoleNotifier)]);
    finish_member_jobs(&app).await;
    if interactive {
        println!(
            "Keel console · community “{}” · you are {}{} · `help` lists commands, Ctrl-D quits.",
            options.community,
            options.member,
            if options.organiser {
                " (organiser)"
            } else {
                ""
            }
        );
    }
    let mut failures = 0;
    let mut buffer = Vec::new();
    loop {
        if interactive {
            print!("keel> ");
            let _ = std::io::stdout().flush();
        }
        buffer.clear();
        let read = input
            .read_until(b'\n', &mut buffer)
            .await
            .map_err(|e| Error::internal("reading console input", e))?;
        if read == 0 {
            break;
        }
        let Ok(line) = std::str::from_utf8(&buffer) else {
            println!(
                "✗ That line is not valid UTF-8 text; nothing was done. Check the file's encoding."
            );
            failures += 1;
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if matches!(line.trim(), "quit" | "exit") {
            break;
        }
        if !interactive {
            println!("> {line}");
        }
        // Re-resolve each time: `link` and `forget-me` change who this name is.
        let actor = match app.actor(&envelope).await {
            Ok(a) => a,
            Err(_) => actor.clone(),
        };
        match app.handle_line(&actor, line).await {
            Ok(reply) => {
                println!("{}", render::reply(&reply));
                for attachment in &reply.attachments {
                    match save(&options.output_dir, attachment) {
                        Ok((path, bytes)) => println!("Saved {} ({bytes} bytes)", path.display()),
                        Err(e) => println!("✗ Could not save {}: {e}", attachment.filename),
                    }
                }
            }
            Err(e) => {
                failures += 1;
                println!("✗ {e}");
            }
        }
        finish_member_jobs(&app).await;
        if let Err(e) = deliverer.deliver_due().await {
            tracing::error!(error = %e, "console announcement delivery failed");
        }
        println!();
    }
    deliverer.deliver_due().await?;
    Ok(failures)
}

/// Drives any merge or erasure under way to its end.
async fn finish_member_jobs(app: &App) {
    if let Err(e) = crate::app::merge_pending(app, || true).await {
        tracing::error!(error = %e, "console merges failed");
    }
    if let Err(e) = crate::app::erase_pending(app, || true).await {
        tracing::error!(error = %e, "console erasures failed");
    }
}

/// Writes an attachment into `dir` without overwriting: `name.csv`, `name-1.csv`…
/// A gzipped one is saved decompressed. Returns the path and the bytes written.
/// The file holds community data, so only its owner may read it (R9), and so may
/// `dir` and any parents it takes creating first.
fn save(dir: &Path, attachment: &Attachment) -> std::io::Result<(PathBuf, u64)> {
    private_dir(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "the output directory {} could not be created: {e}",
                dir.display()
            ),
        )
    })?;
    let name = Path::new(&attachment.filename)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "keel-output".into());
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.clone(), String::new()),
    };
    for n in 0..1000 {
        let candidate = if n == 0 {
            dir.join(&name)
        } else {
            dir.join(format!("{stem}-{n}{ext}"))
        };
        match crate::store::private_files::create_new(&candidate) {
            Ok(file) => {
                let mut out = std::io::BufWriter::new(file);
                let bytes = attachment.write_contents(&mut out)?;
                out.into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?
                    .sync_all()?;
                return Ok((candidate, bytes));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many files with that name"))
}

/// Creates `dir`, and any parents missing, readable by their owner only; one
/// that exists is left as it is.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
