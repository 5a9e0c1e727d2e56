//! Saved Logs Insights queries: Put/Describe/DeleteQueryDefinition, durable in the log store.

use crate::{decode_token, encode_token, invalid, output, scope, store_error};
use nephoscope_logstore::{
    LogStore, Mutation, QueryDefinition as Saved, QueryParameter as SavedParameter,
};
use nephoscope_model::types::logs::*;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;

/// The parameters of a definition: only Logs Insights QL has them, names are unique.
fn parameters(
    language: &str,
    given: Option<Vec<QueryParameter>>,
) -> Result<Vec<SavedParameter>, ApiError> {
    let given = given.unwrap_or_default();
    if given.is_empty() {
        return Ok(Vec::new());
    }
    if language != "CWLI" {
        return Err(invalid(format!(
            "Query parameters are supported only for Logs Insights QL queries, not {language}."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    given
        .into_iter()
        .map(|p| {
            let name = p.name.unwrap_or_default();
            if !seen.insert(name.clone()) {
                return Err(invalid(format!(
                    "Query parameter name {name} is used more than once."
                )));
            }
            Ok(SavedParameter {
                name,
                default_value: p.default_value,
                description: p.description,
            })
        })
        .collect()
}

pub async fn put(
    store: &LogStore,
    ctx: &RequestContext,
    req: PutQueryDefinitionRequest,
) -> Result<Value, ApiError> {
    let query_language = req.query_language.unwrap_or_else(|| "CWLI".to_owned());
    let parameters = parameters(&query_language, req.parameters)?;
    let (id, create) = match req.query_definition_id {
        Some(id) => (id, false),
        None => (uuid::Uuid::new_v4().to_string(), true),
    };
    store
        .mutate(Mutation::PutQueryDefinition {
            scope: scope(ctx),
            id: id.clone(),
            create,
            definition: Saved {
                name: req.name.unwrap_or_default(),
                query_string: req.query_string.unwrap_or_default(),
                log_group_names: req.log_group_names.unwrap_or_default(),
                last_modified: store.now(),
                query_language,
                parameters,
            },
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    output(PutQueryDefinitionResponse {
        query_definition_id: Some(id),
    })
}

pub fn describe(
    store: &LogStore,
    ctx: &RequestContext,
    req: DescribeQueryDefinitionsRequest,
) -> Result<Value, ApiError> {
    let st = store.read();
    let mut all: Vec<QueryDefinition> = st
        .query_definitions
        .get(&scope(ctx))
        .into_iter()
        .flatten()
        .filter(|(_, d)| {
            req.query_definition_name_prefix
                .as_ref()
                .is_none_or(|p| d.name.starts_with(p.as_str()))
                && req
                    .query_language
                    .as_ref()
                    .is_none_or(|l| *l == d.query_language)
        })
        .map(|(id, d)| QueryDefinition {
            query_language: Some(d.query_language.clone()),
            query_definition_id: Some(id.clone()),
            name: Some(d.name.clone()),
            query_string: Some(d.query_string.clone()),
            last_modified: Some(d.last_modified),
            log_group_names: Some(d.log_group_names.clone()),
            parameters: (!d.parameters.is_empty()).then(|| {
                d.parameters
                    .iter()
                    .map(|p| QueryParameter {
                        name: Some(p.name.clone()),
                        default_value: p.default_value.clone(),
                        description: p.description.clone(),
                    })
                    .collect()
            }),
        })
        .collect();
    all.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.query_definition_id.cmp(&b.query_definition_id))
    });
    let offset: usize = match &req.next_token {
        Some(t) => decode_token(t)?
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let max = req.max_results.map_or(1000, |m| m as usize);
    let next_token = (offset + max < all.len()).then(|| encode_token(&(offset + max).to_string()));
    let page = all.into_iter().skip(offset).take(max).collect();
    output(DescribeQueryDefinitionsResponse {
        query_definitions: Some(page),
        next_token,
    })
}

pub async fn delete(
    store: &LogStore,
    ctx: &RequestContext,
    req: DeleteQueryDefinitionRequest,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::DeleteQueryDefinition {
            scope: scope(ctx),
            id: req.query_definition_id.unwrap_or_default(),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    output(DeleteQueryDefinitionResponse {
        success: Some(true),
    })
}
