//! Column types and error classification shared by every resource module.
//!
//! Both backends run the same SQL text (sqlx-sqlite understands `$1`-style placeholders), so
//! what differs between them lives here, in types that encode themselves per backend:
//!
//! - [`Ts`] is a timestamp: `TIMESTAMPTZ` on PostgreSQL, and on SQLite fixed-width text
//!   (`2026-01-15T09:12:00.000Z`) so that text order is time order — timers and leases will
//!   compare and sort these columns. Every timestamp is truncated to milliseconds on the way
//!   in, so what is read back equals what was written on both backends.
//! - JSON is stored as TEXT on both backends and (de)serialized here, never as JSONB: JSONB
//!   reorders object keys, and an exported flow must be byte-for-byte the flow imported.
//! - Constraint violations are classified by constraint name (PostgreSQL) or by the columns
//!   SQLite names in its message, so callers get `NameConflict` rather than a database error.

use chrono::{DateTime, Datelike, SubsecRound, Timelike, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

use crate::StoreError;

/// The current time, at the millisecond precision the store keeps.
pub fn now() -> DateTime<Utc> {
    truncate_to_millis(Utc::now())
}

/// `at` at the millisecond precision the store keeps: what a read returns for a written `at`.
pub fn truncate_to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(3)
}

/// A timestamp column (see the module docs for its encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ts(pub(crate) DateTime<Utc>);

impl Ts {
    pub(crate) fn new(at: DateTime<Utc>) -> Self {
        Ts(truncate_to_millis(at))
    }

    pub(crate) fn opt(at: Option<DateTime<Utc>>) -> Option<Self> {
        at.map(Ts::new)
    }

    /// The SQLite text of the timestamp (`2026-01-15T09:12:00.000Z`), written digit by digit:
    /// every checkpoint writes a few, and chrono's `format` interprets its pattern each time.
    /// Years outside 0..=9999 and leap seconds go through chrono (not fixed-width then).
    pub(crate) fn text(&self) -> String {
        let at = self.0;
        let (year, millis) = (at.year(), at.timestamp_subsec_millis());
        if !(0..=9999).contains(&year) || millis > 999 {
            return at.format(TEXT_FORMAT).to_string();
        }
        let mut text = String::with_capacity(24);
        let mut digits = |n: u32, width: u32, after: char| {
            for place in (0..width).rev() {
                text.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
            }
            text.push(after);
        };
        digits(year as u32, 4, '-');
        digits(at.month(), 2, '-');
        digits(at.day(), 2, 'T');
        digits(at.hour(), 2, ':');
        digits(at.minute(), 2, ':');
        digits(at.second(), 2, '.');
        digits(millis, 3, 'Z');
        text
    }
}

/// [`Ts::text`] as a chrono pattern.
const TEXT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <DateTime<Utc> as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        let text = self.text();
        <String as Encode<'q, Sqlite>>::encode(text, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<DateTime<Utc> as Decode<'r, Sqlite>>::decode(value)?))
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<DateTime<Utc> as Decode<'r, Postgres>>::decode(value)?))
    }
}

/// Serializes a value for a JSON TEXT column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// Parses a JSON TEXT column; `what` names the column in the error.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// The lower-cased form of a name, kept beside it for case-insensitive search and ordering.
/// Folded in Rust rather than with SQL `lower()`, which folds only ASCII on SQLite.
pub(crate) fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// A `LIKE` pattern matching values that contain `needle` (escaped with `\`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in fold(needle).chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Which constraint a write violated, when it violated one we turn into a user error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    /// The `<table>_name_unique` constraint: another row of the org has this name.
    Name,
    /// Any other unique constraint: a row with this key exists.
    Key,
    /// A foreign key: the referenced row (for inserts, the org) does not exist.
    ForeignKey,
}

/// Classifies a database error raised by a write on `table`.
pub(crate) fn violation(err: &sqlx::Error, table: &str) -> Option<Violation> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    if db.is_foreign_key_violation() {
        return Some(Violation::ForeignKey);
    }
    if !db.is_unique_violation() {
        return None;
    }
    // PostgreSQL names the constraint; SQLite names the columns, as in
    // "UNIQUE constraint failed: flows.org_id, flows.name".
    let name_constraint = format!("{table}_name_unique");
    let is_name = match db.constraint() {
        Some(constraint) => constraint == name_constraint,
        None => db.message().ends_with(&format!("{table}.name")),
    };
    Some(if is_name {
        Violation::Name
    } else {
        Violation::Key
    })
}

/// Turns a failed insert or update of a row of `table` into the user error it stands for:
/// a taken `name`, an existing `id`, or a missing org. Anything else stays a database error.
pub(crate) fn write_error(
    err: sqlx::Error,
    table: &str,
    org_id: &str,
    id: &str,
    name: &str,
) -> StoreError {
    match violation(&err, table) {
        Some(Violation::Name) => StoreError::NameConflict {
            name: name.to_owned(),
        },
        Some(Violation::Key) => StoreError::AlreadyExists { id: id.to_owned() },
        Some(Violation::ForeignKey) => StoreError::UnknownOrg {
            org_id: org_id.to_owned(),
        },
        None => StoreError::Database(err),
    }
}

/// A bind value for dynamically assembled statements.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Converts an API-level count to a bind value, saturating (SQL integers are signed).
pub(crate) fn count_arg(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How often a conditional write whose failure could not be explained (the row changed
/// between the write and the read that explains it) is retried before giving up.
pub(crate) const RETRIES: usize = 8;

/// A conditional write kept failing without a reason that lasted long enough to report.
pub(crate) fn retries_exhausted(operation: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!(
        "{operation}: the row kept changing; gave up after {RETRIES} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_pattern_escapes_like_metacharacters() {
        assert_eq!(contains_pattern("Main_IVR"), "%main\\_ivr%");
        assert_eq!(contains_pattern("100%"), "%100\\%%");
        assert_eq!(contains_pattern("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn truncation_keeps_milliseconds_only() {
        let at = DateTime::parse_from_rfc3339("2026-01-15T09:12:00.123456789Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        let expected = DateTime::parse_from_rfc3339("2026-01-15T09:12:00.123Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        assert_eq!(at.map(truncate_to_millis), expected);
    }

    #[test]
    fn timestamp_text_is_chronos_fixed_width_format() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        for s in [
            "2026-01-15T09:12:00.123456Z",
            "1970-01-01T00:00:00Z",
            "0001-02-03T04:05:06.007Z",
            "9999-12-31T23:59:59.999Z",
            "2024-02-29T23:59:59.990Z",
        ] {
            let ts = Ts::new(at(s));
            assert_eq!(ts.text(), ts.0.format(TEXT_FORMAT).to_string(), "{s}");
        }
        let far = Ts(DateTime::<Utc>::MAX_UTC);
        assert_eq!(far.text(), far.0.format(TEXT_FORMAT).to_string());
    }
}
