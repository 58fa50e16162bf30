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

/// A statement's text made of static SQL and numbered placeholders only: the one way SQL
/// text varies at run time here (how many rows one statement carries, so several rows go to
/// the database in one round trip on both backends; which optional conditions a listing has,
/// so each filter is a plain indexed comparison rather than `($1 = '' OR col = $1)`). Nothing but `&'static str` and numbers
/// can be appended, so no value can reach the text; values are bound. The only place the
/// store hands sqlx a run-time string (`AssertSqlSafe`); semgrep's
/// `benteng-string-built-sql` rule keeps it so.
pub(crate) struct Statement {
    text: String,
    placeholders: usize,
}

impl Statement {
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
            text: sql.to_owned(),
            placeholders: 0,
        }
    }

    /// Appends static SQL.
    pub(crate) fn then(mut self, sql: &'static str) -> Self {
        self.text.push_str(sql);
        self
    }

    /// Appends static SQL and then the next placeholder: one bound value of an optional
    /// condition (` AND inbox = ` becomes ` AND inbox = $3`).
    pub(crate) fn bound(mut self, sql: &'static str) -> Self {
        self.placeholders += 1;
        self.text.push_str(sql);
        self.text.push('$');
        self.text.push_str(&self.placeholders.to_string());
        self
    }

    /// Appends ` ($1, $2), ($3, $4)`: `rows` rows of `columns` placeholders, numbered on from
    /// the statement's earlier ones.
    pub(crate) fn rows(mut self, rows: usize, columns: usize) -> Self {
        let row = |r: usize| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("${}", self.placeholders + r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        };
        let values: Vec<String> = (0..rows).map(row).collect();
        self.text.push(' ');
        self.text.push_str(&values.join(", "));
        self.placeholders += rows * columns;
        self
    }

    pub(crate) fn sql(self) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(self.text)
    }
}

/// `head` (static SQL ending in `VALUES`) followed by the placeholders of `rows` rows of
/// `columns` values: the common [`Statement`].
pub(crate) fn insert_rows(
    head: &'static str,
    rows: usize,
    columns: usize,
) -> sqlx::AssertSqlSafe<String> {
    Statement::new(head).rows(rows, columns).sql()
}

#[cfg(test)]
mod tests {
    use super::insert_rows;

    #[test]
    fn insert_rows_numbers_placeholders_row_by_row() {
        assert_eq!(insert_rows("VALUES", 2, 2).0, "VALUES ($1, $2), ($3, $4)");
        assert_eq!(insert_rows("VALUES", 1, 3).0, "VALUES ($1, $2, $3)");
    }

    #[test]
    fn a_statements_later_rows_number_on_from_its_earlier_ones() {
        let sql = super::Statement::new("WITH a AS (INSERT INTO a VALUES")
            .rows(2, 1)
            .then(") INSERT INTO b VALUES")
            .rows(1, 2)
            .then(" ON CONFLICT DO NOTHING")
            .sql();
        assert_eq!(
            sql.0,
            "WITH a AS (INSERT INTO a VALUES ($1), ($2)) INSERT INTO b VALUES ($3, $4) \
             ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn bound_conditions_number_on_between_rows() {
        let sql = super::Statement::new("SELECT id FROM t WHERE a = 1")
            .bound(" AND b = ")
            .then(" AND c IN")
            .rows(1, 2)
            .bound(" AND d >= ")
            .sql();
        assert_eq!(
            sql.0,
            "SELECT id FROM t WHERE a = 1 AND b = $1 AND c IN ($2, $3) AND d >= $4"
        );
    }
}
