//! Where an API key may be used from: a short list of IP networks (CIDR), checked by the
//! `Authenticator` against the client address of every request. An empty list means any
//! network, which is what keys get unless restricted.
//!
//! Parsed strictly: `10.0.0.0/8`, `2001:db8::/32`, or a bare address for a single host (stored
//! as `/32` or `/128`). No trimming, no leading zeros or signs in a prefix, no zone ids, and a
//! network with host bits set (`10.0.0.1/8`) is refused rather than silently widened or
//! narrowed: the operator meant something, and the error names the network it would be.
//!
//! A client that reaches an IPv6 socket over IPv4 shows up as an IPv4-mapped address
//! (`::ffff:10.1.2.3`); it is an IPv4 client and matches IPv4 networks. IPv6 networks inside
//! `::ffff:0:0/96` could therefore never match and are refused with a hint to write them as IPv4.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// At most this many networks per key: enough for an office, a VPN and a few cloud egress
/// ranges, and it keeps the per-request check a handful of compares.
pub const MAX_NETWORKS: usize = 32;

/// One IP network: an address with its host bits clear, and a prefix length. Built only by
/// [`Network::new`] or parsing, so it always is one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network(Repr);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Repr {
    V4 { bits: u32, prefix: u8 },
    V6 { bits: u128, prefix: u8 },
}

const fn mask_v4(prefix: u8) -> u32 {
    // A shift by the full width overflows; /0 is the empty mask.
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - p as u32),
    }
}

const fn mask_v6(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - p as u32),
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it carries; any other
/// address unchanged. Only the mapped form: `Ipv6Addr::to_ipv4` would also turn `::1` into
/// `0.0.0.1`.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Network {
    /// The network of `addr` with `prefix` bits; refuses a prefix over the address's width, an
    /// address with host bits set, and an IPv4-mapped IPv6 network.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, NetworkError> {
        let network = match addr {
            IpAddr::V4(v4) if prefix <= 32 => Network(Repr::V4 {
                bits: u32::from(v4) & mask_v4(prefix),
                prefix,
            }),
            IpAddr::V6(v6) if prefix <= 128 => Network(Repr::V6 {
                bits: u128::from(v6) & mask_v6(prefix),
                prefix,
            }),
            _ => {
                return Err(NetworkError::Prefix {
                    excerpt: prefix.to_string(),
                    max: if addr.is_ipv4() { 32 } else { 128 },
                });
            }
        };
        if network.addr() != addr {
            return Err(NetworkError::HostBitsSet {
                given: format!("{addr}/{prefix}"),
                network,
            });
        }
        if let IpAddr::V6(v6) = addr
            && prefix >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Err(NetworkError::Ipv4Mapped {
                given: format!("{addr}/{prefix}"),
                as_ipv4: format!("{v4}/{}", prefix - 96),
            });
        }
        Ok(network)
    }

    /// The single host `addr` (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Result<Self, NetworkError> {
        match addr {
            IpAddr::V4(_) => Self::new(addr, 32),
            IpAddr::V6(_) => Self::new(addr, 128),
        }
    }

    pub fn addr(&self) -> IpAddr {
        match self.0 {
            Repr::V4 { bits, .. } => IpAddr::V4(Ipv4Addr::from(bits)),
            Repr::V6 { bits, .. } => IpAddr::V6(Ipv6Addr::from(bits)),
        }
    }

    pub fn prefix(&self) -> u8 {
        match self.0 {
            Repr::V4 { prefix, .. } | Repr::V6 { prefix, .. } => prefix,
        }
    }

    /// Whether `ip` is in this network. IPv4-mapped IPv6 addresses count as IPv4; otherwise an
    /// address of one family is never in a network of the other.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_unmapped(unmapped(ip))
    }

    /// [`Self::contains`] for an address already passed through [`unmapped`].
    fn contains_unmapped(&self, ip: IpAddr) -> bool {
        match (self.0, ip) {
            (Repr::V4 { bits, prefix }, IpAddr::V4(v4)) => u32::from(v4) & mask_v4(prefix) == bits,
            (Repr::V6 { bits, prefix }, IpAddr::V6(v6)) => u128::from(v6) & mask_v6(prefix) == bits,
            _ => false,
        }
    }
}

