//! The HTTP contract between `dbtrail-shim` and `agent-core`.
//!
//! Dependency direction: `shim → agent-api ← agent-core`. This crate holds only what both sides must
//! agree on: request and response bodies ([`flashback`], [`catalog`], [`health`]), the typed value
//! model ([`value::Value`]), the protocol-neutral [`error::ErrorCode`] set with its JSON error body,
//! and [`client::AgentClient`], the client the shim uses.
//!
//! Every endpoint except `/health` requires `Authorization: Bearer <token>`.
//!
//! | method | path | request | response |
//! |---|---|---|---|
//! | GET | `/health` | — | [`health::HealthResponse`] |
//! | GET | `/v1/tables?server_id=&schema=` | [`catalog::TablesQuery`] | [`catalog::TablesResponse`] |
//! | POST | `/v1/flashback` | [`flashback::FlashbackRequest`] | [`flashback::FlashbackResponse`] |
//! | POST | `/v1/diff` | [`diff::DiffRequest`] | [`diff::DiffResponse`] |
//! | POST | `/v1/snapshot` | [`snapshot::SnapshotRequest`] | NDJSON stream, see [`snapshot`] |
//! | POST | `/v1/recover` | [`recover::RecoverRequest`] | [`recover::RecoverResponse`] |
//! | POST | `/v1/baselines` | [`baseline::BaselineRequest`] | [`baseline::BaselineResponse`] |
//! | POST | `/v1/baselines/import` | [`baseline::ImportRequest`] | [`baseline::BaselineResponse`] |
//! | POST | `/v1/archive/rotate` | [`archive::RotateRequest`] | [`archive::RotationReport`] |
//! | GET, POST | `/v1/backups/schedules` | [`backup::ScheduleRequest`] | [`backup::SchedulesResponse`], [`backup::ScheduleResponse`] |
//! | GET, PUT, DELETE | `/v1/backups/schedules/{id}` | [`backup::ScheduleRequest`] | [`backup::ScheduleResponse`], [`backup::DeletedResponse`] |
//! | POST | `/v1/backups/schedules/{id}/run` | — | [`backup::RunStartedResponse`] |
//! | GET | `/v1/backups/runs?schedule_id=&table=&limit=` | [`backup::RunsQuery`] | [`backup::RunsResponse`] |
//!
//! `/v1/flashback` and `/v1/snapshot` answer rows in a compact binary form instead of JSON when the
//! request says `Accept: application/x-dbtrail-rows` ([`wire`]).
//!
//! Failures answer `{ "success": false, "error": { "code": ..., "message": ... } }`
//! ([`error::ErrorBody`]) with a 4xx status for request problems and 5xx for agent faults.

pub mod archive;
pub mod backup;
pub mod baseline;
pub mod catalog;
pub mod client;
pub mod diff;
pub mod error;
pub mod flashback;
pub mod health;
mod plain_http;
pub mod recover;
pub mod snapshot;
pub mod time;
pub mod value;
pub mod wire;

pub use client::{AgentClient, ClientError, SnapshotStream};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use value::Value;
