//! Service models of the AWS APIs Nephoscope answers: static tables for the wire layer and typed
//! shapes for the service layer, both generated from the botocore models in `models/`.

pub mod meta;
mod values;

pub use values::{Blob, Timestamp};

/// Generated tables and typed shapes, one pair of modules per service.
#[rustfmt::skip]
pub mod generated {
    pub mod cloudwatch;
    pub mod cloudwatch_types;
    pub mod events;
    pub mod events_types;
    pub mod logs;
    pub mod logs_types;
    pub mod sts;
    pub mod sts_types;
}

/// Typed shapes by service.
pub mod types {
    pub use crate::generated::cloudwatch_types as cloudwatch;
    pub use crate::generated::events_types as events;
    pub use crate::generated::logs_types as logs;
    pub use crate::generated::sts_types as sts;
}

/// Every service model the server knows.
pub fn services() -> [&'static meta::ServiceDef; 4] {
    [
        &generated::logs::SERVICE,
        &generated::cloudwatch::SERVICE,
        &generated::events::SERVICE,
        &generated::sts::SERVICE,
    ]
}
