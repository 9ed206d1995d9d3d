//! Any text as an `AS OF` literal: never a panic; accepted literals resolve to an instant in
//! every session zone without overflow.
#![no_main]

use dbtrail_shim::classify::time_literal::parse_time_literal;
use dbtrail_shim::plan::{resolve, TimeZone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(time) = parse_time_literal(text) {
        for zone in ["+14:00", "-12:00", "UTC"] {
            let zone = TimeZone::parse(zone).expect("fixed zone");
            let _ = resolve(&time, zone, 1_777_281_119_000_000);
        }
    }
});
