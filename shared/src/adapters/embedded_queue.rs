//! The embedded [`Queue`] for the local runner: a durable queue in one SQLite file, with SQS's semantics (visibility
//! timeout, receive count, redrive to a dead-letter state), so that the pipeline's retry behaviour can be exercised
//! without AWS.
//!
//! One table holds every message; `dead = 1` is the dead-letter queue. Times are Unix milliseconds. The database runs
//! in WAL mode with `synchronous = NORMAL`: a committed send survives a crash of the process (not necessarily a power
//! cut), which is what a developer's machine needs. Calls run on tokio's blocking pool so they never stall the
//! runtime.
//!
//! Differences from SQS, on purpose: ordering is FIFO-ish (by visibility time, then send order) rather than best
//! effort; and acking or retrying with the receipt of an older delivery is a no-op (`Ok`), so a slow consumer can
//! never delete a message that has since been handed to someone else.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::Notify;

use crate::ports::queue::{MAX_BATCH, Queue, QueueError, ReceivedMessage};

/// SQS's classic limit on a message body, enforced here too so that an oversized message fails locally first.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// SQS's limits on long polling and on visibility, likewise.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// How often a waiting `receive` looks again for messages whose visibility timeout has run out (sends and retries
/// wake it at once).
const POLL_INTERVAL: Duration = Duration::from_millis(50);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT    UNIQUE,
    dead          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (dead, visible_at, seq);
";

/// See the module documentation. Clones share the same database and wake-ups.
#[derive(Clone)]
pub struct EmbeddedQueue {
    conn: Arc<Mutex<Connection>>,
    sent: Arc<Notify>,
    max_receive_count: u32,
}

impl std::fmt::Debug for EmbeddedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedQueue").field("max_receive_count", &self.max_receive_count).finish_non_exhaustive()
    }
}

