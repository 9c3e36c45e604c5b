//! Timestamps serialized as chrono does (RFC 3339, UTC as `Z`, fractional seconds in 0, 3, 6
//! or 9 digits as needed), written digit by digit. Every durable step serializes the task
//! state and its trace records with their timestamps, and right after a database round trip
//! chrono's path through `core::fmt` runs with cold caches; this one is a few dozen
//! instructions. Deserializing is chrono's own.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// `#[serde(serialize_with = "crate::timefmt::utc")]`
pub(crate) fn utc<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write(at, &mut buf) {
        Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => serde::Serialize::serialize(at, s),
    }
}

/// `#[serde(serialize_with = "crate::timefmt::utc_opt")]` (with `skip_serializing_if`).
pub(crate) fn utc_opt<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc(at, s),
        None => s.serialize_none(),
    }
}

/// The text into `buf`, its length; `None` where chrono's form differs from the fixed one
/// (years outside 0..=9999, leap seconds).
fn write(at: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    // The naive time is the UTC one: each field read from it skips the offset arithmetic
    // the `DateTime` accessors do.
    let at = at.naive_utc();
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    let mut n = 19;
    let digits = if nanos == 0 {
        0
    } else if nanos % 1_000_000 == 0 {
        3
    } else if nanos % 1_000 == 0 {
        6
    } else {
        9
    };
    if digits > 0 {
        put(20, nanos / 10u32.pow(9 - digits as u32), digits);
        n = 20 + digits;
    }
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    if digits > 0 {
        buf[19] = b'.';
    }
    buf[n] = b'Z';
    Some(n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(at: DateTime<Utc>) -> String {
        let mut out = Vec::new();
        utc(&at, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_text_as_chrono() {
        let base = DateTime::parse_from_rfc3339("2026-12-03T09:05:07Z")
            .unwrap()
            .with_timezone(&Utc);
        for nanos in [
            0,
            1,
            10,
            999,
            1_000,
            120_000,
            123_456,
            5_000_000,
            123_456_789,
            999_999_999,
        ] {
            for at in [
                base + chrono::Duration::nanoseconds(nanos),
                DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::nanoseconds(nanos),
                DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
                    + chrono::Duration::nanoseconds(nanos),
                DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
                    .unwrap()
                    .with_timezone(&Utc),
            ] {
                assert_eq!(ours(at), serde_json::to_string(&at).unwrap(), "{at:?}");
            }
        }
        // Outside the fixed form: chrono's text.
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            assert_eq!(ours(at), serde_json::to_string(&at).unwrap());
        }
    }
}
