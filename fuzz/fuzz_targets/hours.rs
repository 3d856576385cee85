//! Opening hours (OSM `opening_hours` syntax) parsed and evaluated at an
//! instant taken from the input: never a panic, and a next change, when
//! there is one, is after the instant.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use tuilerie_geo::hours::Schedules;

fuzz_target!(|data: &[u8]| {
    // libFuzzer's hook aborts on any panic, even one caught: Schedules
    // catches the panics of the opening-hours crate (its parser has some),
    // so the default hook is put back; an uncaught panic still fails.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| drop(std::panic::take_hook()));
    if data.len() < 4 {
        return;
    }
    // 2000-01-01 plus up to about 136 years of seconds.
    let secs = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as i64;
    let Some(at) = Utc.timestamp_opt(946_684_800 + secs, 0).single() else { return };
    let text = String::from_utf8_lossy(&data[4..]);
    let schedules = Schedules::build([Some(text.as_ref())].into_iter(), chrono_tz::Europe::Paris);
    let (_, next) = schedules.evaluate(0, at);
    if let Some(n) = next {
        assert!(n.with_timezone(&Utc) > at, "next change {n} is not after {at}");
    }
});
