//! Conversions between column values and domain types, in one place.

use std::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::{StoreError, StoreResult};

/// The system clock's reading for the store's own bookkeeping (ledger rows, seals, migrations);
/// decisions about money take their time from the payments layer's clock instead.
pub(crate) fn now_micros() -> i64 {
    to_micros(benteng_core::now())
}

pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    // i128 → i64 cannot overflow for any date a `time` value can hold before year 294,247.
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {micros} out of range")))
}

pub(crate) fn time_at(row: &AnyRow, column: &str) -> StoreResult<OffsetDateTime> {
    from_micros(row.try_get(column)?)
}

pub(crate) fn optional_time_at(row: &AnyRow, column: &str) -> StoreResult<Option<OffsetDateTime>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(from_micros)
        .transpose()
}

/// Parses a text column into a domain type, treating refusal as corruption.
pub(crate) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("column {column} holds an invalid value")))
}

pub(crate) fn hash_at(row: &AnyRow, column: &str) -> StoreResult<[u8; 32]> {
    let text: String = row.try_get(column)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(&text, &mut out)
        .map_err(|_| StoreError::Corrupt(format!("column {column} is not a 32-byte hex hash")))?;
    Ok(out)
}

/// `head` (static SQL ending in `VALUES`) followed by the placeholders of `rows` rows of
/// `columns` values, `($1, $2), ($3, $4)`, so several rows go to the database in one statement
/// (one round trip) on both backends. Safe by construction: only static text and numbers.
pub(crate) fn insert_rows(
    head: &'static str,
    rows: usize,
    columns: usize,
) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(insert_rows_after(head, rows, columns, 0))
}

/// [`insert_rows`]' text with its placeholders numbered after the `before` ones of the
/// statement's earlier parts, for one statement that inserts into several tables.
pub(crate) fn insert_rows_after(
    head: &'static str,
    rows: usize,
    columns: usize,
    before: usize,
) -> String {
    let row = |r: usize| {
        let cells: Vec<String> = (1..=columns)
            .map(|c| format!("${}", before + r * columns + c))
            .collect();
        format!("({})", cells.join(", "))
    };
    let values: Vec<String> = (0..rows).map(row).collect();
    format!("{head} {}", values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::insert_rows;

    #[test]
    fn insert_rows_numbers_placeholders_row_by_row() {
        assert_eq!(insert_rows("VALUES", 2, 2).0, "VALUES ($1, $2), ($3, $4)");
        assert_eq!(insert_rows("VALUES", 1, 3).0, "VALUES ($1, $2, $3)");
        assert_eq!(
            super::insert_rows_after("VALUES", 2, 1, 3),
            "VALUES ($4), ($5)"
        );
    }
}
