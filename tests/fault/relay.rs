//! A TCP relay between the service and the test PostgreSQL that the suite can cut and restore: open
//! connections are dropped and new ones refused, as when PostgreSQL stops, or held without an
//! answer, as when its host vanishes from the network. It can also slow the database down: every
//! byte PostgreSQL sends arrives that much later, as when its disk or its network is slow.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Cut {
    /// New connections refused, open ones closed: PostgreSQL stopped.
    Refusing = 1,
    /// Connections accepted and never answered, open ones silent: the database host unreachable.
    Silent = 2,
}

const UP: u8 = 0;

pub struct Relay {
    /// The database URL that goes through the relay.
    pub url: String,
    state: Arc<AtomicU8>,
    /// How late PostgreSQL's bytes are delivered, in milliseconds.
    delay_ms: Arc<AtomicU64>,
    /// Bumped at every change: open relayed or held connections end when it changes.
    changes: watch::Sender<u64>,
}

impl Relay {
    /// A relay in front of the database of `direct` (a URL of the test PostgreSQL).
    pub async fn start(direct: &str) -> Relay {
        let (base, name) = direct.rsplit_once('/').unwrap();
        let (user, target) = base.rsplit_once('@').unwrap();
        let target = target.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "{user}@127.0.0.1:{}/{name}",
            listener.local_addr().unwrap().port()
        );
        let state = Arc::new(AtomicU8::new(UP));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (changes, _) = watch::channel(0u64);
        let relay = Relay {
            url,
            state: state.clone(),
            delay_ms: delay_ms.clone(),
            changes: changes.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut changed = changes.subscribe();
                match state.load(Ordering::SeqCst) {
                    UP => {}
                    s if s == Cut::Refusing as u8 => {
                        let _ = client.shutdown().await;
                        continue;
                    }
                    _ => {
                        tokio::spawn(async move {
                            let _ = changed.changed().await;
                            drop(client);
                        });
                        continue;
                    }
                }
                let (target, state, delay_ms) = (target.clone(), state.clone(), delay_ms.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    // Whichever way the connection ends first ends it both ways.
                    tokio::select! {
                        _ = tokio::io::copy(&mut client_read, &mut server_write) => return,
                        _ = delayed_copy(&mut server_read, &mut client_write, &delay_ms) => return,
                        _ = changed.changed() => {}
                    }
                    // Gone silent: the connection stays open and carries nothing until the
                    // database is back, when it is closed (as a server that had been cut off
                    // would have dropped it).
                    if state.load(Ordering::SeqCst) == Cut::Silent as u8 {
                        let _ = changed.changed().await;
                    }
                });
            }
        });
        relay
    }

    pub fn cut(&self, how: Cut) {
        self.state.store(how as u8, Ordering::SeqCst);
        self.changes.send_modify(|n| *n += 1);
    }

    /// From now on, every byte PostgreSQL sends reaches the service `by` later (zero: on time
    /// again). Open connections stay open.
    pub fn slow_down(&self, by: Duration) {
        self.delay_ms.store(by.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.state.store(UP, Ordering::SeqCst);
        self.changes.send_modify(|n| *n += 1);
    }
}

/// Copies `from` to `to`, each chunk delivered the relay's delay after it was read; order is kept
/// and the throughput is not limited, only the latency.
async fn delayed_copy(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    delay_ms: &AtomicU64,
) -> std::io::Result<()> {
    let (chunks, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async {
        let chunks = chunks;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = from.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            let at = Instant::now() + Duration::from_millis(delay_ms.load(Ordering::SeqCst));
            if chunks.send((at, buffer[..n].to_vec())).is_err() {
                return Ok(());
            }
        }
    };
    let write = async {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            to.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::try_join!(read, write).map(|_| ())
}