fn transient(err: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Transient(Box::new(err))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl EmbeddedQueue {
    /// Opens (creating if needed) the queue in the SQLite file at `path`. A message received more than
    /// `max_receive_count` times without an ack goes to the dead letters, as with an SQS redrive policy.
    pub async fn open(path: impl AsRef<Path>, max_receive_count: u32) -> Result<Self, QueueError> {
        let path = path.as_ref().to_owned();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(conn)
        })
        .await
        .map_err(transient)?
        .map_err(transient)?;
        Self::with_connection(conn, max_receive_count)
    }

    /// A queue that lives as long as this value (and its clones): for tests.
    pub fn in_memory(max_receive_count: u32) -> Result<Self, QueueError> {
        Self::with_connection(Connection::open_in_memory().map_err(transient)?, max_receive_count)
    }

    fn with_connection(conn: Connection, max_receive_count: u32) -> Result<Self, QueueError> {
        if max_receive_count == 0 {
            return Err(QueueError::Invalid("max_receive_count must be at least 1".into()));
        }
        conn.execute_batch(SCHEMA).map_err(transient)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), sent: Arc::new(Notify::new()), max_receive_count })
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, QueueError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere while holding the lock cannot leave SQLite half-written (transactions roll back).
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(transient)?
        .map_err(transient)
    }

    /// One non-waiting receive: takes up to `max` visible messages, dead-lettering those past the receive limit.
    async fn receive_now(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let limit = self.max_receive_count;
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            let mut received = Vec::new();
            loop {
                let want = (max - received.len()) as i64;
                let candidates: Vec<(i64, String, String, u32)> = tx
                    .prepare_cached(
                        "SELECT seq, id, body, receive_count FROM messages
                         WHERE dead = 0 AND visible_at <= ?1 ORDER BY visible_at, seq LIMIT ?2",
                    )?
                    .query_map(params![now, want], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<Result<_, _>>()?;
                if candidates.is_empty() {
                    break;
                }
                let mut dead_lettered = false;
                for (seq, message_id, body, count) in candidates {
                    let receive_count = count.saturating_add(1);
                    if receive_count > limit {
                        tx.execute("UPDATE messages SET dead = 1, receipt = NULL WHERE seq = ?1", params![seq])?;
                        dead_lettered = true;
                        continue;
                    }
                    let receipt = uuid::Uuid::new_v4().to_string();
                    tx.execute(
                        "UPDATE messages SET receive_count = ?2, receipt = ?3, visible_at = ?4 WHERE seq = ?1",
                        params![seq, receive_count, receipt, now.saturating_add(millis(visibility))],
                    )?;
                    received.push(ReceivedMessage { message_id, receipt, body, receive_count });
                }
                // Only look again if dead-lettering left room that other visible messages could fill.
                if !dead_lettered || received.len() >= max {
                    break;
                }
            }
            tx.commit()?;
            Ok(received)
        })
        .await
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send_batch(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        if let Some(body) = bodies.iter().find(|b| b.is_empty() || b.len() > MAX_BODY_BYTES) {
            return Err(QueueError::Invalid(format!(
                "message body must be 1 to {MAX_BODY_BYTES} bytes, got {}",
                body.len()
            )));
        }
        if bodies.is_empty() {
            return Ok(());
        }
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            let now = now_ms();
            for body in bodies {
                let id = uuid::Uuid::new_v4().to_string();
                tx.prepare_cached("INSERT INTO messages (id, body, visible_at) VALUES (?1, ?2, ?3)")?
                    .execute(params![id, body, now])?;
            }
            tx.commit()
        })
        .await?;
        self.sent.notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if max == 0 || max > MAX_BATCH {
            return Err(QueueError::Invalid(format!("max must be 1 to {MAX_BATCH}, got {max}")));
        }
        if wait > MAX_WAIT || visibility > MAX_VISIBILITY {
            return Err(QueueError::Invalid("wait must be at most 20 s and visibility at most 12 h".into()));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a send between the look and the wait still wakes us.
            let notified = self.sent.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let received = self.receive_now(max, visibility).await?;
            let now = tokio::time::Instant::now();
            if !received.is_empty() || now >= deadline {
                return Ok(received);
            }
            let nap = POLL_INTERVAL.min(deadline - now);
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.with_conn(move |conn| conn.execute("DELETE FROM messages WHERE receipt = ?1 AND dead = 0", [receipt]))
            .await?;
        Ok(())
    }

    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        if delay > MAX_VISIBILITY {
            return Err(QueueError::Invalid("retry delay must be at most 12 h".into()));
        }
        let receipt = receipt.to_owned();
        let changed = self
            .with_conn(move |conn| {
                conn.execute(
                    "UPDATE messages SET visible_at = ?2 WHERE receipt = ?1 AND dead = 0",
                    params![receipt, now_ms().saturating_add(millis(delay))],
                )
            })
            .await?;
        if changed > 0 && delay.is_zero() {
            self.sent.notify_waiters();
        }
        Ok(())
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<String>, QueueError> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.with_conn(move |conn| {
            conn.prepare_cached("SELECT body FROM messages WHERE dead = 1 ORDER BY seq LIMIT ?1")?
                .query_map([limit], |r| r.get(0))?
                .collect()
        })
        .await
    }
}

impl EmbeddedQueue {
    /// Makes every message that is waiting out a visibility timeout or a retry delay visible now, and returns how
    /// many. For a consumer that starts again after it stopped, however it stopped, and is the queue's only
    /// consumer: the deliveries it held ended with it, and waiting out their visibility timeouts would leave their
    /// work untouched for that long. Retry delays end too: a restart tries again what was waiting. Receive counts
    /// stay, so the dead-letter limit still holds. Only at start-up, before any consumer receives.
    pub async fn release_deliveries(&self) -> Result<u64, QueueError> {
        let now = now_ms();
        let released = self
            .with_conn(move |conn| {
                conn.execute("UPDATE messages SET visible_at = ?1 WHERE dead = 0 AND visible_at > ?1", params![now])
            })
            .await?;
        if released > 0 {
            self.sent.notify_waiters();
        }
        Ok(released as u64)
    }

    /// Number of messages not yet acknowledged and not dead (for the operator view and tests).
    pub async fn pending(&self) -> Result<u64, QueueError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COUNT(*) FROM messages WHERE dead = 0", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
        .await
    }
}
