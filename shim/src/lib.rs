//! dbtrail-shim: a MySQL wire-protocol server that answers time-travel SQL
//! (`SELECT ... FROM _flashback.<t> AS OF '<time>' WHERE <pk predicate>`) from agent-core.
//!
//! A query takes this path, one module per step:
//! [`server`] accepts → [`session`] speaks the protocol (text COM_QUERY and prepared
//! COM_STMT_*, optionally over TLS) and authenticates → [`classify`] turns SQL into a
//! [`classify::ShimStatement`] → [`chatter`] answers connection chatter and the virtual catalog
//! (`SHOW ...`, `information_schema`), or [`plan`] turns a `_flashback` / `_snapshot` / `_diff`
//! read into an agent request → [`backend`] calls agent-core → [`encode`] writes the typed result
//! set (text or binary rows). [`config`] is `shim.yaml`; [`error`] holds the wire errors of every
//! layer.

pub mod backend;
pub mod charset;
pub mod chatter;
pub mod classify;
pub mod config;
pub mod encode;
pub mod error;
pub mod hosts;
pub mod plan;
pub mod proxysql;
pub mod server;
pub mod session;
