//! The engine's writer: one thread per engine that does the run store's work for running runs
//! (task and run state changes, the cache) and sends the events that follow each change, so
//! SQLite never runs on the async worker threads.
//!
//! Work is queued in order and done in that order, and an event is sent only after the write
//! it reports, so a listener that reads the store on an event always finds the change there.
//! The scheduler queues writes without waiting ([`Recorder::send`]); what needs an answer (a
//! cache lookup, a run's state) waits for its turn without blocking a thread
//! ([`Recorder::call`]). The thread ends when the engine and its runs are gone.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::events::Events;
use crate::store::RunStore;

type Job = Box<dyn FnOnce(&RunStore, &Events) + Send>;

/// The queue of the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

impl Recorder {
    /// Starts the writer thread of `store`, sending events to `events`.
    pub fn start(store: RunStore, events: Events) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pipeline-canvas-recorder".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    // A failing job must not take the engine's record keeping down with it.
                    if std::panic::catch_unwind(AssertUnwindSafe(|| job(&store, &events))).is_err()
                    {
                        tracing::error!("a run store update failed unexpectedly");
                    }
                }
            })?;
        Ok(Self { tx })
    }

    /// Queues `job` after everything queued before; returns at once.
    pub fn send(&self, job: impl FnOnce(&RunStore, &Events) + Send + 'static) {
        if self.tx.send(Box::new(job)).is_err() {
            tracing::error!("the run store writer has stopped; a change was not recorded");
        }
    }

    /// Runs `job` after everything queued before and returns its answer; `None` when the
    /// writer has stopped.
    pub async fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&RunStore, &Events) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.send(move |store, events| {
            let _ = tx.send(job(store, events));
        });
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_is_done_in_order_off_the_async_threads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RunStore::open(dir.path()).expect("open");
        let recorder = Recorder::start(store, Events::new()).expect("start");
        let caller = std::thread::current().id();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for i in 0..100 {
            let seen = seen.clone();
            recorder.send(move |_, _| {
                if let Ok(mut s) = seen.lock() {
                    s.push(i);
                }
            });
        }
        let thread = recorder
            .call(|_, _| std::thread::current().id())
            .await
            .expect("answer");
        assert_ne!(thread, caller);
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        // A job that panics does not stop the writer.
        recorder.send(|_, _| panic!("a job that fails"));
        assert_eq!(recorder.call(|_, _| 7).await, Some(7));
    }
}
