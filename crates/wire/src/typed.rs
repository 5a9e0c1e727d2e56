//! The fast path for hot operations (PutMetricData over JSON, Query forms (`form.rs`) and RPC v2
//! CBOR (`cbor.rs`), PutLogEvents over JSON): the body is read straight into the operation's
//! typed input, and the model's constraints are checked by walking that typed value (a
//! `serde::Serializer` that follows the shapes) — no canonical JSON value tree is built.
//!
//! It only ever answers "valid": any doubt (a type the walk does not expect, a violated
//! constraint, a body serde rejects) returns `None`, and the caller takes the canonical path,
//! which produces the exact AWS error. So both paths accept exactly the same requests.

use crate::service::Input;
use crate::validate;
use nephoscope_model::meta::{OperationDef, ServiceDef, ShapeDef, ShapeKind};
use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize};

mod cbor;
mod form;
pub use cbor::put_metric_data_cbor;
pub use form::{form_action_version, put_metric_data_form};

/// The typed input of `op` from a JSON body, when it is certainly valid.
pub fn decode_json<T>(service: &'static ServiceDef, op: &OperationDef, body: &[u8]) -> Option<Input>
where
    T: DeserializeOwned + Serialize + Send + 'static,
{
    let start = body.iter().position(|c| !c.is_ascii_whitespace())?;
    // A struct also deserializes from a JSON array; the canonical path wants an object.
    if body[start] != b'{' || !plain(body) {
        return None;
    }
    let typed: T = serde_json::from_slice(&body[start..]).ok()?;
    checked(service, op, typed)
}

/// `typed` as the handler's input when it satisfies the model's constraints for `op`.
fn checked<T>(service: &'static ServiceDef, op: &OperationDef, typed: T) -> Option<Input>
where
    T: Serialize + Send + 'static,
{
    if let Some(shape) = op.input {
        typed
            .serialize(Check {
                service,
                shape: service.shape(shape),
            })
            .ok()?;
    }
    Some(Input::Typed(Box::new(typed)))
}

/// Whether `body` has nothing serde_json checks only when it builds a value: members the typed
/// input ignores are skipped without checking their UTF-8, `\u` surrogates or number range.
/// So: valid UTF-8, no escaped surrogate, no exponent of three digits or more and no run of 300
/// digits (a number beyond f64) anywhere. A body that fails goes the canonical way.
fn plain(body: &[u8]) -> bool {
    if std::str::from_utf8(body).is_err() {
        return false;
    }
    let mut digits = 0usize;
    for (i, &c) in body.iter().enumerate() {
        if c.is_ascii_digit() {
            digits += 1;
            if digits >= 300 {
                return false;
            }
            continue;
        }
        digits = 0;
        match c {
            b'\\'
                if body.get(i + 1) == Some(&b'u')
                    && body
                        .get(i + 2)
                        .is_some_and(|d| d.eq_ignore_ascii_case(&b'd'))
                    && body.get(i + 3).is_some_and(
                        |d| matches!(d.to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f'),
                    ) =>
            {
                return false
            }
            b'e' | b'E' if i > 0 && (body[i - 1].is_ascii_digit() || body[i - 1] == b'.') => {
                let rest = &body[i + 1..];
                let rest = rest
                    .strip_prefix(b"+")
                    .or_else(|| rest.strip_prefix(b"-"))
                    .unwrap_or(rest);
                if rest.iter().take_while(|d| d.is_ascii_digit()).count() >= 3 {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// A constraint failed, or the value is not what the shape expects.
#[derive(Debug)]
pub struct Invalid;

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid")
    }
}

impl std::error::Error for Invalid {}

impl ser::Error for Invalid {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Invalid
    }
}

type Done = Result<(), Invalid>;

/// Checks one value against `shape`.
#[derive(Clone, Copy)]
struct Check {
    service: &'static ServiceDef,
    shape: &'static ShapeDef,
}

impl Check {
    fn number(self, n: f64) -> Done {
        let numeric = matches!(
            self.shape.kind,
            ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float
        );
        if matches!(self.shape.kind, ShapeKind::Timestamp) {
            return Ok(());
        }
        if !numeric
            || self.shape.min.is_some_and(|m| n < m as f64)
            || self.shape.max.is_some_and(|m| n > m as f64)
        {
            return Err(Invalid);
        }
        Ok(())
    }

    fn length(self, len: usize) -> Done {
        if validate::length_violation(self.shape, len).is_some() {
            return Err(Invalid);
        }
        Ok(())
    }
}

macro_rules! numbers {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, v: $t) -> Done {
            self.number(v as f64)
        })*
    };
}

impl ser::Serializer for Check {
    type Ok = ();
    type Error = Invalid;
    type SerializeSeq = Items;
    type SerializeTuple = ser::Impossible<(), Invalid>;
    type SerializeTupleStruct = ser::Impossible<(), Invalid>;
    type SerializeTupleVariant = ser::Impossible<(), Invalid>;
    type SerializeMap = Entries;
    type SerializeStruct = Members;
    type SerializeStructVariant = ser::Impossible<(), Invalid>;

    numbers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_f32: f32, serialize_f64: f64);

    fn serialize_bool(self, _: bool) -> Done {
        match self.shape.kind {
            ShapeKind::Boolean => Ok(()),
            _ => Err(Invalid),
        }
    }

    fn serialize_str(self, s: &str) -> Done {
        let ok = match self.shape.kind {
            ShapeKind::String => validate::string_violations(self.shape, s).is_empty(),
            ShapeKind::Blob => validate::length_violation(self.shape, s.len() / 4 * 3).is_none(),
            _ => false,
        };
        ok.then_some(()).ok_or(Invalid)
    }

    fn serialize_char(self, _: char) -> Done {
        Err(Invalid)
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(Invalid)
    }
    fn serialize_none(self) -> Done {
        // Generated inputs skip `None` members; anything else is left to the canonical path.
        Err(Invalid)
    }
    fn serialize_some<V: Serialize + ?Sized>(self, v: &V) -> Done {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Err(Invalid)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Err(Invalid)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Err(Invalid)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(self, _: &'static str, v: &V) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Done {
        Err(Invalid)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Items, Invalid> {
        let ShapeKind::List { member } = self.shape.kind else {
            return Err(Invalid);
        };
        self.length(len.ok_or(Invalid)?)?;
        let item = self.service.shape(member);
        // Unconstrained numbers (PutMetricData's Values and Counts) need no check per item.
        let skip = matches!(
            item.kind,
            ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float
        ) && item.min.is_none()
            && item.max.is_none();
        Ok(Items {
            item: Check {
                service: self.service,
                shape: item,
            },
            skip,
        })
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Invalid> {
        Err(Invalid)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Invalid> {
        Err(Invalid)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Invalid> {
        Err(Invalid)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Entries, Invalid> {
        let ShapeKind::Map { key, value } = self.shape.kind else {
            return Err(Invalid);
        };
        self.length(len.ok_or(Invalid)?)?;
        Ok(Entries {
            key: Check {
                service: self.service,
                shape: self.service.shape(key),
            },
            value: Check {
                service: self.service,
                shape: self.service.shape(value),
            },
        })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Members, Invalid> {
        let ShapeKind::Structure { members, .. } = self.shape.kind else {
            return Err(Invalid);
        };
        Ok(Members {
            service: self.service,
            members,
            seen: vec![false; members.len()],
        })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Invalid> {
        Err(Invalid)
    }
}

struct Items {
    item: Check,
    skip: bool,
}

impl ser::SerializeSeq for Items {
    type Ok = ();
    type Error = Invalid;
    fn serialize_element<V: Serialize + ?Sized>(&mut self, v: &V) -> Done {
        if self.skip {
            return Ok(());
        }
        v.serialize(self.item)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

struct Entries {
    key: Check,
    value: Check,
}

impl ser::SerializeMap for Entries {
    type Ok = ();
    type Error = Invalid;
    fn serialize_key<K: Serialize + ?Sized>(&mut self, k: &K) -> Done {
        k.serialize(self.key)
    }
    fn serialize_value<V: Serialize + ?Sized>(&mut self, v: &V) -> Done {
        v.serialize(self.value)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

struct Members {
    service: &'static ServiceDef,
    members: &'static [nephoscope_model::meta::MemberDef],
    seen: Vec<bool>,
}

impl ser::SerializeStruct for Members {
    type Ok = ();
    type Error = Invalid;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, name: &'static str, v: &V) -> Done {
        let n = self
            .members
            .iter()
            .position(|m| m.name == name)
            .ok_or(Invalid)?;
        self.seen[n] = true;
        v.serialize(Check {
            service: self.service,
            shape: self.service.shape(self.members[n].shape),
        })
    }
    fn skip_field(&mut self, _: &'static str) -> Done {
        Ok(())
    }
    fn end(self) -> Done {
        // A required member must be present (a typed `None` is not serialized at all).
        let missing = self
            .members
            .iter()
            .zip(&self.seen)
            .any(|(m, seen)| m.required && !seen);
        (!missing).then_some(()).ok_or(Invalid)
    }
}
