//! Lookup tables (CreateLookupTable, UpdateLookupTable, GetLookupTable, DescribeLookupTables,
//! DeleteLookupTable): CSV reference data with a header row, for the `lookup` query command.
//! Each table is one fsync'd blob (`<data>/lookup-tables/<account>/<region>/<name>`), written
//! before the call is acknowledged and read back when the server starts.

use crate::{decode_token, encode_token, error, invalid, output, scope};
use nephoscope_logstore::Scope;
use nephoscope_model::types::logs::*;
use nephoscope_storage::blob::BlobStore;
use nephoscope_storage::codec::{Reader, Writer};
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Lookup tables per account and Region (AWS's limit).
pub const MAX_TABLES: usize = 100;
/// DescribeLookupTables page size when `maxResults` is absent.
pub const DEFAULT_PAGE: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub description: String,
    /// The CSV text as given.
    pub body: String,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The header row.
    pub fields: Vec<String>,
    /// Rows after the header.
    pub records: Vec<Vec<String>>,
}

/// Every account's lookup tables, kept in a blob store when one is given.
#[derive(Default)]
pub struct LookupTables {
    tables: Mutex<BTreeMap<(Scope, String), Table>>,
    blobs: Option<Arc<dyn BlobStore>>,
}

const PREFIX: &str = "lookup-tables/";

fn blob_key(scope: &Scope, name: &str) -> String {
    format!("{PREFIX}{}/{}/{name}", scope.account, scope.region)
}

pub fn arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:lookup-table:{name}",
        scope.region, scope.account
    )
}

fn not_found() -> ApiError {
    error(
        "ResourceNotFoundException",
        "The specified lookup table does not exist.",
    )
}

/// The table name of `arn` when it names a table of `scope`.
fn name_of(scope: &Scope, arn_text: &str) -> Result<String, ApiError> {
    let name = arn_text
        .strip_prefix(&format!(
            "arn:aws:logs:{}:{}:lookup-table:",
            scope.region, scope.account
        ))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    name.map(str::to_string).ok_or_else(not_found)
}

/// The header row and the records of a CSV body; rows must have the header's width.
pub fn parse_csv(body: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ApiError> {
    let bad = |m: String| invalid(format!("The table body is not valid CSV: {m}"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let fields: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if fields.is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
        return Err(bad("the header row must name every column".into()));
    }
    for (n, f) in fields.iter().enumerate() {
        if fields[..n].contains(f) {
            return Err(bad(format!(
                "the column {f} appears twice in the header row"
            )));
        }
    }
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| bad(e.to_string()))?;
        records.push(r.iter().map(str::to_string).collect());
    }
    Ok((fields, records))
}

fn encode(t: &Table) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(1);
    w.str(&t.name);
    w.str(&t.description);
    w.str(&t.body);
    w.str(t.kms_key_id.as_deref().unwrap_or_default());
    w.u64(t.tags.len() as u64);
    for (k, v) in &t.tags {
        w.str(k);
        w.str(v);
    }
    w.i64(t.created_at);
    w.i64(t.updated_at);
    w.buf
}

fn decode(data: &[u8]) -> Option<Table> {
    let mut r = Reader::new(data);
    if r.u8().ok()? != 1 {
        return None;
    }
    let (name, description, body, kms) =
        (r.str().ok()?, r.str().ok()?, r.str().ok()?, r.str().ok()?);
    let mut tags = BTreeMap::new();
    for _ in 0..r.u64().ok()? {
        tags.insert(r.str().ok()?, r.str().ok()?);
    }
    let (created_at, updated_at) = (r.i64().ok()?, r.i64().ok()?);
    let (fields, records) = parse_csv(&body).ok()?;
    r.done().then_some(Table {
        name,
        description,
        body,
        kms_key_id: (!kms.is_empty()).then_some(kms),
        tags,
        created_at,
        updated_at,
        fields,
        records,
    })
}