/// A bounded, escaped excerpt of refused text, so a hostile value cannot flood an error
/// message or a terminal.
fn excerpt(text: &str) -> String {
    let mut excerpt: String = text.chars().take(50).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    format!("{excerpt:?}")
}

/// Why one network was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error(
        "{excerpt} is not an IP network (expected e.g. 10.0.0.0/8, 2001:db8::/32 or one address)"
    )]
    Malformed { excerpt: String },
    #[error("the prefix length {excerpt} is not a number from 0 to {max}")]
    Prefix { excerpt: String, max: u8 },
    #[error("{given} has host bits set; the network containing it is {network}")]
    HostBitsSet { given: String, network: Network },
    #[error("{given} is an IPv4-mapped IPv6 network; write it as IPv4: {as_ipv4}")]
    Ipv4Mapped { given: String, as_ipv4: String },
}

impl FromStr for Network {
    type Err = NetworkError;

    /// `ADDRESS/PREFIX` or a bare `ADDRESS`; see the module documentation for what is refused.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || NetworkError::Malformed {
            excerpt: excerpt(text),
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        // std's parser refuses IPv4 octets with leading zeros (which some C parsers read as
        // octal), zone ids and surrounding whitespace.
        let addr: IpAddr = addr.parse().map_err(|_| malformed())?;
        let Some(prefix) = prefix else {
            return Self::host(addr);
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        // Digits only (u8's own parser takes a leading `+`), no leading zero, at most three.
        let plain = !prefix.is_empty()
            && prefix.len() <= 3
            && prefix.bytes().all(|b| b.is_ascii_digit())
            && (prefix == "0" || !prefix.starts_with('0'));
        let prefix = plain
            .then(|| prefix.parse::<u8>().ok())
            .flatten()
            .filter(|p| *p <= max)
            .ok_or_else(|| NetworkError::Prefix {
                excerpt: excerpt(prefix),
                max,
            })?;
        Self::new(addr, prefix)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix())
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Network({self})")
    }
}

/// The networks a key may be used from. Empty: any network.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct NetworkAllowList(Vec<Network>);

/// Why a list of networks was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkListError {
    #[error(transparent)]
    Entry(#[from] NetworkError),
    #[error("network {0} is listed twice")]
    Duplicate(Network),
    #[error("at most {MAX_NETWORKS} networks may be listed")]
    TooMany,
    #[error("a network list is networks separated by single spaces")]
    Spacing,
}

impl NetworkAllowList {
    /// Any network: no restriction.
    pub const fn any() -> Self {
        Self(Vec::new())
    }

    /// Parses networks from any source (CLI flags, a stored column): each must parse, none may
    /// repeat, and there may be at most [`MAX_NETWORKS`].
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, NetworkListError> {
        let mut networks = Vec::new();
        for entry in entries {
            // Counted before parsing, so an endless list costs no more than 33 parses.
            if networks.len() == MAX_NETWORKS {
                return Err(NetworkListError::TooMany);
            }
            let network: Network = entry.parse()?;
            if networks.contains(&network) {
                return Err(NetworkListError::Duplicate(network));
            }
            networks.push(network);
        }
        Ok(Self(networks))
    }

    /// No restriction: every address is allowed.
    pub fn is_any(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a request from `ip` may use the key. An unknown address (`None`) is allowed
    /// only when the list is unrestricted: a restriction that cannot be checked refuses.
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            _ if self.is_any() => true,
            Some(ip) => self.contains(ip),
            None => false,
        }
    }

    /// Whether `ip` is in one of the networks (false for the unrestricted, empty list: use
    /// [`Self::allows`] for the decision).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        self.0.iter().any(|network| network.contains_unmapped(ip))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Network> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for NetworkAllowList {
    type Err = NetworkListError;

    /// The stored form: networks separated by single spaces (the empty string is any network).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Self::any());
        }
        if text.split(' ').any(str::is_empty) {
            return Err(NetworkListError::Spacing);
        }
        Self::from_entries(text.split(' '))
    }
}

