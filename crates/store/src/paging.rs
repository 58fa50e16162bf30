//! Keyset pages of newest-first listings.

use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::StoreResult;
use crate::rows::to_micros;

/// A page of results and the cursor of the next page, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Position in a newest-first listing: the last item's creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: uuid::Uuid,
}

impl Cursor {
    /// Opaque text for clients: `{micros}.{uuid}`; parsing is strict.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id.simple())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once('.')?;
        if micros.is_empty() || micros.len() > 19 || !micros.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if id.len() != 32 {
            return None;
        }
        Some(Cursor {
            created_at: micros.parse().ok()?,
            id: uuid::Uuid::try_parse(id).ok()?,
        })
    }
}

/// Bounds for a newest-first page: everything when there is no cursor.
pub(crate) fn cursor_bounds(after: Option<Cursor>) -> (i64, String) {
    match after {
        Some(cursor) => (cursor.created_at, cursor.id.hyphenated().to_string()),
        None => (i64::MAX, "~".to_owned()),
    }
}

/// Decodes up to `limit + 1` rows into a page; the extra row only says there is a next page.
pub(crate) fn page<T>(
    rows: Vec<AnyRow>,
    limit: u32,
    decode: fn(&AnyRow) -> StoreResult<T>,
    key: fn(&T) -> (OffsetDateTime, uuid::Uuid),
) -> StoreResult<Page<T>> {
    let mut items = rows.iter().map(decode).collect::<StoreResult<Vec<T>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more {
        items.last().map(|item| {
            let (created_at, id) = key(item);
            Cursor {
                created_at: to_micros(created_at),
                id,
            }
        })
    } else {
        None
    };
    Ok(Page { items, next })
}
