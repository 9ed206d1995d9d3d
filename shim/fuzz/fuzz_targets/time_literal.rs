//! Any text as an `AS OF` literal: never a panic; accepted literals resolve to an instant in
//! every kind of session zone (extreme fixed offsets, named zones with daylight saving, one with
//! a 30-minute change) without overflow.
#![no_main]

use dbtrail_shim::classify::time_literal::parse_time_literal;
use dbtrail_shim::plan::{resolve, TimeZone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(time) = parse_time_literal(text) {
        for zone in ["+14:00", "-12:00", "UTC", "Europe/Paris", "Australia/Lord_Howe"] {
            let zone = TimeZone::parse(zone).expect("known zone");
            let _ = resolve(&time, &zone, 1_777_281_119_000_000);
        }
    }
    // Zone names come from clients too (`SET time_zone = '...'`).
    if let Some(zone) = TimeZone::parse(text) {
        let _ = zone.offset_secs_at(1_777_281_119_000_000);
    }
});
