//! The Nephoscope server: configuration, the HTTP edge, authentication and the request path.

pub mod app;
pub mod auth;
pub mod config;
pub mod metrics;
pub mod serve;

use nephoscope_wire::Service;
use std::sync::Arc;

/// Every service the server answers, built from the configuration.
pub fn services() -> Vec<Arc<dyn Service>> {
    vec![
        Arc::new(nephoscope_sts::Sts),
        Arc::new(unbuilt::Unbuilt(
            &nephoscope_model::generated::logs::SERVICE,
        )),
        Arc::new(unbuilt::Unbuilt(
            &nephoscope_model::generated::cloudwatch::SERVICE,
        )),
        Arc::new(unbuilt::Unbuilt(
            &nephoscope_model::generated::events::SERVICE,
        )),
    ]
}

/// Services whose model is routed and validated but none of whose operations is built yet.
mod unbuilt {
    use nephoscope_model::meta::{OperationDef, ServiceDef};
    use nephoscope_wire::{ApiError, HandlerFuture, RequestContext, Service};

    pub struct Unbuilt(pub &'static ServiceDef);

    impl Service for Unbuilt {
        fn model(&self) -> &'static ServiceDef {
            self.0
        }
        fn implements(&self, _operation: &str) -> bool {
            false
        }
        fn call(
            &self,
            _ctx: RequestContext,
            op: &'static OperationDef,
            _input: serde_json::Value,
        ) -> HandlerFuture {
            let e = ApiError::not_implemented(self.0.name, op.name);
            Box::pin(async move { Err(e) })
        }
    }
}
