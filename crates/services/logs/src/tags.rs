//! Tags of log groups, by ARN (TagResource family) and by name (the legacy TagLogGroup family).

use crate::groups::{check_tags, MAX_TAGS};
use crate::{error, invalid, output, rejection, resolve_identifier, scope, store_error};
use nephoscope_logstore::{LogStore, Mutation, Rejection, Scope};
use nephoscope_model::types::logs::*;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;
use std::collections::BTreeMap;

/// The log group an ARN names; other resource types are not taggable here yet.
fn group_of_arn(scope: &Scope, arn: &str) -> Result<String, ApiError> {
    if !arn.starts_with("arn:") || !arn.contains(":log-group:") {
        return Err(invalid(format!(
            "Only log group ARNs can be tagged by Nephoscope so far: {arn}"
        )));
    }
    resolve_identifier(scope, arn)
}

async fn add(
    store: &LogStore,
    ctx: &RequestContext,
    group: String,
    tags: BTreeMap<String, String>,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    check_tags(&tags)?;
    {
        let st = store.read();
        let g = st
            .group(&scope, &group)
            .ok_or_else(|| rejection(Rejection::GroupNotFound))?;
        let total = g
            .tags
            .keys()
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if total > MAX_TAGS {
            return Err(error(
                "TooManyTagsException",
                format!("A resource can have no more than {MAX_TAGS} tags."),
            ));
        }
    }
    store
        .mutate(Mutation::Tag { scope, group, tags })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

async fn remove(
    store: &LogStore,
    ctx: &RequestContext,
    group: String,
    keys: Vec<String>,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::Untag {
            scope: scope(ctx),
            group,
            keys,
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

fn list(
    store: &LogStore,
    ctx: &RequestContext,
    group: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let st = store.read();
    let g = st
        .group(&scope(ctx), group)
        .ok_or_else(|| rejection(Rejection::GroupNotFound))?;
    Ok(g.tags.clone())
}

pub async fn tag_resource(
    store: &LogStore,
    ctx: &RequestContext,
    req: TagResourceRequest,
) -> Result<Value, ApiError> {
    let group = group_of_arn(&scope(ctx), req.resource_arn.as_deref().unwrap_or_default())?;
    add(store, ctx, group, req.tags.unwrap_or_default()).await
}

pub async fn untag_resource(
    store: &LogStore,
    ctx: &RequestContext,
    req: UntagResourceRequest,
) -> Result<Value, ApiError> {
    let group = group_of_arn(&scope(ctx), req.resource_arn.as_deref().unwrap_or_default())?;
    remove(store, ctx, group, req.tag_keys.unwrap_or_default()).await
}

pub fn list_for_resource(
    store: &LogStore,
    ctx: &RequestContext,
    req: ListTagsForResourceRequest,
) -> Result<Value, ApiError> {
    let group = group_of_arn(&scope(ctx), req.resource_arn.as_deref().unwrap_or_default())?;
    output(ListTagsForResourceResponse {
        tags: Some(list(store, ctx, &group)?),
    })
}

pub async fn tag_log_group(
    store: &LogStore,
    ctx: &RequestContext,
    req: TagLogGroupRequest,
) -> Result<Value, ApiError> {
    add(
        store,
        ctx,
        req.log_group_name.unwrap_or_default(),
        req.tags.unwrap_or_default(),
    )
    .await
}

pub async fn untag_log_group(
    store: &LogStore,
    ctx: &RequestContext,
    req: UntagLogGroupRequest,
) -> Result<Value, ApiError> {
    remove(
        store,
        ctx,
        req.log_group_name.unwrap_or_default(),
        req.tags.unwrap_or_default(),
    )
    .await
}

pub fn list_log_group(
    store: &LogStore,
    ctx: &RequestContext,
    req: ListTagsLogGroupRequest,
) -> Result<Value, ApiError> {
    output(ListTagsLogGroupResponse {
        tags: Some(list(store, ctx, &req.log_group_name.unwrap_or_default())?),
    })
}
