//! The CIDR ranges of a `cidrlookup` table, searched for the most specific range holding an
//! address.

use std::collections::HashMap;
use std::net::IpAddr;

/// Ranges by prefix length, most specific first; a range maps to its table row's output values.
#[derive(Debug, Default, PartialEq)]
pub struct CidrTable {
    v4: Vec<(u32, HashMap<u32, Vec<String>>)>,
    v6: Vec<(u32, HashMap<u128, Vec<String>>)>,
}

/// `a.b.c.d/n`, `x::y/n`, or an address alone (all its bits); `None` for anything else.
pub fn parse_range(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match text.trim().split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (text.trim(), None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr, bits))
}

fn mask4(x: u32, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        x & (u32::MAX << (32 - bits))
    }
}

fn mask6(x: u128, bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        x & (u128::MAX << (128 - bits))
    }
}

/// The ranges of prefix length `bits` (added empty when there are none yet).
fn length<K>(
    by_length: &mut Vec<(u32, HashMap<K, Vec<String>>)>,
    bits: u32,
) -> &mut HashMap<K, Vec<String>> {
    let i = match by_length.iter().position(|(b, _)| *b == bits) {
        Some(i) => i,
        None => {
            by_length.push((bits, HashMap::new()));
            by_length.len() - 1
        }
    };
    &mut by_length[i].1
}

impl CidrTable {
    /// A table of (range text, output values) rows; rows whose range does not parse are left
    /// out, and of two rows with the same range the first counts.
    pub fn build<'a>(rows: impl Iterator<Item = (&'a str, Vec<String>)>) -> CidrTable {
        let mut t = CidrTable::default();
        for (range, values) in rows {
            match parse_range(range) {
                Some((IpAddr::V4(a), bits)) => {
                    length(&mut t.v4, bits)
                        .entry(mask4(u32::from(a), bits))
                        .or_insert(values);
                }
                Some((IpAddr::V6(a), bits)) => {
                    length(&mut t.v6, bits)
                        .entry(mask6(u128::from(a), bits))
                        .or_insert(values);
                }
                None => {}
            }
        }
        t.v4.sort_by_key(|e| std::cmp::Reverse(e.0));
        t.v6.sort_by_key(|e| std::cmp::Reverse(e.0));
        t
    }

    /// The output values of the most specific range holding `addr`.
    pub fn find(&self, addr: IpAddr) -> Option<&[String]> {
        // An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is its IPv4 address.
        match addr.to_canonical() {
            IpAddr::V4(a) => {
                let x = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(bits, m)| m.get(&mask4(x, *bits)))
                    .map(Vec::as_slice)
            }
            IpAddr::V6(a) => {
                let x = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(bits, m)| m.get(&mask6(x, *bits)))
                    .map(Vec::as_slice)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_range_wins() {
        let rows = [
            ("10.0.0.0/8", "corp"),
            ("10.1.0.0/16", "dc1"),
            ("10.1.2.3", "host"),
            ("0.0.0.0/0", "internet"),
            ("2001:db8::/32", "v6doc"),
            ("10.1.0.0/16", "duplicate"),
            ("not a range", "bad"),
            ("10.0.0.0/33", "bad"),
        ];
        let t = CidrTable::build(rows.iter().map(|(r, v)| (*r, vec![v.to_string()])));
        for (ip, want) in [
            ("10.1.2.3", Some("host")),
            ("10.1.2.4", Some("dc1")),
            ("10.200.0.1", Some("corp")),
            ("192.168.1.1", Some("internet")),
            ("2001:db8::1", Some("v6doc")),
            ("2001:db9::1", None),
            ("::ffff:10.1.2.3", Some("host")),
        ] {
            let got = t.find(ip.parse().unwrap()).map(|v| v[0].as_str());
            assert_eq!(got, want, "{ip}");
        }
        assert_eq!(
            parse_range("1.2.3.4/0"),
            Some(("1.2.3.4".parse().unwrap(), 0))
        );
        assert_eq!(mask4(0xFFFF_FFFF, 0), 0);
        assert_eq!(mask4(0xFFFF_FFFF, 32), 0xFFFF_FFFF);
        assert_eq!(mask4(0x0A01_0203, 16), 0x0A01_0000);
    }
}
