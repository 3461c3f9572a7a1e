//! The compute pool: where seals, verifications and openings run.
//!
//! One worker per core (or `limits.compute_threads`), one first-come
//! first-served queue. Each job runs start to finish on one worker, inside
//! that worker's own one-thread rayon pool, so arkworks' parallel loops stay
//! sequential within the job. Records are parallel with each other instead:
//! that keeps every core busy under load, and a job never waits while its
//! worker, stealing work inside a parallel loop, runs someone else's proof
//! (which is what gave rayon's shared pool multi-second p99 latencies for
//! Groth16 seals at four clients and more). The async runtime only waits for
//! the answer; it never runs a proof.

use std::sync::{mpsc, Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why the pool could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComputeError {
    #[error("compute worker {worker}: its proof thread pool: {source}")]
    Pool {
        worker: usize,
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    #[error("compute worker {worker}: {source}")]
    Spawn {
        worker: usize,
        #[source]
        source: std::io::Error,
    },
}

pub struct ComputePool {
    queue: mpsc::Sender<Job>,
}

impl ComputePool {
    /// `threads` workers; 0 means one per core.
    pub fn new(threads: usize) -> Result<ComputePool, ComputeError> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            threads
        };
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(move |_| format!("veilgate-proof-{i}"))
                .build()
                .map_err(|source| ComputeError::Pool { worker: i, source })?;
            std::thread::Builder::new()
                .name(format!("veilgate-compute-{i}"))
                .spawn(move || loop {
                    // One worker waits in `recv` while the others wait for
                    // the lock: each job goes to exactly one worker.
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    // A panicking job drops its answer channel (the caller
                    // gets an error) and leaves the worker running.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pool.install(job)
                    }));
                })
                .map_err(|source| ComputeError::Spawn { worker: i, source })?;
        }
        Ok(ComputePool { queue })
    }

    /// Queues `job`; it runs on the next free worker.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        // Sending fails only once every worker has exited; the job (and so
        // its answer channel) is dropped, and its caller gets an error.
        let _ = self.queue.send(Box::new(job));
    }
}
