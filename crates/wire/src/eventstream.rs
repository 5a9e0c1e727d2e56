//! AWS event streams (`application/vnd.amazon.eventstream`): the binary message framing and the
//! stream a service hands to the edge for operations such as `StartLiveTail`.
//!
//! A message is `[total len u32][headers len u32][prelude CRC32][headers][payload][message CRC32]`
//! (big-endian, IEEE CRC32); headers here are all strings (type 7).

use serde_json::Value;

/// One item a service sends on an event stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// An event of the stream's union, by member name (`sessionUpdate`), with its JSON payload.
    Event { kind: &'static str, payload: Value },
    /// A modeled exception of the stream (`SessionTimeoutException`); ends the stream.
    Exception { kind: &'static str, message: String },
}

/// The receiving end the edge drains; the service's task holds the sender and learns that the
/// client went away when sending fails.
pub struct EventStream {
    pub items: tokio::sync::mpsc::Receiver<StreamItem>,
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(7);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// Encodes one message.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (n, v) in headers {
        header(&mut h, n, v);
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// The first message of every response stream; botocore refuses a stream without it.
pub fn initial_response() -> Vec<u8> {
    message(
        &[
            (":message-type", "event"),
            (":event-type", "initial-response"),
            (":content-type", "application/json"),
        ],
        b"{}",
    )
}

pub fn encode_item(item: &StreamItem) -> Vec<u8> {
    match item {
        StreamItem::Event { kind, payload } => message(
            &[
                (":message-type", "event"),
                (":event-type", kind),
                (":content-type", "application/json"),
            ],
            &serde_json::to_vec(payload).expect("JSON values serialize"),
        ),
        StreamItem::Exception {
            kind,
            message: text,
        } => message(
            &[
                (":message-type", "exception"),
                (":exception-type", kind),
                (":content-type", "application/json"),
            ],
            &serde_json::to_vec(&serde_json::json!({ "message": text }))
                .expect("JSON values serialize"),
        ),
    }
}

/// A decoded message: headers, payload, and the bytes it took.
pub type Decoded = (Vec<(String, String)>, Vec<u8>, usize);

/// Decodes one message from the front of `buf`. For tests and clients of our own.
pub fn decode(buf: &[u8]) -> Option<Decoded> {
    if buf.len() < 16 {
        return None;
    }
    let total = u32::from_be_bytes(buf[0..4].try_into().ok()?) as usize;
    let hlen = u32::from_be_bytes(buf[4..8].try_into().ok()?) as usize;
    if total < 16 + hlen || buf.len() < total {
        return None;
    }
    if crc32fast::hash(&buf[..8]) != u32::from_be_bytes(buf[8..12].try_into().ok()?) {
        return None;
    }
    if crc32fast::hash(&buf[..total - 4])
        != u32::from_be_bytes(buf[total - 4..total].try_into().ok()?)
    {
        return None;
    }
    let mut headers = Vec::new();
    let mut i = 12;
    while i < 12 + hlen {
        let n = *buf.get(i)? as usize;
        let name = String::from_utf8(buf.get(i + 1..i + 1 + n)?.to_vec()).ok()?;
        i += 1 + n;
        if *buf.get(i)? != 7 {
            return None;
        }
        let vlen = u16::from_be_bytes(buf.get(i + 1..i + 3)?.try_into().ok()?) as usize;
        let value = String::from_utf8(buf.get(i + 3..i + 3 + vlen)?.to_vec()).ok()?;
        i += 3 + vlen;
        headers.push((name, value));
    }
    Some((headers, buf[12 + hlen..total - 4].to_vec(), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_detect_corruption() {
        let item = StreamItem::Event {
            kind: "sessionUpdate",
            payload: serde_json::json!({"sessionResults": []}),
        };
        let mut bytes = initial_response();
        bytes.extend(encode_item(&item));
        let (h, p, used) = decode(&bytes).unwrap();
        assert_eq!(
            h[1],
            (":event-type".to_string(), "initial-response".to_string())
        );
        assert_eq!(p, b"{}");
        let (h, p, _) = decode(&bytes[used..]).unwrap();
        assert_eq!(h[1].1, "sessionUpdate");
        assert_eq!(
            serde_json::from_slice::<Value>(&p).unwrap()["sessionResults"],
            serde_json::json!([])
        );
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(decode(&bad).is_none());
    }

    /// A frame from AWS's event-stream specification test suite layout: prelude of an empty
    /// message is 16 bytes with both CRCs.
    #[test]
    fn empty_message_is_sixteen_bytes() {
        let m = message(&[], b"");
        assert_eq!(m.len(), 16);
        assert_eq!(&m[0..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
        assert_eq!(&m[8..12], &0x05c2_48ebu32.to_be_bytes());
    }
}
