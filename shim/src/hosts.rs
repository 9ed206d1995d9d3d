//! What the shim remembers per client address before it trusts a connection:
//!
//! - **Connection errors**, MySQL's `max_connect_errors` model (reference manual, "Host Cache"):
//!   a connection phase that ends without a verdict (timeout, the client hangs up, a malformed
//!   or oversized packet) counts one error for the address; after `max_connect_errors`
//!   consecutive ones the address is refused with ERR 1129 before the handshake. A successful login resets the count. MySQL lifts a block only with
//!   `FLUSH HOSTS`; here the block also ends by itself after [`BLOCK`].
//! - **Failed logins** (wrong password, unknown user): each one delays the refusal by a backoff
//!   that doubles per consecutive failure ([`auth_delay`]), and while an address has failures its
//!   password checks run one at a time, so parallel connections cannot multiply the guess rate.
//!
//! The table is bounded ([`MAX_HOSTS`] addresses); entries are forgotten [`FORGET`] after their
//! last error.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an address stays blocked after `max_connect_errors` consecutive connection errors.
pub const BLOCK: Duration = Duration::from_secs(300);
/// An address without an error for this long is forgotten.
pub const FORGET: Duration = Duration::from_secs(900);
/// Most addresses remembered; when full, forgotten and unblocked ones go first, then all.
pub const MAX_HOSTS: usize = 65_536;
/// Delay of the first failed login of an address; doubled per consecutive failure.
pub const AUTH_DELAY_BASE: Duration = Duration::from_millis(200);
/// Longest delay of one failed login.
pub const AUTH_DELAY_MAX: Duration = Duration::from_secs(3);

/// The delay before refusing the `failures`-th consecutive failed login of an address (1-based):
/// 200 ms, 400 ms, 800 ms, … up to [`AUTH_DELAY_MAX`].
pub fn auth_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    AUTH_DELAY_BASE
        .saturating_mul(1 << doublings)
        .min(AUTH_DELAY_MAX)
}

#[derive(Debug)]
struct Host {
    connect_errors: u32,
    blocked_until: Option<Instant>,
    auth_failures: u32,
    /// Serializes the password checks of an address with failures.
    gate: Arc<tokio::sync::Mutex<()>>,
    last_error: Instant,
}

/// Per-address connection errors and failed logins.
#[derive(Debug)]
pub struct HostTable {
    hosts: Mutex<HashMap<IpAddr, Host>>,
    max_connect_errors: u32,
}

/// Why an address is refused before the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked;

