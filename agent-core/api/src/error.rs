//! The protocol-neutral error codes and the JSON error body.

use serde::{Deserialize, Serialize};

/// What went wrong, independent of HTTP or MySQL.
///
/// agent-core maps each code to an HTTP status in one `match`; the shim maps each to a MySQL error
/// code and SQLSTATE in one `match`, so adding a code fails to compile until both sides handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed: missing field, bad value, a key literal of the wrong type.
    BadRequest,
    /// Missing or wrong bearer token.
    Unauthorized,
    /// The server id, schema or table is not known to the agent.
    TableNotFound,
    /// The time lies before the retained history (and no baseline covers it).
    OutsideRetention,
    /// The time lies after the capture position and capture did not reach it in time.
    NotYetReplicated,
    /// The requested range is neither in the index nor archived (e.g. purged binlogs).
    CoverageGap,
    /// The agent cannot serve now (index not open, source never connected).
    Unavailable,
    /// A fault inside the agent.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (for tables and tests that must cover them all).
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::TableNotFound,
        ErrorCode::OutsideRetention,
        ErrorCode::NotYetReplicated,
        ErrorCode::CoverageGap,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The HTTP status agent-core answers a failure of this kind with: the one mapping from
    /// kind to status (RFC 9110 status codes; 425 Too Early is RFC 8470). The shim never
    /// decides anything from the status when the body carries the kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::TableNotFound => 404,
            ErrorCode::OutsideRetention | ErrorCode::CoverageGap => 422,
            ErrorCode::NotYetReplicated => 425,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The kind an HTTP answer without the agent's error body stands for (a proxy between shim
    /// and agent, or an agent that failed before writing a body): 401 `Unauthorized`, 404
    /// `TableNotFound`, 422 `CoverageGap`, 425 `NotYetReplicated`, 503 `Unavailable`, another 5xx `Internal`,
    /// another status `BadRequest`.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            401 => ErrorCode::Unauthorized,
            404 => ErrorCode::TableNotFound,
            422 => ErrorCode::CoverageGap,
            425 => ErrorCode::NotYetReplicated,
            503 => ErrorCode::Unavailable,
            500..=599 => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        }
    }
}

/// `{ "success": false, "error": { "code": ..., "message": ... } }`: the body of every failed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// What failed.
    pub error: ErrorDetail,
}

/// The code and human-readable message of a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable kind.
    pub code: ErrorCode,
    /// One sentence for a DBA: what is wrong and, where possible, what to do.
    pub message: String,
}

impl ErrorBody {
    /// A failure body with `success: false`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            success: false,
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_status_that_maps_back_to_it() {
        for kind in ErrorCode::ALL {
            let status = kind.http_status();
            assert!((400..600).contains(&status), "{kind:?}: {status}");
            let back = ErrorCode::from_http_status(status);
            // 422 is shared by the two coverage kinds (one MySQL error for both).
            if kind != ErrorCode::OutsideRetention {
                assert_eq!(back, kind, "{status}");
            }
        }
    }

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::TableNotFound, "unknown table shop.nope");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "success": false,
                "error": { "code": "table_not_found", "message": "unknown table shop.nope" }
            })
        );
    }
}
