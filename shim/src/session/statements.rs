//! Prepared statements of one connection and the COM_STMT_EXECUTE parameter block.
//!
//! ProxySQL prepares once per backend connection and never sends COM_STMT_CLOSE, so the store is
//! bounded: past [`MAX_STATEMENTS`] statements or [`MAX_SESSION_BYTES`] of statement text and
//! long data, the least recently used statement is evicted (a later EXECUTE of it gets ERR 1243,
//! as after a server-side close). Long data of one statement is bounded by [`MAX_LONG_DATA`]
//! (past it, EXECUTE answers ERR 1153, as MySQL past `max_long_data_size`).

use std::collections::HashMap;

use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;
use mysql_common::value::{BinValue, ValueDeserializer};
use mysql_common::Value;

use crate::error::MysqlError;

/// Most statements one connection keeps.
pub const MAX_STATEMENTS: usize = 1024;
/// Most bytes of statement text plus collected long data one connection keeps: 16 MiB.
pub const MAX_SESSION_BYTES: usize = 16 << 20;
/// Most long data (COM_STMT_SEND_LONG_DATA) one statement collects between executions: the
/// longest statement text the shim parses, since the data is spliced into it as a literal.
pub const MAX_LONG_DATA: usize = crate::classify::complexity::MAX_STATEMENT_BYTES;

/// Flag bit of a parameter type: UNSIGNED.
const PARAM_UNSIGNED: u8 = 0x80;

/// One prepared statement.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement text as prepared.
    pub sql: String,
    /// Byte offsets of its `?` placeholders.
    pub placeholders: Vec<usize>,
    /// Parameter types of the last EXECUTE that sent them (`new-params-bound-flag` = 1);
    /// reused when a re-execution does not resend them.
    types: Option<Vec<(ColumnType, ColumnFlags)>>,
    /// COM_STMT_SEND_LONG_DATA chunks by parameter index, cleared after each EXECUTE.
    long_data: HashMap<u16, Vec<u8>>,
    /// More long data than allowed was sent since the last EXECUTE (and dropped).
    long_overflow: bool,
    /// Recency stamp for eviction.
    used: u64,
}

/// The statements of one connection.
#[derive(Debug, Default)]
pub struct Statements {
    by_id: HashMap<u32, Prepared>,
    next_id: u32,
    clock: u64,
}

impl Statements {
    /// Stores a statement and returns its id (never 0), evicting the least recently used one
    /// when full.
    pub fn insert(&mut self, sql: String, placeholders: Vec<usize>) -> u32 {
        while !self.by_id.is_empty()
            && (self.by_id.len() >= MAX_STATEMENTS || self.bytes() + sql.len() > MAX_SESSION_BYTES)
        {
            let oldest = self
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                self.by_id.remove(&id);
            }
        }
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        self.clock += 1;
        let statement = Prepared {
            sql,
            placeholders,
            types: None,
            long_data: HashMap::new(),
            long_overflow: false,
            used: self.clock,
        };
        self.by_id.insert(self.next_id, statement);
        self.next_id
    }

    /// The statement `id`, marked as used.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Prepared> {
        self.clock += 1;
        let statement = self.by_id.get_mut(&id)?;
        statement.used = self.clock;
        Some(statement)
    }

    /// COM_STMT_CLOSE.
    pub fn remove(&mut self, id: u32) {
        self.by_id.remove(&id);
    }

    /// Number of open statements.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Bytes held: statement texts and collected long data.
    pub fn bytes(&self) -> usize {
        self.by_id.values().map(Prepared::bytes).sum()
    }

    /// COM_STMT_SEND_LONG_DATA: appends `data` to parameter `index` of statement `id`, unless
    /// that takes the statement past [`MAX_LONG_DATA`] or the connection past
    /// [`MAX_SESSION_BYTES`]: then the data is dropped and the next EXECUTE fails.
    pub fn append_long_data(&mut self, id: u32, index: u16, data: &[u8]) {
        let total = self.bytes();
        let Some(statement) = self.get_mut(id) else {
            return;
        };
        let collected: usize = statement.long_data.values().map(Vec::len).sum();
        if statement.long_overflow
            || collected + data.len() > MAX_LONG_DATA
            || total + data.len() > MAX_SESSION_BYTES
        {
            statement.long_overflow = true;
            statement.long_data.clear();
            return;
        }
        statement.append_long_data(index, data);
    }

    /// Forgets every statement (COM_CHANGE_USER, COM_RESET_CONNECTION).
    pub fn clear(&mut self) {
        self.by_id.clear();
    }
}

