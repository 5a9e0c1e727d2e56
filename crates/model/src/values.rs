//! Scalar types of the canonical value form shared by every protocol.
//!
//! The wire layer decodes every protocol into the JSON-protocol form ("canonical"): timestamps
//! are epoch seconds as numbers, blobs are base64 strings. These newtypes give the typed shapes
//! the same serde representation.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, as epoch seconds (fractional allowed), the canonical timestamp form.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Timestamp(pub f64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms as f64 / 1000.0)
    }
    pub fn as_millis(self) -> i64 {
        (self.0 * 1000.0).round() as i64
    }
}

/// Binary data; base64 in the canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(serde::de::Error::custom)
    }
}