impl LookupTables {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Scope, String), Table>> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps tables in `blobs`, reading those already there.
    pub fn keep_in(&mut self, blobs: Arc<dyn BlobStore>) -> std::io::Result<()> {
        let mut tables = self.lock();
        for key in blobs.list(PREFIX)? {
            let mut parts = key.trim_start_matches(PREFIX).splitn(3, '/');
            let (Some(account), Some(region), Some(_)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let scope = Scope {
                account: account.into(),
                region: region.into(),
            };
            match decode(&blobs.get(&key)?) {
                Some(t) => {
                    tables.insert((scope, t.name.clone()), t);
                }
                None => tracing::warn!(key, "unreadable lookup table skipped"),
            }
        }
        drop(tables);
        self.blobs = Some(blobs);
        Ok(())
    }

    /// The table `name` of `scope` (for the `lookup` command).
    pub fn get(&self, scope: &Scope, name: &str) -> Option<Table> {
        self.lock().get(&(scope.clone(), name.to_string())).cloned()
    }

    fn save(&self, scope: &Scope, t: &Table, request_id: &str) -> Result<(), ApiError> {
        if let Some(blobs) = &self.blobs {
            blobs
                .put(&blob_key(scope, &t.name), &encode(t))
                .map_err(|e| {
                    tracing::error!(request_id, error = %e, "cannot store a lookup table");
                    error(
                        "ServiceUnavailableException",
                        "The lookup table could not be stored.",
                    )
                })?;
        }
        Ok(())
    }

    pub fn clear(&self) {
        let keys: Vec<(Scope, String)> = std::mem::take(&mut *self.lock()).into_keys().collect();
        if let Some(blobs) = &self.blobs {
            for (scope, name) in keys {
                let _ = blobs.delete(&blob_key(&scope, &name));
            }
        }
    }
}

/// The CSV of `tableBody` or of query `queryId`'s results: exactly one of them.
fn content(
    queries: &crate::queries::Queries,
    scope: &Scope,
    body: Option<String>,
    query_id: Option<String>,
) -> Result<String, ApiError> {
    match (body, query_id) {
        (Some(b), None) => Ok(b),
        (None, Some(q)) => queries.results_csv(scope, &q),
        _ => Err(invalid(
            "Specify either tableBody or queryId, but not both.",
        )),
    }
}

pub fn create(
    tables: &LookupTables,
    queries: &crate::queries::Queries,
    ctx: &RequestContext,
    now: i64,
    req: CreateLookupTableRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let name = req.lookup_table_name.unwrap_or_default();
    let body = content(queries, &scope, req.table_body, req.query_id)?;
    let (fields, records) = parse_csv(&body)?;
    let mut all = tables.lock();
    if all.contains_key(&(scope.clone(), name.clone())) {
        return Err(error(
            "ResourceAlreadyExistsException",
            format!("A lookup table named {name} already exists."),
        ));
    }
    if all.keys().filter(|(s, _)| *s == scope).count() >= MAX_TABLES {
        return Err(error(
            "LimitExceededException",
            format!("An account can have at most {MAX_TABLES} lookup tables per Region."),
        ));
    }
    let t = Table {
        name: name.clone(),
        description: req.description.unwrap_or_default(),
        body,
        kms_key_id: req.kms_key_id.filter(|k| !k.is_empty()),
        tags: req.tags.unwrap_or_default(),
        created_at: now,
        updated_at: now,
        fields,
        records,
    };
    tables.save(&scope, &t, &ctx.request_id)?;
    all.insert((scope.clone(), name.clone()), t);
    output(CreateLookupTableResponse {
        lookup_table_arn: Some(arn(&scope, &name)),
        created_at: Some(now),
    })
}

pub fn update(
    tables: &LookupTables,
    queries: &crate::queries::Queries,
    ctx: &RequestContext,
    now: i64,
    req: UpdateLookupTableRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let name = name_of(&scope, req.lookup_table_arn.as_deref().unwrap_or_default())?;
    if !tables.lock().contains_key(&(scope.clone(), name.clone())) {
        return Err(not_found());
    }
    let body = content(queries, &scope, req.table_body, req.query_id)?;
    let (fields, records) = parse_csv(&body)?;
    let mut all = tables.lock();
    let Some(old) = all.get(&(scope.clone(), name.clone())) else {
        return Err(not_found());
    };
    let t = Table {
        description: req.description.unwrap_or_else(|| old.description.clone()),
        body,
        kms_key_id: match req.kms_key_id {
            None => old.kms_key_id.clone(),
            Some(k) if k.is_empty() => None,
            Some(k) => Some(k),
        },
        updated_at: now,
        fields,
        records,
        ..old.clone()
    };
    tables.save(&scope, &t, &ctx.request_id)?;
    all.insert((scope.clone(), name.clone()), t);
    output(UpdateLookupTableResponse {
        lookup_table_arn: Some(arn(&scope, &name)),
        last_updated_time: Some(now),
    })
}

