//! A file's bytes to the upload URL Slack gives (files.getUploadURLExternal),
//! streamed from where they are. slack-morphism's own upload takes the whole file
//! in memory, which for an export would grow with the community's history (R7);
//! here an export goes from its spool in chunks.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::domain::reply::{Attachment, Body};
use crate::spool::Spool;

type UploadBody = UnsyncBoxBody<Bytes, io::Error>;

/// Uploads files to the URLs Slack hands out.
pub struct Uploader {
    client: Client<HttpsConnector<HttpConnector>, UploadBody>,
}

/// Why an upload did not go through.
#[derive(Debug)]
pub enum UploadError {
    /// 429, with Slack's Retry-After if it gave one.
    RateLimited(Option<Duration>),
    /// Slack answered with another error status.
    Refused(u16),
    /// No answer: the connection failed, or the deadline passed (R1).
    NoAnswer(String),
}

/// Every upload may take this long, plus a second per `BYTES_PER_SECOND`: a
/// deadline that still lets a large export through a slow link.
const DEADLINE: Duration = Duration::from_secs(30);
const BYTES_PER_SECOND: u64 = 1024 * 1024;
/// What is read from the spool and sent at a time.
const CHUNK: usize = 256 * 1024;

impl Uploader {
    pub fn new() -> io::Result<Uploader> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Uploader {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// POSTs the file's upload bytes (a gzipped export as it is spooled) to `url`,
    /// authorised by the bot token as Slack's clients do.
    pub async fn upload(
        &self,
        url: &str,
        bot_token: &str,
        file: &Attachment,
    ) -> Result<(), UploadError> {
        let length = file.upload_len();
        let request = hyper::Request::post(url)
            .header(CONTENT_TYPE, file.upload_media_type())
            .header(CONTENT_LENGTH, length)
            .header(AUTHORIZATION, format!("Bearer {bot_token}"))
            .body(body_of(file))
            .map_err(|e| UploadError::NoAnswer(e.to_string()))?;
        let deadline = DEADLINE + Duration::from_secs(length / BYTES_PER_SECOND);
        let response = tokio::time::timeout(deadline, self.client.request(request))
            .await
            .map_err(|_| UploadError::NoAnswer(format!("no answer within {deadline:?}")))?
            .map_err(|e| UploadError::NoAnswer(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() == 429 {
            let after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs);
            return Err(UploadError::RateLimited(after));
        }
        Err(UploadError::Refused(status.as_u16()))
    }
}

/// The upload's bytes: a chart as it is, an export read from its spool a chunk at
/// a time (each read on the blocking pool, off the threads that serve commands).
fn body_of(file: &Attachment) -> UploadBody {
    match &file.body {
        Body::InMemory(bytes) => Full::new(Bytes::from(bytes.clone()))
            .map_err(|never| match never {})
            .boxed_unsync(),
        Body::Gzipped(spool) => {
            let chunks = futures_util::stream::try_unfold(
                (spool.clone(), 0u64),
                |(spool, offset)| async move {
                    let (chunk, spool) = tokio::task::spawn_blocking(move || {
                        read_chunk(&spool, offset).map(|chunk| (chunk, spool))
                    })
                    .await
                    .map_err(io::Error::other)??;
                    if chunk.is_empty() {
                        return Ok(None);
                    }
                    let next = offset + chunk.len() as u64;
                    Ok(Some((Frame::data(Bytes::from(chunk)), (spool, next))))
                },
            );
            StreamBody::new(chunks).boxed_unsync()
        }
    }
}

fn read_chunk(spool: &Arc<Spool>, offset: u64) -> io::Result<Vec<u8>> {
    let mut chunk = vec![0; CHUNK];
    let n = spool.read_at(offset, &mut chunk)?;
    chunk.truncate(n);
    Ok(chunk)
}
