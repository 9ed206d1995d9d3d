//! Differential testing: dbtrail's answers against MariaDB's own history.
//!
//! Random tables ([`gen`], [`types`]) over every MariaDB column type get random histories of
//! DML, transactions and DDL. Each history is written to a source schema that agent-core captures
//! and, with `sql_log_bin = 0` and the same pinned `SET timestamp`, to a twin schema of
//! `WITH SYSTEM VERSIONING` tables ([`writer`]). At every instant between transactions the same
//! question is asked of the shim (`_snapshot`, `_flashback`) and of MariaDB (`FOR SYSTEM_TIME AS
//! OF`), over the text and the binary protocol and under several client charsets, and what the
//! client receives is compared: column definitions and value bytes ([`compare`], with its
//! documented allow-list). Every generator dimension can be switched ([`dims`]); a mismatch is
//! classified by what differs and the column type it concerns ([`run`]).

pub mod compare;
pub mod dims;
pub mod gen;
pub mod repro;
pub mod run;
pub mod types;
pub mod writer;
