//! Types of the generated service-model tables: shapes, members, operations and modeled errors.
//!
//! The tables themselves live in `generated/` and are written by `cargo xtask codegen` from the
//! botocore models vendored in `models/`. Everything protocol-specific (JSON, Query, CBOR) is
//! driven from these tables, so a protocol is written once for every service.

/// Index of a shape inside its service's `SHAPES` table.
pub type ShapeId = u16;

/// Wire protocols a service model can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// awsJson1.0 / awsJson1.1 (`X-Amz-Target`).
    Json,
    /// AWS Query: form-encoded request, XML response.
    Query,
    /// Smithy RPC v2 CBOR.
    RpcV2Cbor,
    /// REST-JSON (X-Ray, Synthetics); routed but not served yet.
    RestJson,
}

#[derive(Debug)]
pub struct ServiceDef {
    /// botocore service name (`logs`, `cloudwatch`, `events`, `sts`).
    pub name: &'static str,
    /// SigV4 signing name / endpoint prefix (`logs`, `monitoring`, `events`, `sts`).
    pub signing_name: &'static str,
    pub api_version: &'static str,
    pub target_prefix: Option<&'static str>,
    pub json_version: Option<&'static str>,
    pub xml_namespace: Option<&'static str>,
    pub protocols: &'static [Protocol],
    /// `awsQueryCompatible`: JSON/CBOR errors carry `x-amzn-query-error`.
    pub query_compatible: bool,
    pub shapes: &'static [ShapeDef],
    /// Sorted by name.
    pub operations: &'static [OperationDef],
}

impl ServiceDef {
    pub fn operation(&self, name: &str) -> Option<&'static OperationDef> {
        self.operations
            .binary_search_by(|op| op.name.cmp(name))
            .ok()
            .map(|i| &self.operations[i])
    }

    pub fn shape(&self, id: ShapeId) -> &'static ShapeDef {
        &self.shapes[id as usize]
    }

    pub fn shape_named(&self, name: &str) -> Option<&'static ShapeDef> {
        self.shapes.iter().find(|s| s.name == name)
    }

    /// The modeled error shape whose shape name or legacy query code is `code`.
    pub fn error(&self, code: &str) -> Option<&'static ShapeDef> {
        self.shapes.iter().find(|s| match &s.error {
            Some(e) => s.name == code || e.code == code,
            None => false,
        })
    }
}

#[derive(Debug)]
pub struct ShapeDef {
    pub name: &'static str,
    pub kind: ShapeKind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<&'static str>,
    pub enum_values: &'static [&'static str],
    pub sensitive: bool,
    /// Present on exception shapes.
    pub error: Option<ErrorDef>,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: &'static [MemberDef],
        union: bool,
        eventstream: bool,
    },
    List {
        member: ShapeId,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
    },
    String,
    Integer,
    Long,
    Double,
    Float,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug)]
pub struct MemberDef {
    pub name: &'static str,
    pub shape: ShapeId,
    pub required: bool,
}

#[derive(Debug)]
pub struct OperationDef {
    pub name: &'static str,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// Query protocol: the element wrapping the output (`GetMetricDataResult`).
    pub result_wrapper: Option<&'static str>,
    pub errors: &'static [ShapeId],
    /// The operation accepts `Content-Encoding: gzip` request bodies by model (`requestcompression`).
    pub request_compression: bool,
    /// Endpoint host prefix (`stream-` for Live Tail).
    pub host_prefix: Option<&'static str>,
}

/// Error metadata of an exception shape.
#[derive(Debug)]
pub struct ErrorDef {
    /// Legacy query error code (`InvalidParameterValue`); equals the shape name when unset in the model.
    pub code: &'static str,
    pub http_status: u16,
    pub sender_fault: bool,
}

impl OperationDef {
    /// Whether the output streams events (a member targeting an `eventstream` structure).
    pub fn is_event_stream(&self, service: &ServiceDef) -> bool {
        self.output.is_some_and(|o| {
            service.shape(o).members().iter().any(|m| {
                matches!(
                    service.shape(m.shape).kind,
                    ShapeKind::Structure {
                        eventstream: true,
                        ..
                    }
                )
            })
        })
    }
}

impl ShapeDef {
    pub fn members(&self) -> &'static [MemberDef] {
        match self.kind {
            ShapeKind::Structure { members, .. } => members,
            _ => &[],
        }
    }

    pub fn member(&self, name: &str) -> Option<&'static MemberDef> {
        self.members().iter().find(|m| m.name == name)
    }
}
