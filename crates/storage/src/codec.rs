//! A small binary encoding for write-ahead log records and checkpoints: varints, zigzag
//! integers, length-prefixed strings. Shared by the engines that persist through the log.

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    /// A writer whose buffer starts with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
    pub fn bool(&mut self, b: bool) {
        self.u8(b as u8);
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
}

#[derive(Debug, thiserror::Error)]
#[error("corrupt log record at byte {0}")]
pub struct DecodeError(pub usize);

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.data.get(self.pos).ok_or(DecodeError(self.pos))?;
        self.pos += 1;
        Ok(b)
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError(self.pos))
    }
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    pub fn str(&mut self) -> Result<String, DecodeError> {
        let len = self.u64()? as usize;
        let end = self.pos.checked_add(len).ok_or(DecodeError(self.pos))?;
        let bytes = self.data.get(self.pos..end).ok_or(DecodeError(self.pos))?;
        self.pos = end;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError(self.pos))
    }
    /// The next `n` bytes as they lie.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError(self.pos))?;
        let bytes = self.data.get(self.pos..end).ok_or(DecodeError(self.pos))?;
        self.pos = end;
        Ok(bytes)
    }
    pub fn opt_str(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u8()? != 0)
    }
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        let end = self.pos + 8;
        let bytes = self.data.get(self.pos..end).ok_or(DecodeError(self.pos))?;
        self.pos = end;
        Ok(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }
    pub fn done(&self) -> bool {
        self.pos == self.data.len()
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_table() {
        let mut w = Writer::default();
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            w.i64(v);
        }
        w.str("héllo");
        w.opt_str(None);
        w.opt_str(Some(""));
        w.bool(true);
        let mut r = Reader::new(&w.buf);
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.str().unwrap(), "héllo");
        assert_eq!(r.opt_str().unwrap(), None);
        assert_eq!(r.opt_str().unwrap(), Some(String::new()));
        assert!(r.bool().unwrap());
        assert!(r.done());
        assert!(Reader::new(&[0x80, 0x80]).u64().is_err());
        assert!(Reader::new(&[5, b'a']).str().is_err());
    }
}
