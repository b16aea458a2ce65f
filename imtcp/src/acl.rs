//! A per-listener allowed-sender list (`allowedSender=[…]`, as current upstream
//! imtcp has it). Each entry is written as in rsyslog's `$AllowedSender`
//! directive (runtime/parse.c `parsAddrWithBits`, runtime/net.c
//! `AddAllowedSender`, `MaskCmp`):
//!
//! - `192.0.2.1`, `192.0.2.0/24`: an IPv4 address with significant bits (32 if none);
//! - `[2001:db8::1]`, `[2001:db8::]/32`: an IPv6 address (128 bits if none);
//! - `*.example.net`, `host?.example.net`: a host-name wildcard, matched against the
//!   sender's reverse-resolved name without regard to case;
//! - `logs.example.net`: a host name without wildcards, resolved once (at
//!   activation) into its addresses.
//!
//! Parsing and matching are pure; name resolution and the wildcard match are
//! passed in, so the unit tests need neither DNS nor rsyslogd.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An address with its significant bits, already masked.
    Net { addr: IpAddr, bits: u8 },
    /// A host-name wildcard pattern (fnmatch syntax).
    Name(String),
}

/// What one written entry turned into, before names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Net {
        addr: IpAddr,
        bits: u8,
    },
    /// A name with `*` or `?`: kept as a pattern.
    Wildcard(String),
    /// A plain host name: to be resolved into addresses.
    Host(String),
}

/// Parses one entry. `Err` is the text for rsyslog's log; `warnings` gets the
/// texts of the C module's adjustments (bits out of range).
pub fn parse(spec: &str, warnings: &mut Vec<String>) -> Result<Parsed, String> {
    let spec = spec.trim();
    let end = spec.find(['/', ',']).unwrap_or(spec.len());
    let (head, rest) = spec.split_at(end);
    let bits: Option<i64> = match rest.strip_prefix('/') {
        Some(b) => {
            let digits: String = b.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                return Err(format!("invalid allowed sender '{spec}': no number of bits after '/'"));
            }
            Some(digits.parse().unwrap_or(i64::MAX))
        }
        None => None,
    };
    if head.is_empty() {
        return Err(format!("invalid allowed sender '{spec}': empty address"));
    }
    let (addr, max): (Option<IpAddr>, u8) = if let Some(v6) = head.strip_prefix('[') {
        let Some(inner) = v6.strip_suffix(']') else {
            return Err(format!("invalid allowed sender '{spec}': missing ']'"));
        };
        match inner.parse::<Ipv6Addr>() {
            Ok(a) => (Some(IpAddr::V6(a)), 128),
            Err(_) => return Ok(name_entry(inner)),
        }
    } else {
        match head.parse::<Ipv4Addr>() {
            Ok(a) => (Some(IpAddr::V4(a)), 32),
            Err(_) => return Ok(name_entry(head)),
        }
    };
    let addr = addr.expect("set above");
    let bits = match bits {
        None => max,
        Some(b) => {
            // C hands the number on as a uint8_t before it checks it.
            let b = (b as u64 & 0xff) as u8;
            if (1..=max).contains(&b) {
                b
            } else {
                if b == 0 {
                    warnings.push(
                        "You can not specify 0 bits of the netmask, this would match ALL systems. If you really \
                         intend to do that, remove all $AllowedSender directives."
                            .to_string(),
                    );
                }
                let fam = if max == 32 { "IPv4" } else { "IPv6" };
                warnings.push(format!(
                    "Invalid number of bits ({b}) in {fam} address - adjusted to {max}"
                ));
                max
            }
        }
    };
    Ok(Parsed::Net {
        addr: mask(addr, bits),
        bits,
    })
}

fn name_entry(name: &str) -> Parsed {
    if name.contains(['*', '?']) {
        Parsed::Wildcard(name.to_string())
    } else {
        Parsed::Host(name.to_string())
    }
}

/// `addr` with all but the first `bits` bits cleared.
pub fn mask(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits.min(32) as u32)
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128) as u32)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// The entries a resolved host name gives: one per address, IPv4-mapped IPv6
/// addresses as IPv4 (as net.c does).
pub fn host_entries(addrs: impl IntoIterator<Item = IpAddr>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for a in addrs {
        let e = match a {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Entry::Net {
                    addr: IpAddr::V4(v4),
                    bits: 32,
                },
                None => Entry::Net { addr: a, bits: 128 },
            },
            IpAddr::V4(_) => Entry::Net { addr: a, bits: 32 },
        };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// A listener's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub entries: Vec<Entry>,
}

impl Acl {
    /// Whether a sender may connect: any entry matches. `name_matches(pattern)`
    /// matches a wildcard against the sender's host name.
    pub fn allows(&self, from: IpAddr, name_matches: impl Fn(&str) -> bool) -> bool {
        self.entries.iter().any(|e| match e {
            Entry::Name(p) => name_matches(p),
            Entry::Net { addr, bits } => net_matches(*addr, *bits, from),
        })
    }
}