impl Prepared {
    /// COM_STMT_SEND_LONG_DATA: appends `data` to parameter `index`.
    pub fn append_long_data(&mut self, index: u16, data: &[u8]) {
        self.long_data
            .entry(index)
            .or_default()
            .extend_from_slice(data);
    }

    /// COM_STMT_RESET: drops collected long data.
    pub fn reset(&mut self) {
        self.long_data.clear();
        self.long_overflow = false;
    }

    fn bytes(&self) -> usize {
        self.sql.len() + self.long_data.values().map(Vec::len).sum::<usize>()
    }

    /// Decodes the parameter block of COM_STMT_EXECUTE (`body` after the 9-byte header):
    /// NULL bitmap (offset 0), `new-params-bound-flag`, types when the flag is 1, then values.
    /// Long data collected for a parameter replaces its (absent) inline value.
    pub fn bind_params(&mut self, body: &[u8]) -> Result<Vec<Value>, MysqlError> {
        if std::mem::take(&mut self.long_overflow) {
            self.long_data.clear();
            return Err(MysqlError::new(
                1153,
                b"08S01",
                format!(
                    "Parameter of prepared statement which is set through mysql_send_long_data() is longer than {MAX_LONG_DATA} bytes"
                ),
            ));
        }
        let count = self.placeholders.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let bad = |what: &str| MysqlError::malformed_packet(format!("COM_STMT_EXECUTE {what}"));
        let mut buf = ParseBuf(body);
        let bitmap = buf
            .checked_eat(count.div_ceil(8))
            .ok_or_else(|| bad("null bitmap"))?
            .to_vec();
        let bound = buf.checked_eat_u8().ok_or_else(|| bad("bound flag"))?;
        if bound == 1 {
            let raw = buf.checked_eat(2 * count).ok_or_else(|| bad("types"))?;
            self.types = Some(raw.chunks(2).map(param_type).collect());
        }
        let types = self.types.clone().ok_or_else(|| {
            MysqlError::new(1210, b"HY000", "Incorrect arguments to mysqld_stmt_execute")
        })?;
        let mut values = Vec::with_capacity(count);
        for (i, ty) in types.iter().enumerate() {
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            let value = if bitmap[i / 8] & (1 << (i % 8)) != 0 {
                Value::NULL
            } else if let Some(data) = self.long_data.remove(&index) {
                Value::Bytes(data)
            } else {
                ValueDeserializer::<BinValue>::deserialize(*ty, &mut buf)
                    .map_err(|e| bad(&format!("parameter {i}: {e}")))?
                    .0
            };
            values.push(value);
        }
        self.long_data.clear();
        Ok(values)
    }
}

