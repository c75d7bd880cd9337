//! The threads that own SQLite connections: one writer with group commit, a small pool of readers,
//! and a checkpointer that keeps WAL checkpoints off the commit path.
//!
//! Async callers hand a closure to a thread through a channel and await a oneshot answer, so no
//! tokio worker ever blocks on SQLite.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::{Result, StoreError};

/// How many jobs may wait for the writer before callers wait to enqueue (backpressure).
const WRITE_QUEUE: usize = 4096;
/// How many reads may wait for a reader thread.
const READ_QUEUE: usize = 1024;

/// One unit of work for the writer: run inside its own savepoint, answered after the commit.
trait WriteJob: Send {
    /// Runs the work; `true` if it succeeded (its savepoint is kept), `false` to roll it back.
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Sends the answer once the batch's fate is known: `commit` is the batch's commit result.
    fn answer(self: Box<Self>, commit: Result<(), String>);
}

/// A write job with a typed result and an optional waiter (`None` for fire-and-forget jobs).
struct Pending<F, T> {
    op: &'static str,
    work: Option<F>,
    result: Option<Result<T>>,
    reply: Option<oneshot::Sender<Result<T>>>,
}

impl<F, T> WriteJob for Pending<F, T>
where
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send,
    T: Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let Some(reply) = self.reply else { return };
        let answer = match (commit, self.result) {
            (Err(message), _) => Err(backend(self.op, &message)),
            (Ok(()), Some(result)) => result.map_err(|e| with_op(self.op, e)),
            (Ok(()), None) => Err(backend(self.op, "the job did not complete")),
        };
        // The caller may have given up waiting; its loss.
        let _ = reply.send(answer);
    }
}

/// Prefixes a backend error with the operation that hit it, for the logs.
fn with_op(op: &'static str, error: StoreError) -> StoreError {
    match error {
        StoreError::Backend(message) => backend(op, &message),
        other => other,
    }
}

fn backend(op: &'static str, message: &str) -> StoreError {
    StoreError::Backend(format!("{op}: {message}"))
}

