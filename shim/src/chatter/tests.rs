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
    assert_eq!(s.time_zone.offset_secs_at(0), 7200);
    assert_eq!(
        run("SET time_zone = 'Europe/Paris'", &mut s),
        Ok(ChatterReply::Ok)
    );
    assert_eq!(s.time_zone, TimeZone::parse("Europe/Paris").unwrap());
    assert_eq!(s.time_zone_name, "Europe/Paris");
    assert_eq!(run("SET time_zone = SYSTEM", &mut s), Ok(ChatterReply::Ok));
    assert_eq!(s.time_zone, TimeZone::UTC);
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

fn value(sql: &str, s: &mut SessionState) -> Option<String> {
    let Ok(ChatterReply::Rows(r)) = run(sql, s) else {
        panic!("{sql}")
    };
    r.rows[0][0].clone()
}

#[test]
fn session_values_of_system_variables() {
    let mut s = state();
    assert_eq!(
        value("SELECT @@wait_timeout", &mut s).as_deref(),
        Some("28800")
    );
    run(
        "SET @@session.wait_timeout = 600, net_read_timeout = 45",
        &mut s,
    )
    .unwrap();
    run("SET SESSION interactive_timeout = 700", &mut s).unwrap();
    run(
        "SET max_execution_time = 1000, sql_select_limit = 2",
        &mut s,
    )
    .unwrap();
    for (sql, want) in [
        ("SELECT @@wait_timeout", "600"),
        ("SELECT @@session.net_read_timeout", "45"),
        ("SELECT @@interactive_timeout", "700"),
        ("SELECT @@max_execution_time", "1000"),
        ("SELECT @@sql_select_limit", "2"),
        ("SELECT @@net_write_timeout", "60"),
    ] {
        assert_eq!(value(sql, &mut s).as_deref(), Some(want), "{sql}");
    }
    assert_eq!(s.select_limit(), Some(2));
    let e = run("SET wait_timeout = 'soon'", &mut s).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1232, "Incorrect argument type to variable 'wait_timeout'")
    );
    // DEFAULT forgets the session value; COM_RESET_CONNECTION forgets them all.
    run("SET sql_select_limit = DEFAULT", &mut s).unwrap();
    assert_eq!(s.select_limit(), None);
    assert_eq!(
        value("SELECT @@sql_select_limit", &mut s).as_deref(),
        Some("18446744073709551615")
    );
    s.reset();
    assert_eq!(
        value("SELECT @@wait_timeout", &mut s).as_deref(),
        Some("28800")
    );
}

#[test]
fn current_user_is_the_account() {
    let mut s = state();
    assert_eq!(
        value("SELECT CURRENT_USER()", &mut s).as_deref(),
        Some("app@%")
    );
    assert_eq!(
        value("SELECT USER()", &mut s).as_deref(),
        Some("app@127.0.0.1")
    );
    assert_eq!(
        value("SELECT SESSION_USER()", &mut s).as_deref(),
        Some("app@127.0.0.1")
    );
}
