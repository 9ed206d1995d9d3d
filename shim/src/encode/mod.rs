//! Result encoding: column definitions from agent metadata, text-protocol ([`text`]) and
//! binary-protocol ([`binary`]) row values, and the JSON images of `_diff` rows ([`json`]).
//!
//! Column types, lengths, charsets and flags mirror what MySQL 8 sends for a real column of the
//! same definition (`Protocol_classic::send_field_metadata` in the server source): all BLOB/TEXT
//! sizes go as `MYSQL_TYPE_BLOB`, strings are utf8mb4 (length characters × 4) until
//! [`for_results`] rewrites them for the session's `character_set_results`
//! ([`crate::charset`]), numbers and temporal types carry the binary charset (63).

pub mod binary;
mod column;
pub mod json;
mod number;
pub mod text;

#[cfg(test)]
mod round_trip;

pub use self::column::{
    column_definition, for_results, simple_column, write_column_definition, SimpleType,
    BINARY_COLLATION, UTF8MB4_COLLATION,
};