pub fn get(
    tables: &LookupTables,
    ctx: &RequestContext,
    req: GetLookupTableRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let name = name_of(&scope, req.lookup_table_arn.as_deref().unwrap_or_default())?;
    let t = tables.get(&scope, &name).ok_or_else(not_found)?;
    output(GetLookupTableResponse {
        lookup_table_arn: Some(arn(&scope, &name)),
        lookup_table_name: Some(t.name.clone()),
        description: Some(t.description.clone()),
        size_bytes: Some(t.body.len() as i64),
        table_body: Some(t.body),
        last_updated_time: Some(t.updated_at),
        kms_key_id: t.kms_key_id,
    })
}

pub fn describe(
    tables: &LookupTables,
    ctx: &RequestContext,
    req: DescribeLookupTablesRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let after = req.next_token.as_deref().map(decode_token).transpose()?;
    let max = match req.max_results {
        Some(m) if m > 0 => m as usize,
        _ => DEFAULT_PAGE,
    };
    let prefix = req.lookup_table_name_prefix.unwrap_or_default();
    let all = tables.lock();
    let mut matching = all
        .iter()
        .filter(|((s, name), _)| {
            *s == scope
                && name.starts_with(&prefix)
                && after.as_ref().is_none_or(|a| name.as_str() > a.as_str())
        })
        .map(|(_, t)| t);
    let page: Vec<&Table> = matching.by_ref().take(max).collect();
    let next_token = (matching.next().is_some())
        .then(|| page.last().map(|t| encode_token(&t.name)))
        .flatten();
    output(DescribeLookupTablesResponse {
        lookup_tables: Some(
            page.into_iter()
                .map(|t| LookupTable {
                    lookup_table_arn: Some(arn(&scope, &t.name)),
                    lookup_table_name: Some(t.name.clone()),
                    description: Some(t.description.clone()),
                    table_fields: Some(t.fields.clone()),
                    records_count: Some(t.records.len() as i64),
                    size_bytes: Some(t.body.len() as i64),
                    last_updated_time: Some(t.updated_at),
                    kms_key_id: t.kms_key_id.clone(),
                })
                .collect(),
        ),
        next_token,
    })
}

pub fn delete(
    tables: &LookupTables,
    ctx: &RequestContext,
    req: DeleteLookupTableRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let name = name_of(&scope, req.lookup_table_arn.as_deref().unwrap_or_default())?;
    let mut all = tables.lock();
    if !all.contains_key(&(scope.clone(), name.clone())) {
        return Err(not_found());
    }
    if let Some(blobs) = &tables.blobs {
        blobs.delete(&blob_key(&scope, &name)).map_err(|e| {
            tracing::error!(request_id = ctx.request_id, error = %e, "cannot delete a lookup table");
            error(
                "ServiceUnavailableException",
                "The lookup table could not be deleted.",
            )
        })?;
    }
    all.remove(&(scope, name));
    output(Value::Object(Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_table() {
        let (fields, records) = parse_csv("id,name\n1,\"Doe, Jane\"\n2,bob\n").unwrap();
        assert_eq!(fields, ["id", "name"]);
        assert_eq!(records, [vec!["1", "Doe, Jane"], vec!["2", "bob"]]);
        for bad in ["id,id\n1,2\n", "id,\n1,2\n", "a,b\n1,2,3\n", "a,b\n1\n"] {
            assert!(parse_csv(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arns_name_tables_of_the_caller_only() {
        let s = Scope {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
        };
        let a = arn(&s, "users_2");
        assert_eq!(
            a,
            "arn:aws:logs:eu-west-1:111122223333:lookup-table:users_2"
        );
        assert_eq!(name_of(&s, &a).unwrap(), "users_2");
        for other in [
            "arn:aws:logs:us-east-1:111122223333:lookup-table:users_2",
            "arn:aws:logs:eu-west-1:999999999999:lookup-table:users_2",
            "arn:aws:logs:eu-west-1:111122223333:lookup-table:",
            "users_2",
        ] {
            assert!(name_of(&s, other).is_err(), "{other}");
        }
    }
}