fn param_type(pair: &[u8]) -> (ColumnType, ColumnFlags) {
    let column_type = ColumnType::try_from(pair[0]).unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING);
    let unsigned = pair.get(1).is_some_and(|f| f & PARAM_UNSIGNED != 0);
    let flags = if unsigned {
        ColumnFlags::UNSIGNED_FLAG
    } else {
        ColumnFlags::empty()
    };
    (column_type, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::packets::ComStmtExecuteRequestBuilder;
    use mysql_common::proto::MySerialize;

    /// The parameter block mysql_common's client encoder writes for `params`.
    fn execute_body(params: &[Value]) -> Vec<u8> {
        let (request, _) = ComStmtExecuteRequestBuilder::new(1).build(params);
        let mut buf = Vec::new();
        request.serialize(&mut buf);
        buf[10..].to_vec()
    }

    #[test]
    fn decodes_client_parameters_and_reuses_types() {
        let mut statements = Statements::default();
        let id = statements.insert(
            "SELECT ?, ?, ?, ?, ?, ?".into(),
            vec![7, 10, 13, 16, 19, 22],
        );
        let params = vec![
            Value::Int(-42),
            Value::UInt(u64::MAX),
            Value::Bytes(b"it's".to_vec()),
            Value::NULL,
            Value::Date(2026, 4, 27, 9, 11, 59, 120_000),
            Value::Double(0.5),
        ];
        let statement = statements.get_mut(id).unwrap();
        assert_eq!(
            statement.bind_params(&execute_body(&params)).unwrap(),
            params
        );

        // Re-execution with new-params-bound-flag = 0: types from the previous execution.
        let mut body = execute_body(&params);
        let bitmap_len = 1;
        body[bitmap_len] = 0;
        body.drain(bitmap_len + 1..bitmap_len + 1 + 12);
        assert_eq!(statement.bind_params(&body).unwrap(), params);
    }

    #[test]
    fn long_data_and_missing_types() {
        let mut statements = Statements::default();
        let id = statements.insert("SELECT ?".into(), vec![7]);
        let statement = statements.get_mut(id).unwrap();
        let e = statement.bind_params(&[0, 0]).unwrap_err();
        assert_eq!(e.code, 1210);
        statement.append_long_data(0, b"ab");
        statement.append_long_data(0, b"cd");
        let body = [0u8, 1, ColumnType::MYSQL_TYPE_BLOB as u8, 0];
        assert_eq!(
            statement.bind_params(&body).unwrap(),
            vec![Value::Bytes(b"abcd".to_vec())]
        );
    }

    #[test]
    fn long_data_is_bounded() {
        let mut statements = Statements::default();
        let id = statements.insert("SELECT ?".into(), vec![7]);
        let chunk = vec![b'x'; MAX_LONG_DATA / 2 + 1];
        statements.append_long_data(id, 0, &chunk);
        assert_eq!(statements.bytes(), 8 + chunk.len());
        statements.append_long_data(id, 0, &chunk);
        assert_eq!(statements.bytes(), 8, "the overflowing data is dropped");
        let body = [0u8, 1, ColumnType::MYSQL_TYPE_BLOB as u8, 0];
        let statement = statements.get_mut(id).unwrap();
        assert_eq!(statement.bind_params(&body).unwrap_err().code, 1153);
        // The next execution starts over.
        statements.append_long_data(id, 0, b"ab");
        let statement = statements.get_mut(id).unwrap();
        assert_eq!(
            statement.bind_params(&body).unwrap(),
            vec![Value::Bytes(b"ab".to_vec())]
        );
    }

    #[test]
    fn statement_bytes_are_bounded_per_connection() {
        let mut statements = Statements::default();
        let text = "x".repeat(MAX_SESSION_BYTES / 4);
        let first = statements.insert(text.clone(), Vec::new());
        for _ in 0..8 {
            statements.insert(text.clone(), Vec::new());
        }
        assert!(statements.bytes() <= MAX_SESSION_BYTES);
        assert!(statements.len() <= 4);
        assert!(
            statements.get_mut(first).is_none(),
            "least recently used evicted"
        );
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut statements = Statements::default();
        let first = statements.insert("SELECT 1".into(), Vec::new());
        let second = statements.insert("SELECT 2".into(), Vec::new());
        assert!(statements.get_mut(first).is_some());
        for _ in 2..MAX_STATEMENTS {
            statements.insert("SELECT 3".into(), Vec::new());
        }
        assert_eq!(statements.len(), MAX_STATEMENTS);
        statements.insert("SELECT 4".into(), Vec::new());
        assert_eq!(statements.len(), MAX_STATEMENTS);
        assert!(
            statements.get_mut(second).is_none(),
            "least recently used evicted"
        );
        assert!(statements.get_mut(first).is_some());
    }
}