impl fmt::Display for NetworkAllowList {
    /// The stored form, in the order given; the empty string for any network.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, network) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{network}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NetworkAllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkAllowList({self})")
    }
}

impl Serialize for NetworkAllowList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NetworkAllowList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn list(text: &str) -> NetworkAllowList {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_to_their_canonical_form() {
        for (given, canonical) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.0/24", "192.168.1.0/24"),
            ("203.0.113.7", "203.0.113.7/32"),
            ("203.0.113.7/32", "203.0.113.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:DB8:0:0::/48", "2001:db8::/48"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
            ("fe80::/10", "fe80::/10"),
        ] {
            let network: Network = given.parse().unwrap();
            assert_eq!(network.to_string(), canonical, "{given}");
            assert_eq!(canonical.parse::<Network>().unwrap(), network);
        }
    }

    #[test]
    fn host_bits_are_refused_naming_the_network() {
        let error = "10.0.0.1/8".parse::<Network>().unwrap_err();
        assert_eq!(
            error,
            NetworkError::HostBitsSet {
                given: "10.0.0.1/8".to_owned(),
                network: "10.0.0.0/8".parse().unwrap(),
            }
        );
        let message = error.to_string();
        assert!(message.contains("host bits"), "{message}");
        assert!(message.contains("10.0.0.0/8"), "{message}");
        assert!(matches!(
            "2001:db8::1/32".parse::<Network>(),
            Err(NetworkError::HostBitsSet { .. })
        ));
        assert!(matches!(
            "192.168.1.128/24".parse::<Network>(),
            Err(NetworkError::HostBitsSet { .. })
        ));
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for text in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/08",
            "10.0.0.0/8 ",
            "10.0.0.0/ 8",
            "10.0.0.0/256",
            "10.0.0.0/0008",
            "10.0.0.0/8/8",
            "10.0.0.0/255.0.0.0",
            "2001:db8::/129",
            "2001:db8::/1000",
        ] {
            assert!(
                matches!(text.parse::<Network>(), Err(NetworkError::Prefix { .. })),
                "{text:?}: {:?}",
                text.parse::<Network>()
            );
        }
    }

    #[test]
    fn junk_is_refused() {
        for text in [
            "",
            "/8",
            "10.0.0/8",
            "10.0.0.256/32",
            "010.0.0.0/8",
            "10.0.0.0.0/8",
            " 10.0.0.0/8",
            "10.0.0.0\n",
            "fe80::1%eth0",
            "fe80::1%eth0/128",
            "[::1]",
            "localhost",
            "10.0.0.0-10.255.255.255",
            "*",
            "any",
            "１０.0.0.0/8",
        ] {
            assert!(
                matches!(text.parse::<Network>(), Err(NetworkError::Malformed { .. })),
                "{text:?}: {:?}",
                text.parse::<Network>()
            );
        }
    }

    #[test]
    fn ipv4_mapped_networks_are_refused_with_the_ipv4_form() {
        let error = "::ffff:10.0.0.0/104".parse::<Network>().unwrap_err();
        assert_eq!(
            error,
            NetworkError::Ipv4Mapped {
                given: "::ffff:10.0.0.0/104".to_owned(),
                as_ipv4: "10.0.0.0/8".to_owned(),
            }
        );
        assert!(matches!(
            "::ffff:192.0.2.1".parse::<Network>(),
            Err(NetworkError::Ipv4Mapped { .. })
        ));
        // Networks that merely include the mapped range are IPv6 networks like any other.
        assert!("::/0".parse::<Network>().is_ok());
        assert!("::/64".parse::<Network>().is_ok());
    }

    #[test]
    fn containment() {
        let network: Network = "10.0.0.0/8".parse().unwrap();
        assert!(network.contains(ip("10.0.0.0")));
        assert!(network.contains(ip("10.255.255.255")));
        assert!(!network.contains(ip("11.0.0.0")));
        assert!(!network.contains(ip("9.255.255.255")));
        let host: Network = "203.0.113.7".parse().unwrap();
        assert!(host.contains(ip("203.0.113.7")));
        assert!(!host.contains(ip("203.0.113.8")));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let everything: Network = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("255.255.255.255")));
        assert!(
            !everything.contains(ip("::1")),
            "IPv4 networks hold no IPv6"
        );
        assert!(!"::/0".parse::<Network>().unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_networks() {
        let network: Network = "10.0.0.0/8".parse().unwrap();
        assert!(network.contains(ip("::ffff:10.1.2.3")));
        assert!(!network.contains(ip("::ffff:11.1.2.3")));
        assert!(list("127.0.0.0/8").allows(Some(ip("::ffff:127.0.0.1"))));
        // A mapped client is an IPv4 client, not one of the IPv6 space.
        assert!(
            !"::/0"
                .parse::<Network>()
                .unwrap()
                .contains(ip("::ffff:10.1.2.3"))
        );
        // `::1` is IPv6 loopback, not 0.0.0.1 (what `Ipv6Addr::to_ipv4` would make of it).
        assert!(!"0.0.0.0/8".parse::<Network>().unwrap().contains(ip("::1")));
        assert!("::1".parse::<Network>().unwrap().contains(ip("::1")));
    }

    #[test]
    fn lists_decide_with_deny_by_default_for_unknown_addresses() {
        let any = NetworkAllowList::any();
        assert!(any.is_any());
        assert!(any.allows(Some(ip("198.51.100.1"))));
        assert!(any.allows(None));
        let office = list("10.0.0.0/8 2001:db8::/32");
        assert!(office.allows(Some(ip("10.9.9.9"))));
        assert!(office.allows(Some(ip("2001:db8::5"))));
        assert!(!office.allows(Some(ip("198.51.100.1"))));
        assert!(
            !office.allows(None),
            "a restricted key refuses an unknown address"
        );
    }

    #[test]
    fn lists_round_trip_through_text_in_the_given_order() {
        for text in ["", "10.0.0.0/8", "2001:db8::/32 10.0.0.0/8 203.0.113.7/32"] {
            assert_eq!(list(text).to_string(), text);
        }
        let entries = ["2001:DB8::/32", "203.0.113.7"];
        let parsed = NetworkAllowList::from_entries(entries).unwrap();
        assert_eq!(parsed.to_string(), "2001:db8::/32 203.0.113.7/32");
        assert_eq!(parsed.len(), 2);
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(json, "\"2001:db8::/32 203.0.113.7/32\"");
        assert_eq!(
            serde_json::from_str::<NetworkAllowList>(&json).unwrap(),
            parsed
        );
        assert!(serde_json::from_str::<NetworkAllowList>("\"10.0.0.1/8\"").is_err());
    }

    #[test]
    fn hostile_lists_are_refused() {
        assert_eq!(
            NetworkAllowList::from_entries(["10.0.0.0/8", "192.0.2.0/24", "10.0.0.0/8"]),
            Err(NetworkListError::Duplicate("10.0.0.0/8".parse().unwrap()))
        );
        // The same network written twice differently is still a duplicate.
        assert!(matches!(
            NetworkAllowList::from_entries(["2001:db8::/32", "2001:DB8:0::/32"]),
            Err(NetworkListError::Duplicate(_))
        ));
        assert!(matches!(
            NetworkAllowList::from_entries(["192.0.2.1", "192.0.2.1/32"]),
            Err(NetworkListError::Duplicate(_))
        ));
        for text in [
            "10.0.0.0/8  192.0.2.0/24",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            " ",
        ] {
            assert_eq!(
                text.parse::<NetworkAllowList>(),
                Err(NetworkListError::Spacing),
                "{text:?}"
            );
        }
        assert!(matches!(
            "10.0.0.0/8,192.0.2.0/24".parse::<NetworkAllowList>(),
            Err(NetworkListError::Entry(_))
        ));
    }

    #[test]
    fn lists_are_capped() {
        let entries: Vec<String> = (0..=MAX_NETWORKS)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        let at_cap =
            NetworkAllowList::from_entries(entries[..MAX_NETWORKS].iter().map(String::as_str));
        assert_eq!(at_cap.unwrap().len(), MAX_NETWORKS);
        assert_eq!(
            NetworkAllowList::from_entries(entries.iter().map(String::as_str)),
            Err(NetworkListError::TooMany)
        );
        let long = "10.0.0.0/8 ".repeat(100_000);
        assert!(long.parse::<NetworkAllowList>().is_err());
    }

    #[test]
    fn error_messages_are_bounded_and_escaped() {
        let long = "1".repeat(1_000_000);
        let message = long.parse::<Network>().unwrap_err().to_string();
        assert!(message.len() < 200, "{}", message.len());
        let message = format!("10.0.0.0/{long}")
            .parse::<Network>()
            .unwrap_err()
            .to_string();
        assert!(message.len() < 200, "{}", message.len());
        let message = "\u{1b}[31m10.0.0.0/8"
            .parse::<Network>()
            .unwrap_err()
            .to_string();
        assert!(!message.contains('\u{1b}'), "{message}");
    }

    /// The reference: the first `prefix` bits of the two addresses' bytes agree.
    fn same_leading_bits(a: &[u8], b: &[u8], prefix: u8) -> bool {
        (0..usize::from(prefix)).all(|i| {
            let bit = |bytes: &[u8]| bytes[i / 8] >> (7 - i % 8) & 1;
            bit(a) == bit(b)
        })
    }

    fn any_v4_network() -> impl Strategy<Value = (Ipv4Addr, u8)> {
        (any::<u32>(), 0u8..=32)
            .prop_map(|(bits, prefix)| (Ipv4Addr::from(bits & mask_v4(prefix)), prefix))
    }

    fn any_v6_network() -> impl Strategy<Value = (Ipv6Addr, u8)> {
        (any::<u128>(), 0u8..=128)
            .prop_map(|(bits, prefix)| (Ipv6Addr::from(bits & mask_v6(prefix)), prefix))
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,80}") {
            let _ = text.parse::<Network>();
            let _ = text.parse::<NetworkAllowList>();
        }

        #[test]
        fn v4_networks_round_trip_and_agree_with_the_reference(
            (net, prefix) in any_v4_network(),
            probe in any::<u32>(),
        ) {
            let network: Network = format!("{net}/{prefix}").parse().unwrap();
            prop_assert_eq!(network.to_string().parse::<Network>().unwrap(), network);
            let probe = Ipv4Addr::from(probe);
            let expected = same_leading_bits(&net.octets(), &probe.octets(), prefix);
            prop_assert_eq!(network.contains(IpAddr::V4(probe)), expected);
            // The same client arriving on an IPv6 socket.
            prop_assert_eq!(network.contains(IpAddr::V6(probe.to_ipv6_mapped())), expected);
            prop_assert!(network.contains(IpAddr::V4(net)));
        }

        #[test]
        fn v6_networks_round_trip_and_agree_with_the_reference(
            (net, prefix) in any_v6_network(),
            probe in any::<u128>(),
        ) {
            // The mapped range is refused (its own test); a random network is almost never in it.
            prop_assume!(prefix < 96 || net.to_ipv4_mapped().is_none());
            let network: Network = format!("{net}/{prefix}").parse().unwrap();
            prop_assert_eq!(network.to_string().parse::<Network>().unwrap(), network);
            let probe = Ipv6Addr::from(probe);
            let expected = probe.to_ipv4_mapped().is_none()
                && same_leading_bits(&net.octets(), &probe.octets(), prefix);
            prop_assert_eq!(network.contains(IpAddr::V6(probe)), expected);
        }

        #[test]
        fn any_set_host_bit_is_refused((net, prefix) in any_v4_network(), host in any::<u32>()) {
            let host_part = host & !mask_v4(prefix);
            prop_assume!(host_part != 0);
            let given = Ipv4Addr::from(u32::from(net) | host_part);
            let refused = format!("{given}/{prefix}").parse::<Network>();
            let is_host_bits = matches!(refused, Err(NetworkError::HostBitsSet { .. }));
            prop_assert!(is_host_bits);
        }
    }
}
