//! A TCP relay between the service and the test PostgreSQL that the suite can cut and restore: open
//! connections are dropped and new ones refused, as when PostgreSQL stops, or held without an
//! answer, as when its host vanishes from the network.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

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
        let (changes, _) = watch::channel(0u64);
        let relay = Relay {
            url,
            state: state.clone(),
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
                let (target, state) = (target.clone(), state.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
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

    pub fn restore(&self) {
        self.state.store(UP, Ordering::SeqCst);
        self.changes.send_modify(|n| *n += 1);
    }
}
