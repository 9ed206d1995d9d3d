//! `KILL [QUERY | CONNECTION] <id>` (what the `mariadb` client sends on Ctrl-C) and the registry
//! of logged-in sessions it acts on.
//!
//! MySQL's rules (reference manual, "KILL Statement"): the id is the connection id of the
//! handshake and `CONNECTION_ID()`; a user may kill only its own threads (ERR 1095
//! `ER_KILL_DENIED_ERROR`), an id nobody holds is ERR 1094 (`ER_NO_SUCH_THREAD`). `KILL QUERY`
//! interrupts the running statement, which ends with ERR 1317 `Query execution was
//! interrupted`; `KILL [CONNECTION]` also closes the connection. Interrupting drops the statement's
//! future, and with it the HTTP call or stream to the agent, which stops its scan when the
//! connection closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::error::MysqlError;

/// Logged-in sessions by connection id.
#[derive(Debug, Default)]
pub struct Registry {
    by_id: Mutex<HashMap<u32, Arc<Handle>>>,
}

/// What another connection can do to a session.
#[derive(Debug)]
pub struct Handle {
    /// The MySQL user logged in (changes with COM_CHANGE_USER).
    user: Mutex<String>,
    /// Cancelled by `KILL CONNECTION`; each statement's token is a child of it.
    connection: CancellationToken,
    /// The running statement's token, if one runs.
    query: Mutex<Option<CancellationToken>>,
}

impl Handle {
    /// Marks the start of a statement; its token fires on `KILL QUERY` or `KILL CONNECTION`.
    pub fn begin_query(&self) -> CancellationToken {
        let token = self.connection.child_token();
        *self.query.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        token
    }

    /// Marks the end of the running statement.
    pub fn end_query(&self) {
        *self.query.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Fires when the connection is killed.
    pub fn killed(&self) -> &CancellationToken {
        &self.connection
    }

    /// Records the user after COM_CHANGE_USER.
    pub fn set_user(&self, user: &str) {
        *self.user.lock().unwrap_or_else(|p| p.into_inner()) = user.to_owned();
    }
}

impl Registry {
    /// Registers connection `id` of `user`; [`Registry::remove`] when it ends.
    pub fn register(&self, id: u32, user: &str) -> Arc<Handle> {
        let handle = Arc::new(Handle {
            user: Mutex::new(user.to_owned()),
            connection: CancellationToken::new(),
            query: Mutex::new(None),
        });
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id, Arc::clone(&handle));
        handle
    }

    /// Forgets connection `id`.
    pub fn remove(&self, id: u32) {
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&id);
    }

    /// `KILL [QUERY] id` issued by `user`: interrupts the statement running on connection `id`
    /// (`query_only`), or the statement and the connection.
    ///
    /// Errors: 1094 when no session has that id, 1095 when it belongs to another user.
    pub fn kill(&self, id: u64, user: &str, query_only: bool) -> Result<(), MysqlError> {
        let handle = u32::try_from(id).ok().and_then(|id| {
            let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&id).cloned()
        });
        let Some(handle) = handle else {
            return Err(MysqlError::new(
                1094,
                b"HY000",
                format!("Unknown thread id: {id}"),
            ));
        };
        if *handle.user.lock().unwrap_or_else(|p| p.into_inner()) != user {
            return Err(MysqlError::new(
                1095,
                b"HY000",
                format!("You are not owner of thread {id}"),
            ));
        }
        if query_only {
            if let Some(query) = &*handle.query.lock().unwrap_or_else(|p| p.into_inner()) {
                query.cancel();
            }
        } else {
            handle.connection.cancel();
        }
        Ok(())
    }
}

/// 1317 (70100): the statement was interrupted by `KILL QUERY` (MySQL's `ER_QUERY_INTERRUPTED`).
pub fn interrupted() -> MysqlError {
    MysqlError::new(1317, b"70100", "Query execution was interrupted")
}

/// 1927 (70100): the connection was killed while a statement ran (MariaDB's
/// `ER_CONNECTION_KILLED`).
pub fn connection_killed() -> MysqlError {
    MysqlError::new(1927, b"70100", "Connection was killed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_kill_their_own_threads_only() {
        let registry = Registry::default();
        let alice = registry.register(7, "alice");
        let _bob = registry.register(8, "bob");
        assert_eq!(registry.kill(8, "alice", true).unwrap_err().code, 1095);
        assert_eq!(registry.kill(9, "alice", true).unwrap_err().code, 1094);
        assert_eq!(
            registry.kill(u64::MAX, "alice", true).unwrap_err().code,
            1094
        );
        // KILL QUERY without a running statement does nothing.
        registry.kill(7, "alice", true).unwrap();
        let query = alice.begin_query();
        assert!(!query.is_cancelled());
        registry.kill(7, "alice", true).unwrap();
        assert!(query.is_cancelled() && !alice.killed().is_cancelled());
        alice.end_query();
        let next = alice.begin_query();
        assert!(!next.is_cancelled());
        registry.kill(7, "alice", false).unwrap();
        assert!(next.is_cancelled() && alice.killed().is_cancelled());
    }

    #[test]
    fn ids_leave_with_their_session() {
        let registry = Registry::default();
        registry.register(7, "alice");
        registry.remove(7);
        assert_eq!(registry.kill(7, "alice", false).unwrap_err().code, 1094);
    }
}