/// The single writer thread and its queue.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer on `conn`. `batch_limit` caps how many queued jobs share one commit;
    /// `commits` counts committed batches (the checkpointer reads it).
    pub(crate) fn spawn(
        conn: Connection,
        batch_limit: usize,
        commits: Arc<AtomicU64>,
    ) -> Result<Self> {
        let (jobs, queue) = mpsc::channel(WRITE_QUEUE);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, queue, batch_limit.max(1), &commits))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` in the next group commit and answers once it is durable.
    pub(crate) async fn run<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(op, work, Some(reply)).await?;
        answer
            .await
            .map_err(|_| backend(op, "the writer dropped the job"))?
    }

    /// Queues `work` without waiting for it to run or commit (its failure is only logged).
    pub(crate) async fn detach<F>(&self, op: &'static str, work: F) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>) -> Result<()> + Send + 'static,
    {
        self.enqueue::<(), _>(op, work, None).await
    }

    async fn enqueue<T, F>(
        &self,
        op: &'static str,
        work: F,
        reply: Option<oneshot::Sender<Result<T>>>,
    ) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let job = Box::new(Pending {
            op,
            work: Some(work),
            result: None,
            reply,
        });
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| backend(op, "the store is closed"))?;
        jobs.send(job)
            .await
            .map_err(|_| backend(op, "the writer has stopped"))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued, then stop.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_loop(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn WriteJob>>,
    batch_limit: usize,
    commits: &AtomicU64,
) {
    let mut batch = Vec::with_capacity(batch_limit);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < batch_limit {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch);
        if outcome.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::error!(jobs = batch.len(), "sqlite group commit failed");
        }
        // Only now, with the batch durable (or failed as a whole), does anyone hear back.
        for job in batch.drain(..) {
            job.answer(outcome.clone());
        }
    }
}

/// Runs every job in its own savepoint inside one transaction and commits once.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn WriteJob>]) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| super::describe(&e))?;
    for job in batch.iter_mut() {
        run_in_savepoint(&tx, job.as_mut())?;
    }
    tx.commit().map_err(|e| super::describe(&e))
}

/// A failing (or panicking) job rolls back only its own savepoint. An error here means the
/// transaction itself is unusable, which fails the whole batch.
fn run_in_savepoint(tx: &Transaction<'_>, job: &mut dyn WriteJob) -> Result<(), String> {
    let step = |sql: &str| -> Result<(), String> {
        tx.prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
            .map(drop)
            .map_err(|e| super::describe(&e))
    };
    step("SAVEPOINT job")?;
    let succeeded = catch_unwind(AssertUnwindSafe(|| job.run(tx))).unwrap_or(false);
    if !succeeded {
        step("ROLLBACK TO job")?;
    }
    step("RELEASE job")
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// A small pool of read-only connections, each on its own thread, sharing one queue.
pub(crate) struct Readers {
    jobs: Option<mpsc::Sender<ReadJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl Readers {
    pub(crate) fn spawn(connections: Vec<Connection>) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<ReadJob>(READ_QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let mut readers = Self {
            jobs: Some(jobs),
            threads: Vec::new(),
        };
        for (n, conn) in connections.into_iter().enumerate() {
            let queue = Arc::clone(&queue);
            let thread = std::thread::Builder::new()
                .name(format!("sqlite-reader-{n}"))
                .spawn(move || reader_loop(&conn, &queue))
                .map_err(|e| StoreError::Backend(format!("cannot start a reader thread: {e}")))?;
            readers.threads.push(thread);
        }
        Ok(readers)
    }

    pub(crate) async fn run<T, F>(&self, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(work(conn).map_err(|e| with_op(op, e)));
        });
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| backend(op, "the store is closed"))?;
        jobs.send(job)
            .await
            .map_err(|_| backend(op, "the readers have stopped"))?;
        answer
            .await
            .map_err(|_| backend(op, "the reader dropped the job"))?
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn reader_loop(conn: &Connection, queue: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let job = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = job else { return };
        // A panicking job drops its reply (the caller gets an error); the thread lives on.
        let _ = catch_unwind(AssertUnwindSafe(|| job(conn)));
    }
}

/// Read-only connections used in place, on the calling (async) thread, for reads of a row or two by key
/// that take microseconds from the page cache: no hand-off to a reader thread and back, which cost the hot
/// recipient path two thread wake-ups per request (docs/benchmarks.md). A caller that finds every one of
/// them busy hands its read to the reader threads instead, so this never waits.
pub(crate) struct InlineReaders {
    idle: Mutex<Vec<Connection>>,
}

impl InlineReaders {
    pub(crate) fn new(connections: Vec<Connection>) -> Self {
        Self {
            idle: Mutex::new(connections),
        }
    }

    /// An idle connection, if any.
    pub(crate) fn take(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Runs `work` on `conn` here and now, then returns the connection to the pool.
    pub(crate) fn run<T, F>(&self, conn: Connection, op: &'static str, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        let result = catch_unwind(AssertUnwindSafe(|| work(&conn)));
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        match result {
            Ok(answer) => answer.map_err(|e| with_op(op, e)),
            Err(_) => Err(backend(op, "the read panicked")),
        }
    }
}

/// Runs PASSIVE checkpoints from its own connection every `interval`, when something was committed
/// since the last one. PASSIVE never waits for readers or the writer, so commits never stall on it.
pub(crate) struct Checkpointer {
    stop: Option<std_mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(
        conn: Connection,
        interval: Duration,
        commits: Arc<AtomicU64>,
    ) -> Result<Self> {
        let (stop, stopped) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&conn, interval, &stopped, &commits))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn checkpoint_loop(
    conn: &Connection,
    interval: Duration,
    stopped: &std_mpsc::Receiver<()>,
    commits: &AtomicU64,
) {
    let mut checkpointed = commits.load(Ordering::Relaxed);
    while let Err(std_mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        let committed = commits.load(Ordering::Relaxed);
        if committed == checkpointed {
            continue;
        }
        // The answer is (busy, frames in the WAL, frames checkpointed); a partial checkpoint (a
        // reader still needs old frames) is retried at the next tick.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok(row.get::<_, i64>(1)? == row.get::<_, i64>(2)?)
        });
        match done {
            Ok(true) => checkpointed = committed,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %super::describe(&e), "sqlite checkpoint failed"),
        }
    }
}