impl HostTable {
    /// A table blocking after `max_connect_errors` consecutive connection errors.
    pub fn new(max_connect_errors: u32) -> Self {
        Self {
            hosts: Mutex::new(HashMap::new()),
            max_connect_errors,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Host>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(Blocked)` while `ip` is blocked.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Blocked> {
        let mut hosts = self.lock();
        let Some(host) = hosts.get_mut(&ip) else {
            return Ok(());
        };
        match host.blocked_until {
            Some(until) if now < until => Err(Blocked),
            Some(_) => {
                host.blocked_until = None;
                host.connect_errors = 0;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// One connection phase of `ip` ended without a verdict. Returns true when this blocks it.
    pub fn connect_error(&self, ip: IpAddr, now: Instant) -> bool {
        let mut hosts = self.lock();
        let host = entry(&mut hosts, ip, now);
        host.last_error = now;
        host.connect_errors = host.connect_errors.saturating_add(1);
        if host.connect_errors >= self.max_connect_errors && host.blocked_until.is_none() {
            host.blocked_until = Some(now + BLOCK);
            return true;
        }
        false
    }

    /// A successful login from `ip`: its errors and failures are forgotten.
    pub fn logged_in(&self, ip: IpAddr) {
        let mut hosts = self.lock();
        if let Some(host) = hosts.get_mut(&ip) {
            if host.blocked_until.is_none() {
                hosts.remove(&ip);
            }
        }
    }

    /// Waits for this address's turn to check a password: immediately when it has no failed
    /// logins, else after the checks of its other connections (the guard is that turn).
    pub async fn auth_turn(&self, ip: IpAddr) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let gate = {
            let hosts = self.lock();
            let host = hosts.get(&ip).filter(|h| h.auth_failures > 0)?;
            Arc::clone(&host.gate)
        };
        Some(gate.lock_owned().await)
    }

    /// One failed login from `ip`; returns how long to wait before refusing it.
    pub fn auth_failed(&self, ip: IpAddr, now: Instant) -> Duration {
        let mut hosts = self.lock();
        let host = entry(&mut hosts, ip, now);
        host.last_error = now;
        host.auth_failures = host.auth_failures.saturating_add(1);
        auth_delay(host.auth_failures)
    }

    /// Number of addresses remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no address is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn entry(hosts: &mut HashMap<IpAddr, Host>, ip: IpAddr, now: Instant) -> &mut Host {
    if !hosts.contains_key(&ip) && hosts.len() >= MAX_HOSTS {
        hosts.retain(|_, h| {
            h.blocked_until.is_some_and(|until| now < until)
                || now.duration_since(h.last_error) < FORGET
        });
        if hosts.len() >= MAX_HOSTS {
            hosts.clear();
        }
    }
    let host = hosts.entry(ip).or_insert_with(|| Host {
        connect_errors: 0,
        blocked_until: None,
        auth_failures: 0,
        gate: Arc::new(tokio::sync::Mutex::new(())),
        last_error: now,
    });
    if now.duration_since(host.last_error) >= FORGET && host.blocked_until.is_none() {
        host.connect_errors = 0;
        host.auth_failures = 0;
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn blocks_after_consecutive_errors_until_the_block_ends() {
        let table = HostTable::new(3);
        let t0 = Instant::now();
        assert!(!table.connect_error(IP, t0));
        assert!(!table.connect_error(IP, t0));
        table.logged_in(IP);
        assert!(!table.connect_error(IP, t0));
        assert!(!table.connect_error(IP, t0));
        assert!(table.connect_error(IP, t0));
        assert_eq!(table.check(IP, t0), Err(Blocked));
        assert_eq!(table.check(OTHER, t0), Ok(()));
        // A login that raced the block does not lift it.
        table.logged_in(IP);
        assert_eq!(
            table.check(IP, t0 + BLOCK - Duration::from_secs(1)),
            Err(Blocked)
        );
        assert_eq!(table.check(IP, t0 + BLOCK), Ok(()));
        assert!(!table.connect_error(IP, t0 + BLOCK));
    }

    #[test]
    fn auth_delay_doubles_up_to_the_cap() {
        assert_eq!(auth_delay(1), Duration::from_millis(200));
        assert_eq!(auth_delay(2), Duration::from_millis(400));
        assert_eq!(auth_delay(4), Duration::from_millis(1600));
        assert_eq!(auth_delay(5), AUTH_DELAY_MAX);
        assert_eq!(auth_delay(u32::MAX), AUTH_DELAY_MAX);
        let table = HostTable::new(100);
        let t0 = Instant::now();
        assert_eq!(table.auth_failed(IP, t0), Duration::from_millis(200));
        assert_eq!(table.auth_failed(IP, t0), Duration::from_millis(400));
        // Forgotten after a quiet period.
        assert_eq!(
            table.auth_failed(IP, t0 + FORGET),
            Duration::from_millis(200)
        );
        table.logged_in(IP);
        assert!(table.is_empty());
    }

    #[test]
    fn the_table_stays_bounded() {
        let table = HostTable::new(100);
        let t0 = Instant::now();
        for i in 0..(MAX_HOSTS as u32 + 10) {
            table.connect_error(IpAddr::V4(i.into()), t0);
        }
        assert!(table.len() <= MAX_HOSTS);
    }
}
