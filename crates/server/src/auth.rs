//! Who is calling: SigV4 verification against the configured credentials, mapped to an account
//! and principal, with each protocol's error codes for authentication failures.

use crate::config::{Config, DEV_ACCESS_KEY_ID, DEV_ACCOUNT_ID, DEV_SECRET_ACCESS_KEY};
use nephoscope_clock::SharedClock;
use nephoscope_sigv4::{self as sigv4, Authorization, Request, SigV4Error};
use nephoscope_wire::{ApiError, WireProtocol};
use std::collections::HashMap;
use std::net::SocketAddr;

pub struct Credential {
    secret: String,
    pub account_id: String,
    pub principal: String,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    pub access_key_id: String,
    pub account_id: String,
    pub principal: String,
    pub region: String,
    /// SigV4 scope service (`logs`, `monitoring`, …).
    pub service: String,
}

pub struct Authenticator {
    credentials: HashMap<String, Credential>,
    max_skew: i64,
    clock: SharedClock,
}

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum AuthFailure {
    Missing,
    UnknownKey,
    Signature(SigV4Error),
}

impl Authenticator {
    pub fn new(config: &Config, addr: &SocketAddr, clock: SharedClock) -> Self {
        let mut credentials = HashMap::new();
        if config.dev_credentials_enabled(addr) {
            credentials.insert(
                DEV_ACCESS_KEY_ID.to_string(),
                Credential {
                    secret: DEV_SECRET_ACCESS_KEY.into(),
                    account_id: DEV_ACCOUNT_ID.into(),
                    principal: "root".into(),
                },
            );
        }
        for c in &config.auth.credentials {
            credentials.insert(
                c.access_key_id.clone(),
                Credential {
                    secret: c.secret_access_key.clone(),
                    account_id: c.account_id.clone(),
                    principal: c.principal.clone(),
                },
            );
        }
        Authenticator {
            credentials,
            max_skew: config.auth.max_skew_seconds,
            clock,
        }
    }

    /// The scope of a request's Authorization header, when it parses (for routing and errors).
    pub fn scope(req: &Request<'_>) -> Option<Authorization> {
        sigv4::parse_authorization(req.header("authorization")?).ok()
    }

    pub fn authenticate(&self, req: &Request<'_>) -> Result<Identity, AuthFailure> {
        let header = req.header("authorization").ok_or(AuthFailure::Missing)?;
        let auth = sigv4::parse_authorization(header).map_err(AuthFailure::Signature)?;
        let cred = self
            .credentials
            .get(&auth.access_key_id)
            .ok_or(AuthFailure::UnknownKey)?;
        sigv4::verify(
            req,
            &auth,
            &cred.secret,
            self.clock.now_seconds(),
            self.max_skew,
        )
        .map_err(AuthFailure::Signature)?;
        Ok(Identity {
            access_key_id: auth.access_key_id,
            account_id: cred.account_id.clone(),
            principal: cred.principal.clone(),
            region: auth.region,
            service: auth.service,
        })
    }
}

impl AuthFailure {
    /// The error a client of `protocol` expects.
    pub fn to_api_error(&self, protocol: WireProtocol) -> ApiError {
        let query = protocol == WireProtocol::Query;
        match self {
            AuthFailure::Missing => {
                if query {
                    ApiError::new(
                        "MissingAuthenticationToken",
                        403,
                        "Request is missing Authentication Token",
                    )
                } else {
                    ApiError::new(
                        "MissingAuthenticationTokenException",
                        400,
                        "Missing Authentication Token",
                    )
                    .with_query_code("MissingAuthenticationToken")
                }
            }
            AuthFailure::UnknownKey => {
                if query {
                    ApiError::new(
                        "InvalidClientTokenId",
                        403,
                        "The security token included in the request is invalid.",
                    )
                } else {
                    ApiError::new(
                        "UnrecognizedClientException",
                        400,
                        "The security token included in the request is invalid.",
                    )
                    .with_query_code("InvalidClientTokenId")
                }
            }
            AuthFailure::Signature(e) => {
                let code = match e {
                    SigV4Error::Malformed(_) | SigV4Error::Missing => "IncompleteSignature",
                    _ => "SignatureDoesNotMatch",
                };
                if query {
                    ApiError::new(
                        code,
                        if code == "IncompleteSignature" {
                            400
                        } else {
                            403
                        },
                        e.to_string(),
                    )
                } else if code == "IncompleteSignature" {
                    ApiError::new("IncompleteSignatureException", 400, e.to_string())
                        .with_query_code(code)
                } else {
                    ApiError::new("InvalidSignatureException", 400, e.to_string())
                        .with_query_code(code)
                }
            }
        }
    }
}
