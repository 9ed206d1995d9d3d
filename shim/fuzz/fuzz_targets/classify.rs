//! Any text through the classifier, the placeholder scanner and binding: never a panic, and a
//! statement that classifies once classifies the same way again (classification is pure).
#![no_main]

use dbtrail_shim::classify::classify;
use dbtrail_shim::classify::placeholder::{bind, placeholders};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let first = classify(sql);
    assert_eq!(first, classify(sql));
    let offsets = placeholders(sql);
    let literals = vec!["'now'".to_owned(); offsets.len()];
    let _ = classify(&bind(sql, &offsets, &literals));
});
