//! dbtrail-shim: a MySQL wire-protocol server that answers time-travel SQL
//! (`SELECT ... FROM _flashback.<t> AS OF '<time>' WHERE <pk predicate>`) from agent-core.
//!
//! A query takes this path, one module per step:
//! [`server`] accepts → [`session`] speaks the protocol and authenticates → [`classify`] turns SQL
//! into a [`classify::ShimStatement`] → [`chatter`] answers connection chatter, or [`plan`] turns a
//! time-travel query into an agent request → [`backend`] calls agent-core → [`encode`] writes the
//! typed result set. [`config`] is `shim.yaml`; [`error`] holds the wire errors of every layer.

pub mod backend;
pub mod chatter;
pub mod classify;
pub mod config;
pub mod encode;
pub mod error;
pub mod plan;
pub mod proxysql;
pub mod server;
pub mod session;
