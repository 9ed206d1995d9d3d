//! Logging of refused logins without flooding: ProxySQL's monitor retries an unknown user every
//! few seconds, so the first refusal per user is a warning and later ones are counted and
//! summarised (`info`, "logins denied") at most once per [`SUMMARY_INTERVAL`], on the next
//! refusal after it (proxysql/README.md, "The monitor user").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::{info, warn};

/// Most user names tracked; past it the counts start over (a flood of invented names cannot
/// grow the map without bound).
pub const MAX_USERS: usize = 10_000;

/// Shortest time between two summary lines for one user.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// Refusals per user since its last log line.
#[derive(Debug, Default)]
pub struct LoginDenials {
    by_user: Mutex<HashMap<String, (u64, Instant)>>,
}

/// What [`LoginDenials::record`] logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// First refusal of this user.
    First,
    /// A summary of this many refusals.
    Summary(u64),
    /// Counted silently.
    Counted,
}

impl LoginDenials {
    /// Records one refusal of `user` (`reason` is the error sent) at `now`.
    pub fn record(&self, user: &str, reason: &str, now: Instant) -> Logged {
        let Ok(mut map) = self.by_user.lock() else {
            return Logged::Counted;
        };
        if map.len() >= MAX_USERS && !map.contains_key(user) {
            map.clear();
        }
        let Some((count, since)) = map.get_mut(user) else {
            map.insert(user.to_owned(), (0, now));
            warn!(
                user,
                error = reason,
                "login refused; repeats are summarised every 60 s"
            );
            return Logged::First;
        };
        *count += 1;
        if now.duration_since(*since) < SUMMARY_INTERVAL {
            return Logged::Counted;
        }
        let denied = std::mem::take(count);
        *since = now;
        let window_s = SUMMARY_INTERVAL.as_secs();
        info!(user, denied, window_s, error = reason, "logins denied");
        Logged::Summary(denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_then_summaries() {
        let denials = LoginDenials::default();
        let t0 = Instant::now();
        assert_eq!(denials.record("monitor", "1045", t0), Logged::First);
        assert_eq!(denials.record("monitor", "1045", t0), Logged::Counted);
        assert_eq!(denials.record("other", "1045", t0), Logged::First);
        let later = t0 + SUMMARY_INTERVAL;
        assert_eq!(denials.record("monitor", "1045", later), Logged::Summary(2));
        assert_eq!(denials.record("monitor", "1045", later), Logged::Counted);
    }
}
