//! Query strings and cursor pagination, parsed strictly: unknown or repeated parameters are
//! refused like unknown body fields.

use std::collections::BTreeMap;

use benteng_store::Cursor;
use serde::Serialize;

use crate::error::{ApiError, FieldProblem};

/// The parameters of a query string; each allowed name at most once.
pub struct QueryParams(BTreeMap<String, String>);

impl QueryParams {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut params = BTreeMap::new();
        let mut problems = Vec::new();
        let raw = raw.unwrap_or("");
        if raw.len() > 4096 {
            return Err(ApiError::BadRequest("the query string is too long"));
        }
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let name = name.into_owned();
            if !allowed.contains(&name.as_str()) {
                problems.push(FieldProblem {
                    field: if name.len() <= 64
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        name
                    } else {
                        "?".to_owned()
                    },
                    code: "unknown_field".to_owned(),
                    message: "is not a known parameter".to_owned(),
                });
            } else if params.insert(name.clone(), value.into_owned()).is_some() {
                problems.push(FieldProblem {
                    field: name,
                    code: "duplicate".to_owned(),
                    message: "is given more than once".to_owned(),
                });
            }
        }
        if problems.is_empty() {
            Ok(Self(params))
        } else {
            Err(ApiError::Validation(problems))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `cursor` parameter, if given: only a cursor this API handed out parses.
    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        self.get("cursor")
            .map(|text| {
                Cursor::decode(text).ok_or_else(|| {
                    ApiError::invalid("cursor", "invalid_format", "is not a cursor from this API")
                })
            })
            .transpose()
    }
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// `limit` and `cursor`, plus whatever else the route allows.
pub struct PageQuery {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub params: QueryParams,
}

impl PageQuery {
    pub fn parse(raw: Option<&str>, extra: &[&str]) -> Result<Self, ApiError> {
        let mut allowed = vec!["limit", "cursor"];
        allowed.extend_from_slice(extra);
        let params = QueryParams::parse(raw, &allowed)?;
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::invalid("limit", "out_of_range", "must be 1 to 100"))?,
        };
        let cursor = params.cursor()?;
        Ok(Self {
            limit,
            cursor,
            params,
        })
    }
}

/// One page of a list, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PageView<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> PageView<T> {
    pub fn new(data: Vec<T>, next: Option<Cursor>) -> Self {
        Self {
            data,
            next_cursor: next.map(|c| c.encode()),
        }
    }
}
