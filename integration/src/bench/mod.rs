//! The bench runner's parts: flags, the workload, capture, queries and the report.

pub mod capture;
pub mod opts;
pub mod query;
pub mod report;
pub mod workload;