fn net_matches(allow: IpAddr, bits: u8, from: IpAddr) -> bool {
    match (allow, from) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => mask(from, bits) == allow,
        // An IPv4 entry matches an IPv4-mapped IPv6 sender.
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| mask(IpAddr::V4(v4), bits) == allow),
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Parsed {
        let mut w = Vec::new();
        let r = parse(s, &mut w).unwrap();
        assert!(w.is_empty(), "{w:?}");
        r
    }

    fn net(a: &str, bits: u8) -> Parsed {
        Parsed::Net {
            addr: a.parse().unwrap(),
            bits,
        }
    }

    #[test]
    fn parses_the_directive_syntax() {
        assert_eq!(p("192.0.2.7"), net("192.0.2.7", 32));
        assert_eq!(p(" 192.0.2.7/24 "), net("192.0.2.0", 24));
        assert_eq!(p("[2001:db8::1]"), net("2001:db8::1", 128));
        assert_eq!(p("[2001:db8:ff::1]/32"), net("2001:db8::", 32));
        assert_eq!(p("*.example.net"), Parsed::Wildcard("*.example.net".into()));
        assert_eq!(p("[*.example.net]"), Parsed::Wildcard("*.example.net".into()));
        assert_eq!(p("host?.example.net"), Parsed::Wildcard("host?.example.net".into()));
        assert_eq!(p("logs.example.net"), Parsed::Host("logs.example.net".into()));
        // A bare IPv6 address is not numeric IPv4: C treats it as a name and resolves it.
        assert_eq!(p("::1"), Parsed::Host("::1".into()));
    }

    #[test]
    fn bad_bits_are_adjusted_with_the_c_texts() {
        let mut w = Vec::new();
        assert_eq!(parse("10.1.2.3/0", &mut w).unwrap(), net("10.1.2.3", 32));
        assert!(w[0].starts_with("You can not specify 0 bits of the netmask"), "{w:?}");
        assert_eq!(w[1], "Invalid number of bits (0) in IPv4 address - adjusted to 32");
        w.clear();
        assert_eq!(parse("[::1]/129", &mut w).unwrap(), net("::1", 128));
        assert_eq!(w, ["Invalid number of bits (129) in IPv6 address - adjusted to 128"]);
        w.clear();
        // uint8_t in C: 300 is 44, reported as such and adjusted; 264 is a valid 8.
        parse("10.0.0.0/300", &mut w).unwrap();
        assert_eq!(w, ["Invalid number of bits (44) in IPv4 address - adjusted to 32"]);
        w.clear();
        assert_eq!(parse("10.1.0.0/264", &mut w).unwrap(), net("10.0.0.0", 8));
        assert!(w.is_empty());
    }

    #[test]
    fn malformed_entries_are_errors() {
        let mut w = Vec::new();
        assert!(parse("[::1", &mut w).is_err());
        assert!(parse("10.0.0.0/", &mut w).is_err());
        assert!(parse("", &mut w).is_err());
    }

    #[test]
    fn matching() {
        let acl = Acl {
            entries: vec![
                Entry::Net {
                    addr: "192.0.2.0".parse().unwrap(),
                    bits: 24,
                },
                Entry::Net {
                    addr: "2001:db8::".parse().unwrap(),
                    bits: 32,
                },
                Entry::Name("*.example.net".into()),
            ],
        };
        let no_name = |_: &str| false;
        assert!(acl.allows("192.0.2.200".parse().unwrap(), no_name));
        assert!(!acl.allows("192.0.3.1".parse().unwrap(), no_name));
        assert!(acl.allows("2001:db8:1::5".parse().unwrap(), no_name));
        assert!(!acl.allows("2001:db9::5".parse().unwrap(), no_name));
        assert!(acl.allows("::ffff:192.0.2.9".parse().unwrap(), no_name));
        assert!(!acl.allows("::ffff:192.0.3.9".parse().unwrap(), no_name));
        // An IPv6 entry never matches an IPv4 sender.
        let v6only = Acl {
            entries: vec![Entry::Net {
                addr: "::".parse().unwrap(),
                bits: 1,
            }],
        };
        assert!(!v6only.allows("1.2.3.4".parse().unwrap(), no_name));
        assert!(acl.allows("198.51.100.1".parse().unwrap(), |p| p == "*.example.net"));
        assert!(!Acl::default().allows("127.0.0.1".parse().unwrap(), no_name));
    }

    #[test]
    fn resolved_hosts_become_address_entries() {
        let e = host_entries([
            "::ffff:10.0.0.1".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            "2001:db8::7".parse().unwrap(),
        ]);
        assert_eq!(
            e,
            [
                Entry::Net {
                    addr: "10.0.0.1".parse().unwrap(),
                    bits: 32
                },
                Entry::Net {
                    addr: "2001:db8::7".parse().unwrap(),
                    bits: 128
                }
            ]
        );
    }
}
