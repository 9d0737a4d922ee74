//! Where the shared pool's connections live.
//!
//! A connection's socket belongs to the runtime that opened it, and fails once that runtime has
//! ended. Each HTTP worker runs on a runtime of its own, and at shutdown a worker with nothing in
//! flight ends at once while the others still finish their requests. A connection of the shared pool
//! opened by a handler would end with its worker while a writer was committing on it, or hang about
//! in the pool until the next acquire found it dead: deliveries still in flight at SIGTERM were
//! answered `503 storage_unavailable`. So the shared pool is used only on the runtime that started
//! the service, which outlives every worker and closes the pool last; a handler hands its use of the
//! pool over to that runtime.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct PoolRuntime(Handle);

impl PoolRuntime {
    /// The runtime this is called on.
    pub fn current() -> PoolRuntime {
        PoolRuntime(Handle::current())
    }

    pub fn spawn<F>(&self, work: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(work)
    }

    /// Runs `work` there and waits for it: `None` if that runtime is shutting down. Dropping the
    /// returned future (the client went away) cancels `work`.
    pub async fn run<F>(&self, work: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut task = AbortOnDrop(self.0.spawn(work));
        match (&mut task.0).await {
            Ok(output) => Some(output),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => None,
        }
    }
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
