//! STS on the shared endpoint: `GetCallerIdentity` answers with the caller's account and principal
//! (Terraform, Grafana and many SDK set-ups call it first).

use nephoscope_model::generated::sts::SERVICE;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_model::types::sts::GetCallerIdentityResponse;
use nephoscope_wire::{ApiError, HandlerFuture, RequestContext, Service};

#[derive(Debug, Default)]
pub struct Sts;

impl Sts {
    fn get_caller_identity(ctx: &RequestContext) -> GetCallerIdentityResponse {
        let user_id = if ctx.principal == "root" {
            ctx.account_id.clone()
        } else {
            ctx.access_key_id.clone()
        };
        GetCallerIdentityResponse {
            account: Some(ctx.account_id.clone()),
            arn: Some(ctx.principal_arn()),
            user_id: Some(user_id),
        }
    }
}

impl Service for Sts {
    fn model(&self) -> &'static ServiceDef {
        &SERVICE
    }

    fn implements(&self, operation: &str) -> bool {
        operation == "GetCallerIdentity"
    }

    fn call(
        &self,
        ctx: RequestContext,
        op: &'static OperationDef,
        _input: nephoscope_wire::Input,
    ) -> HandlerFuture {
        let result = match op.name {
            "GetCallerIdentity" => serde_json::to_value(Self::get_caller_identity(&ctx))
                .map_err(|_| ApiError::internal(&ctx.request_id)),
            other => Err(ApiError::not_implemented(SERVICE.name, other)),
        };
        Box::pin(async move { result.map(nephoscope_wire::Output::from) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(principal: &str) -> RequestContext {
        RequestContext {
            request_id: "r".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            access_key_id: "AKIDALICE".into(),
            principal: principal.into(),
        }
    }

    #[test]
    fn caller_identity_table() {
        for (principal, user_id, arn) in [
            ("root", "111111111111", "arn:aws:iam::111111111111:root"),
            (
                "user/alice",
                "AKIDALICE",
                "arn:aws:iam::111111111111:user/alice",
            ),
        ] {
            let out = Sts::get_caller_identity(&ctx(principal));
            assert_eq!(out.user_id.as_deref(), Some(user_id));
            assert_eq!(out.arn.as_deref(), Some(arn));
            assert_eq!(out.account.as_deref(), Some("111111111111"));
        }
    }
}
