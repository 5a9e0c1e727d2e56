//! Equality of short byte strings in a few word comparisons, inline, where a call to
//! `memcmp` would cost more than the comparison (once per record and field in scans).

/// `a == b`.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=16 => same_short(a, b),
        17..=32 => same_short(&a[..16], &b[..16]) && same_short(&a[n - 16..], &b[n - 16..]),
        _ => a == b,
    }
}

/// Whether `hay` starts with `prefix`.
#[inline]
pub(crate) fn starts_with(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len()).is_some_and(|h| same(h, prefix))
}

/// `a == b` for slices of one length of at most 16 bytes: two overlapping word comparisons.
#[inline]
fn same_short(a: &[u8], b: &[u8]) -> bool {
    debug_assert!(a.len() == b.len() && a.len() <= 16);
    let n = a.len();
    let word = |s: &[u8], at: usize| -> u64 {
        let mut w = [0; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| -> u32 {
        let mut w = [0; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    if n >= 8 {
        word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length up to 40, each byte differing in turn, and unequal lengths.
    #[test]
    fn every_byte_counts() {
        let base: Vec<u8> = (0..40u8).map(|i| b'0' + i).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(same(a, a), "length {n}");
            assert!(starts_with(&base, a), "prefix of length {n}");
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x01;
                assert!(!same(a, &b), "length {n}, byte {i}");
                assert!(!starts_with(&base, &b), "prefix of length {n}, byte {i}");
            }
            if n > 0 {
                assert!(!same(a, &base[..n - 1]), "lengths {n} and {}", n - 1);
            }
        }
        assert!(!starts_with(b"ab", b"abc"), "a prefix longer than the text");
    }
}
