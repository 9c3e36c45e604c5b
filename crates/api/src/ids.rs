//! Server-assigned ids and timestamps in the vendor's formats.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;

/// A 24-hex-digit id, like the vendor's flow and function ids.
pub fn new_id() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Now, truncated to milliseconds (what the store keeps).
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).unwrap_or(n)
}

/// `2026-01-15T09:12:00.000Z`
pub fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
