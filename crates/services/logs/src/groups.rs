//! Log groups: create, delete, describe, retention and deletion protection.

use crate::{
    decode_token, encode_token, error, group_arn, invalid, output, resolve_identifier, scope,
    store_error,
};
use nephoscope_logstore::{LogStore, Mutation};
use nephoscope_model::types::logs::*;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::BTreeMap;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub const MAX_TAGS: usize = 50;

pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(error(
            "TooManyTagsException",
            format!("A resource can have no more than {MAX_TAGS} tags."),
        ));
    }
    if let Some(k) = tags.keys().find(|k| k.starts_with("aws:")) {
        return Err(invalid(format!(
            "Tag keys starting with 'aws:' are reserved: {k}"
        )));
    }
    Ok(())
}

pub async fn create(
    store: &LogStore,
    ctx: &RequestContext,
    req: CreateLogGroupRequest,
) -> Result<Value, ApiError> {
    let name = req.log_group_name.unwrap_or_default();
    if name.starts_with("aws/") {
        return Err(invalid(
            "Log group names cannot start with the string 'aws/'.",
        ));
    }
    let tags = req.tags.unwrap_or_default();
    check_tags(&tags)?;
    store
        .mutate(Mutation::CreateGroup {
            scope: scope(ctx),
            name,
            creation_time: store.now(),
            class: req.log_group_class.unwrap_or_else(|| "STANDARD".into()),
            kms_key_id: req.kms_key_id,
            deletion_protection: req.deletion_protection_enabled.unwrap_or(false),
            tags,
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

pub async fn delete(
    store: &LogStore,
    ctx: &RequestContext,
    req: DeleteLogGroupRequest,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::DeleteGroup {
            scope: scope(ctx),
            name: req.log_group_name.unwrap_or_default(),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

pub fn describe(
    store: &LogStore,
    ctx: &RequestContext,
    req: DescribeLogGroupsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
        return Err(invalid(
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.",
        ));
    }
    if req.log_group_identifiers.is_some()
        && (req.log_group_name_prefix.is_some() || req.log_group_name_pattern.is_some())
    {
        return Err(invalid(
            "LogGroupIdentifiers is mutually exclusive with LogGroupNamePrefix and LogGroupNamePattern.",
        ));
    }
    let identifiers = req.log_group_identifiers.as_ref().map(|ids| {
        ids.iter()
            .filter_map(|id| resolve_identifier(&scope, id).ok())
            .collect::<Vec<_>>()
    });
    let limit = req.limit.unwrap_or(50) as usize;
    let after = req.next_token.as_deref().map(decode_token).transpose()?;
    // A case-sensitive substring, as AWS documents.
    let pattern = req.log_group_name_pattern.as_deref();
    let st = store.read();
    let mut out = Vec::new();
    let mut next_token = None;
    // Only the caller's own account is observable: other account identifiers match nothing.
    let own_account = req
        .account_identifiers
        .as_ref()
        .is_none_or(|ids| ids.contains(&scope.account));
    if let Some(groups) = st.scopes.get(&scope).filter(|_| own_account) {
        let start = match &after {
            Some(a) => std::ops::Bound::Excluded(a.clone()),
            None => std::ops::Bound::Unbounded,
        };
        for (name, g) in groups.range((start, std::ops::Bound::Unbounded)) {
            if let Some(p) = &req.log_group_name_prefix {
                if !name.starts_with(p.as_str()) {
                    if name.as_str() > p.as_str() {
                        break;
                    }
                    continue;
                }
            }
            if pattern.is_some_and(|p| !name.contains(p)) {
                continue;
            }
            if identifiers.as_ref().is_some_and(|ids| !ids.contains(name)) {
                continue;
            }
            if req.log_group_class.as_ref().is_some_and(|c| c != &g.class) {
                continue;
            }
            if out.len() == limit {
                next_token = out
                    .last()
                    .and_then(|l: &LogGroup| l.log_group_name.as_deref())
                    .map(encode_token);
                break;
            }
            let arn = group_arn(&scope, name);
            if pattern.is_some() {
                // AWS: with logGroupNamePattern only arn, creationTime and logGroupName.
                out.push(LogGroup {
                    log_group_name: Some(name.clone()),
                    creation_time: Some(g.creation_time),
                    arn: Some(format!("{arn}:*")),
                    ..LogGroup::default()
                });
                continue;
            }
            out.push(LogGroup {
                log_group_name: Some(name.clone()),
                creation_time: Some(g.creation_time),
                retention_in_days: g.retention_days.map(|d| d as i32),
                metric_filter_count: Some(g.metric_filters.len() as i32),
                arn: Some(format!("{arn}:*")),
                log_group_arn: Some(arn),
                stored_bytes: Some(g.stored_bytes() as i64),
                kms_key_id: g.kms_key_id.clone(),
                log_group_class: Some(g.class.clone()),
                deletion_protection_enabled: Some(g.deletion_protection),
                ..LogGroup::default()
            });
        }
    }
    output(DescribeLogGroupsResponse {
        log_groups: Some(out),
        next_token,
    })
}

pub async fn put_retention(
    store: &LogStore,
    ctx: &RequestContext,
    req: PutRetentionPolicyRequest,
) -> Result<Value, ApiError> {
    let days = req.retention_in_days.unwrap_or_default();
    if !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(|d| d.to_string()).collect();
        return Err(invalid(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )));
    }
    set_retention(
        store,
        ctx,
        req.log_group_name.unwrap_or_default(),
        Some(days as u32),
    )
    .await
}

pub async fn delete_retention(
    store: &LogStore,
    ctx: &RequestContext,
    req: DeleteRetentionPolicyRequest,
) -> Result<Value, ApiError> {
    set_retention(store, ctx, req.log_group_name.unwrap_or_default(), None).await
}

async fn set_retention(
    store: &LogStore,
    ctx: &RequestContext,
    group: String,
    days: Option<u32>,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::SetRetention {
            scope: scope(ctx),
            group,
            days,
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

pub async fn put_deletion_protection(
    store: &LogStore,
    ctx: &RequestContext,
    req: PutLogGroupDeletionProtectionRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = resolve_identifier(
        &scope,
        req.log_group_identifier.as_deref().unwrap_or_default(),
    )?;
    store
        .mutate(Mutation::SetDeletionProtection {
            scope,
            group,
            enabled: req.deletion_protection_enabled.unwrap_or(false),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}
