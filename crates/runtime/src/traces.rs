//! Deferred traces: a durable step writes its trace page into its own execution row
//! (`trace_tail`, [`store::Checkpoint::tail`]) and this module's writer moves the pages into
//! the trace table later, many executions in one transaction. The step's statement then
//! writes one row instead of a row and a trace row with its key entry (BENCHMARKS.md,
//! "Durable runtime").
//!
//! The invariant: every record of a committed step is in the trace table or in the row's
//! latest tail (readers take each page once). A step's tail holds every page of its
//! execution that the writer has not yet confirmed in the table, so a page leaves the tails
//! only after its insert has committed. After a crash the pages still in tails stay readable;
//! the process that takes an execution over moves its stored tail before its first step
//! replaces it ([`TraceCursor::taken_over`]).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use store::{Store, TracePage};
use tokio::sync::mpsc;

/// How long the writer gathers pages before writing them: one transaction per interval,
/// whatever the number of steps in it.
const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// Executions per transaction of the writer, at most.
const FLUSH_BATCH: usize = 1024;

/// After a failed write, the writer waits this long before trying again (the pages are
/// safe in their tails meanwhile).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A tail this long (the writer failing or far behind) is moved by the step itself before
/// it writes, so that rows stay small.
const MAX_TAIL_PAGES: usize = 16;

/// The deferred trace pages of one execution, shared by its checkpoints (which write them
/// into the row's tail) and the writer (which moves them into the table).
#[derive(Debug)]
pub(crate) struct TraceQueue {
    id: String,
    state: Mutex<QueueState>,
}

#[derive(Debug)]
struct QueueState {
    /// The number of the next record.
    next_seq: i64,
    /// Written to tails, not yet confirmed in the table; ascending `seq`.
    pages: Vec<TracePage>,
    /// The stored tail may hold pages this process never saw: move it before replacing it.
    stale: bool,
    /// Handed to the writer and not yet done with.
    queued: bool,
    /// The execution has finished: once its pages are moved, its tail can be cleared.
    finished: bool,
}

/// Where an execution's trace has got to, as its checkpoints need it. Until its first step
/// here, only the numbering, with nothing allocated: 100,000s of resumed tasks park.
#[derive(Debug)]
pub struct TraceCursor(Cursor);

#[derive(Debug)]
enum Cursor {
    Idle { records: i64, stale: bool },
    Queued(Arc<TraceQueue>),
}

impl TraceCursor {
    /// An execution started here, whose trace holds `records` records (all in the table).
    pub fn started(records: i64) -> TraceCursor {
        TraceCursor(Cursor::Idle {
            records,
            stale: false,
        })
    }

    /// An execution taken over from the store with `records` records (its `trace_seq`):
    /// its stored tail may hold pages the previous owner never moved.
    pub fn taken_over(records: i64) -> TraceCursor {
        TraceCursor(Cursor::Idle {
            records,
            stale: true,
        })
    }

    /// The queue of execution `id`, made at its first use.
    pub(crate) fn queue(&mut self, id: &str) -> Arc<TraceQueue> {
        match &self.0 {
            Cursor::Queued(q) => q.clone(),
            Cursor::Idle { records, stale } => {
                let q = TraceQueue::new(id, *records, *stale);
                self.0 = Cursor::Queued(q.clone());
                q
            }
        }
    }
}

