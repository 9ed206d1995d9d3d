//! Histories with chosen commit times, and reading them back from agent-core.
//!
//! MariaDB stamps binlog events with the session's statement time, so `SET timestamp = <s>` before
//! a transaction chooses its commit time (1 s resolution) without sleeping. Two limits frame the
//! choice, both from agent-core's time semantics (DESIGN.md "Time semantics"):
//! - history starts at the first binlog event, written when the server started: earlier instants
//!   are refused as outside retention, so commit times start after the server's start;
//! - an instant is answerable only once the record is complete up to it, which while idle means
//!   "up to now": commit times must lie in the past when queried ([`SyntheticClock::wait_until_past`]).
//!
//! And one ordering rule: once caught up, agent-core raises the visible time of later transactions
//! to "now" on every heartbeat, so a synthetic history must be fully written *before* agent-core
//! starts on a fresh data dir.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::Value as ApiValue;
use anyhow::{bail, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::agent::{AgentCore, SOURCE_SERVER_ID};
use crate::mariadb::MariaDb;

/// Hands out strictly increasing commit seconds, starting just after the source's current time.
#[derive(Debug, Clone)]
pub struct SyntheticClock {
    last: i64,
}

impl SyntheticClock {
    /// A clock whose first tick is the source's `UNIX_TIMESTAMP()` + 1 s (after history start).
    pub async fn start(db: &MariaDb) -> Result<Self> {
        let now: i64 = db
            .sql_text("SELECT UNIX_TIMESTAMP()")
            .await?
            .context("UNIX_TIMESTAMP() returned NULL")?
            .parse()
            .context("UNIX_TIMESTAMP() is not an integer")?;
        Ok(Self { last: now })
    }

    /// A clock whose first tick is `after + 1` (Unix seconds).
    pub fn after(after: i64) -> Self {
        Self { last: after }
    }

    /// Takes the next second and sets it as the statement time of `conn` (`SET timestamp`).
    /// Returns the second (Unix seconds).
    pub async fn tick(&mut self, conn: &mut Conn) -> Result<i64> {
        self.last += 1;
        conn.query_drop(format!("SET timestamp = {}", self.last))
            .await
            .context("SET timestamp")?;
        Ok(self.last)
    }

    /// The last second handed out (Unix seconds).
    pub fn last(&self) -> i64 {
        self.last
    }

    /// Sleeps until the wall clock is past the last tick + 1 s, so every instant of the history
    /// ([`instant_after`]) lies in the past.
    pub async fn wait_until_past(&self) {
        let target_us = (self.last + 1) * 1_000_000 + 100_000;
        let now = wall_clock_us();
        if now < target_us {
            tokio::time::sleep(Duration::from_micros((target_us - now) as u64)).await;
        }
    }
}

/// Like [`AgentCore::wait_caught_up`], but fails at once when capture reports an error (a row
/// event it cannot decode stops capture, which then retries forever): for histories that must be
/// captured without a single error.
pub async fn wait_caught_up_strict(agent: &AgentCore, db: &MariaDb) -> Result<()> {
    let now_us = crate::agent::source_now_us(db).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let source = agent.source_health().await?;
        if let Some(error) = &source.last_error {
            bail!(
                "capture failed: {error}; /health: {source:?}; log:\n{}",
                agent.log_tail(20)
            );
        }
        if source.connected && source.complete_until_us.is_some_and(|c| c >= now_us) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "agent-core did not catch up within 60 s; /health: {source:?}; log:\n{}",
                agent.log_tail(20)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// µs since the Unix epoch, now.
pub fn wall_clock_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The instant (µs) half a second after a commit second: after that commit, before the next.
pub fn instant_after(second: i64) -> i64 {
    second * 1_000_000 + 500_000
}

/// Every key: `Range` with both bounds open.
pub fn whole_table() -> KeyPredicate {
    KeyPredicate::Range {
        lower: None,
        upper: None,
    }
}

/// `IN` with these keys (one value per key: single-column PKs).
pub fn keys_in(keys: impl IntoIterator<Item = ApiValue>) -> KeyPredicate {
    KeyPredicate::In(keys.into_iter().map(|k| vec![k]).collect())
}

/// `POST /v1/flashback` on source 1.
pub async fn flashback(
    agent: &AgentCore,
    schema: &str,
    table: &str,
    as_of_us: i64,
    key: KeyPredicate,
) -> Result<FlashbackResponse> {
    let request = FlashbackRequest {
        server_id: SOURCE_SERVER_ID,
        schema: schema.to_owned(),
        table: table.to_owned(),
        as_of_us,
        key,
        known_schema: None,
    };
    agent.client().flashback(&request).await.with_context(|| {
        format!(
            "POST /v1/flashback {schema}.{table} as of {}",
            agent_api::time::format_unix_micros(as_of_us)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_fall_between_commit_seconds() {
        assert_eq!(instant_after(10), 10_500_000);
        let clock = SyntheticClock::after(5);
        assert_eq!(clock.last(), 5);
    }
}
