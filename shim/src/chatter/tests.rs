//! Chatter answers.

use super::*;
use crate::classify::{classify, ShimStatement};

fn run(sql: &str, state: &mut SessionState) -> Result<ChatterReply, MysqlError> {
    let Ok(ShimStatement::Chatter(chatter)) = classify(sql) else {
        panic!("{sql} is not chatter");
    };
    answer(&chatter, state)
}

fn state() -> SessionState {
    SessionState::new("app".into(), "127.0.0.1".into(), 7, TimeZone::UTC)
}

#[test]
fn variables_and_functions() {
    let mut s = state();
    let Ok(ChatterReply::Rows(r)) = run("SELECT @@version_comment LIMIT 1", &mut s) else {
        panic!()
    };
    assert_eq!(r.rows, vec![vec![Some(VERSION_COMMENT.to_owned())]]);
    assert_eq!(r.columns[0].name_str(), "@@version_comment");
    let Ok(ChatterReply::Rows(r)) = run(
        "select @@session.autocommit, @@max_allowed_packet, DATABASE(), CONNECTION_ID()",
        &mut s,
    ) else {
        panic!()
    };
    assert_eq!(
        r.rows[0],
        vec![
            Some("1".into()),
            Some(MAX_ALLOWED_PACKET.to_string()),
            None,
            Some("7".into())
        ]
    );
    let e = run("SELECT @@nope", &mut s).unwrap_err();
    assert_eq!(e.code, 1193);
}

#[test]
fn set_statements() {
    let mut s = state();
    for sql in [
        "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
        "SET autocommit=1",
        "SET character_set_results = NULL",
        "SET sql_mode='STRICT_TRANS_TABLES'",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET @dbtrail_as_of = '2026-04-27 09:00'",
    ] {
        assert_eq!(run(sql, &mut s), Ok(ChatterReply::Ok), "{sql}");
    }
    assert_eq!(
        run("SET time_zone = '+02:00'", &mut s),
        Ok(ChatterReply::Ok)
    );
    assert_eq!(s.time_zone.offset_secs, 7200);
    assert_eq!(
        run("SET time_zone = 'Mars/Olympus'", &mut s)
            .unwrap_err()
            .code,
        1298
    );
    assert_eq!(run("SET autocommit = 0", &mut s), Ok(ChatterReply::Ok));
    assert!(!s.autocommit);
    assert_eq!(run("SET nonsense_var = 1", &mut s).unwrap_err().code, 1193);
    assert_eq!(run("USE shop", &mut s), Ok(ChatterReply::Ok));
    assert_eq!(s.database.as_deref(), Some("shop"));
}
