//! The queue in front of an engine's contribution writer: callers send a request
//! and wait for its answer; the engine's task takes what is queued in batches.
//! Both engines' group commit sit behind this one handle.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::error::{Error, Result};

/// The most contributions written in one transaction.
pub(in crate::store) const MAX_BATCH: usize = 512;

pub(in crate::store) struct Job {
    pub request: ContributionRequest,
    pub reply: oneshot::Sender<Result<Recorded>>,
}

pub(in crate::store) enum Message {
    Record(Job),
    Close(oneshot::Sender<()>),
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Message>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Writer {
    /// Starts `run`, the engine's writer, on the queue's receiving end.
    pub(in crate::store) fn start<F>(run: impl FnOnce(mpsc::Receiver<Message>) -> F) -> Writer
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (queue, inbox) = mpsc::channel(8192);
        let task = tokio::spawn(run(inbox));
        Writer {
            queue,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    /// Records a contribution; returns once it is committed.
    pub async fn record(&self, request: ContributionRequest) -> Result<Recorded> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Record(Job { request, reply }))
            .await
            .map_err(|_| Error::internal("contribution writer", "the writer has stopped"))?;
        answer.await.map_err(|_| {
            Error::internal("contribution writer", "the writer stopped before answering")
        })?
    }

    /// Finishes what is queued, then stops the writer.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.queue.send(Message::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}