impl TraceQueue {
    fn new(id: &str, records: i64, stale: bool) -> Arc<TraceQueue> {
        Arc::new(TraceQueue {
            id: id.to_owned(),
            state: Mutex::new(QueueState {
                next_seq: records + 1,
                pages: Vec::new(),
                stale,
                queued: false,
                finished: false,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Moves deferred trace pages into the trace table in the background. Cheap to clone; the
/// writing task starts with the first page and ends (after a last write) when every clone
/// is gone.
#[derive(Clone)]
pub struct TraceWriter {
    store: Store,
    sender: Arc<OnceLock<mpsc::UnboundedSender<Arc<TraceQueue>>>>,
}

impl TraceWriter {
    pub fn new(store: Store) -> TraceWriter {
        TraceWriter {
            store,
            sender: Arc::new(OnceLock::new()),
        }
    }

    /// Before a step of `queue`'s execution is written: moves a stale stored tail (and an
    /// overlong one) now, then returns what the step's tail starts with (the unconfirmed
    /// pages) and the number its own page's first record takes (the queue's next).
    pub(crate) async fn prepare(
        &self,
        queue: &TraceQueue,
    ) -> Result<(Vec<TracePage>, i64), store::StoreError> {
        if queue.lock().stale {
            self.store.move_trace_tail(&queue.id).await?;
            queue.lock().stale = false;
        }
        let overlong = {
            let q = queue.lock();
            (q.pages.len() >= MAX_TAIL_PAGES).then(|| q.pages.clone())
        };
        if let Some(pages) = overlong {
            let refs: Vec<(&str, &TracePage)> =
                pages.iter().map(|p| (queue.id.as_str(), p)).collect();
            self.store.append_trace_pages(&refs, &[]).await?;
            confirm(queue, pages.last().map_or(0, |p| p.seq));
        }
        let q = queue.lock();
        let mut tail = Vec::with_capacity(q.pages.len() + 1);
        tail.extend_from_slice(&q.pages);
        Ok((tail, q.next_seq))
    }

    /// After the step's checkpoint committed: its page (the tail's last, if it had records)
    /// is now to be moved, and the queue is handed to the writer.
    pub(crate) fn committed(
        &self,
        queue: &Arc<TraceQueue>,
        tail: Vec<TracePage>,
        records: usize,
        finished: bool,
    ) {
        let send = {
            let mut q = queue.lock();
            if records > 0 {
                if let Some(page) = tail.into_iter().last() {
                    q.pages.push(page);
                }
                q.next_seq += records as i64;
            }
            q.finished |= finished;
            let send = !q.queued && (!q.pages.is_empty() || q.finished);
            q.queued |= send;
            send
        };
        if send {
            let sender = self.sender.get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(write_pages(self.store.clone(), rx));
                tx
            });
            // The task only ends when every sender is gone, and this is one.
            let _ = sender.send(queue.clone());
        }
    }
}

/// Drops the pages up to `upto` from the queue (they are in the table now).
fn confirm(queue: &TraceQueue, upto: i64) {
    queue.lock().pages.retain(|p| p.seq > upto);
}

/// The writing task: gathers queues for [`FLUSH_EVERY`], moves their pages in one
/// transaction, confirms them; again.
async fn write_pages(store: Store, mut rx: mpsc::UnboundedReceiver<Arc<TraceQueue>>) {
    let mut due: Vec<Arc<TraceQueue>> = Vec::new();
    let mut open = true;
    while open || !due.is_empty() {
        if due.is_empty() {
            match rx.recv().await {
                Some(q) => due.push(q),
                None => return,
            }
        }
        // Sleeping, not waiting on the channel, while pages gather: a step's send then
        // wakes no one (one wake-up per write, not one per step).
        if open {
            tokio::time::sleep(FLUSH_EVERY).await;
        }
        loop {
            match rx.try_recv() {
                Ok(q) => due.push(q),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let batch: Vec<Arc<TraceQueue>> = due.drain(..due.len().min(FLUSH_BATCH)).collect();
        let taken: Vec<(Vec<TracePage>, bool)> = batch
            .iter()
            .map(|q| {
                let s = q.lock();
                (s.pages.clone(), s.finished)
            })
            .collect();
        let pages: Vec<(&str, &TracePage)> = batch
            .iter()
            .zip(&taken)
            .flat_map(|(q, (pages, _))| pages.iter().map(move |p| (q.id.as_str(), p)))
            .collect();
        let finished: Vec<&str> = batch
            .iter()
            .zip(&taken)
            .filter(|(_, (_, finished))| *finished)
            .map(|(q, _)| q.id.as_str())
            .collect();
        match store.append_trace_pages(&pages, &finished).await {
            Ok(()) => {
                for (q, (pages, _)) in batch.iter().zip(&taken) {
                    let mut s = q.lock();
                    if let Some(last) = pages.last() {
                        s.pages.retain(|p| p.seq > last.seq);
                    }
                    // Pages added meanwhile go in the next write; otherwise done.
                    if s.pages.is_empty() {
                        s.queued = false;
                    } else {
                        drop(s);
                        due.push(q.clone());
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, pages = pages.len(), "cannot move trace pages; retrying");
                due.extend(batch);
                if open {
                    tokio::time::sleep(RETRY_AFTER).await;
                } else {
                    // Shutting down: the pages stay readable in their tails.
                    return;
                }
            }
        }
    }
}
