//! `cisco-asa`: Cisco ASA (8.x–9.x) and Firepower Threat Defense (6.x–7.x,
//! LINA messages) syslog, one message per record: `%ASA-6-302013: ...`
//! (also `%FTD-`, `%PIX-`, `%FWSM-`, and with a message class:
//! `%FTD-session-6-302013:`), after any syslog header: RFC 3164
//! (`<166>Jan  5 08:52:35 host`), ASA's own `logging timestamp`
//! (`Jan 05 2015 08:52:35`) or RFC 5424 (`<166>1 2018-06-27T12:17:46Z asa`).
//!
//! Modelled message ids and how their fields map:
//!
//! | message | text (Cisco's syslog reference) | columns |
//! |---|---|---|
//! | 302013 / 302015 | `Built {inbound\|outbound} {TCP\|UDP} connection id for if:addr/port (mapped) [(idfw user)] to if:addr/port (mapped) [(idfw user)] [(AAA user)]` | `action` = `allow`; `inbound`: first endpoint → `src_ip`/`src_port`, second → `dst_ip`/`dst_port`; `outbound`: the reverse |
//! | 302014 / 302016 | `Teardown {TCP\|UDP} connection id for if:addr/port [(user)] to if:addr/port [(user)] duration h:mm:ss bytes N [reason] [(AAA user)]` | as above; `action` = `allow` (`deny` when the reason is `Deny Terminate`) |
//! | 302020 / 302021 | `{Built {in\|out}bound\|Teardown} ICMP connection for faddr A/n gaddr G/n laddr L/n` | `protocol` = `icmp`, no ports |
//! | 106001 | `Inbound TCP connection denied from A/p to B/p flags ... on interface if` | `action` = `deny` |
//! | 106002 | `proto Connection denied by outbound list acl src A dest B` | `action` = `deny` |
//! | 106006 / 106007 | `Deny inbound UDP from A/p to B/p {on interface if\|due to DNS Query}` | `action` = `deny` |
//! | 106010 / 106014 / 106023 | `Deny [inbound] proto src if:A[/p] [(user)] dst if:B[/p] ... [by access-group "acl"]` | `action` = `deny` |
//! | 106015 | `Deny TCP (no connection) from A/p to B/p flags ... on interface if` | `action` = `deny` |
//! | 106021 | `Deny proto reverse path check from A to B on interface if` | `action` = `deny` |
//! | 106100 | `access-list acl {permitted\|denied\|est-allowed} proto if/A(p) [(user)] -> if/B(p) hit-cnt ...` | `action` = `allow` / `deny` / `allow` |
//! | 710003 | `{TCP\|UDP} access denied by ACL from A/p to if:B/service` | `action` = `deny` |
//! | 710005 | `{TCP\|UDP} request discarded from A/p to if:B/service` | `action` = `drop` |
//!
//! Every row gets `vendor` = `Cisco`, `product` = `ASA` (or `FTD`, `PIX`,
//! `FWSM` after the tag), `protocol` in lower case (`tcp`, `udp`, `icmp`,
//! IP protocol numbers as names where known), `user` = the identity-firewall
//! user of the source side (`LOCAL\user.name`), else the AAA user in the last
//! parentheses. ASA does not log host names, URLs or per-direction byte
//! counts: the teardown `bytes N` is the total of both directions and is not
//! split into `bytes_out` / `bytes_in` (both stay null).
//!
//! **Direction of teardowns.** ASA prints the lower-security side first in
//! built *and* teardown messages; only "Built" says whether that side
//! started the connection. For teardowns (302014/302016/302021) floodlight
//! takes the first endpoint as the source unless its port is a well-known
//! port (< 1024) and the second one's is not, in which case the two are
//! swapped (`for outside:203.0.113.9/443 to inside:10.0.0.5/51000` is a
//! client at 10.0.0.5 talking to 203.0.113.9:443).
//!
//! **Time.** The first timestamp with a year (ISO 8601 or ASA's
//! `Jan 05 2015 08:52:35`) before the tag wins, else the RFC 3164 one; a
//! zone printed after the time (`UTC`, `CET`, `+01:00`) is applied, times
//! without one are read as UTC. RFC 3164 timestamps carry no year: the most
//! recent such date not more than two days in the future is used.
//!
//! Other message ids (NAT 305011, local-host 609001, VPN, failover...) are
//! skipped as `cisco-asa: message id not modelled`. A record with no
//! `%ASA-n-nnnnnn:` tag, a modelled message that does not match its format,
//! an invalid address or port, or no timestamp is dead-lettered naming the
//! part that was wrong.
//!
//! This module also holds the syslog-timestamp helpers the `cef` decoder uses.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::decode::readers::syslog::syslog_header_time;
use crate::decode::readers::text::{self, protocol_name};
use crate::decode::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{EventClass, NetworkEvent, Row, Str, Timestamp, VendorFields};

/// Decoder for `cisco-asa`.
pub struct CiscoAsa;

const NOT_MODELLED: &str = "cisco-asa: message id not modelled";

// ---------------------------------------------------------------------------
// ASA messages.
// ---------------------------------------------------------------------------

/// Known facility prefixes of the tag: `%ASA-`, `%FTD-`, ...
const FACILITIES: [&str; 4] = ["ASA", "FTD", "PIX", "FWSM"];

/// The `%ASA-6-302013:` tag: (tag start, facility, message id, message text).
fn tag(line: &str) -> Option<(usize, &str, &str, &str)> {
    for (p, _) in line.match_indices('%') {
        let rest = &line[p + 1..];
        let Some(fac) = FACILITIES.iter().find(|f| rest.starts_with(**f)) else { continue };
        let mut skip = fac.len();
        // An optional message class between facility and level: `%FTD-session-6-302013:`.
        let class_len = rest.as_bytes()[skip..].iter().skip(1).take_while(|c| c.is_ascii_lowercase()).count();
        if class_len > 0
            && rest.as_bytes().get(skip) == Some(&b'-')
            && rest.as_bytes().get(skip + 1 + class_len) == Some(&b'-')
        {
            skip += 1 + class_len;
        }
        let b = &rest.as_bytes()[skip..];
        // `-L-NNNNNN:`
        if b.len() >= 10
            && b[0] == b'-'
            && b[1].is_ascii_digit()
            && b[2] == b'-'
            && b[3..9].iter().all(u8::is_ascii_digit)
            && b[9] == b':'
        {
            let id_start = p + 1 + skip + 3;
            return Some((p, fac, &line[id_start..id_start + 6], line[id_start + 7..].trim()));
        }
    }
    None
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants, checked by the unit tests.
    Regex::new(pattern).expect("static cisco-asa pattern")
}

static BUILT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^Built (?P<dir>inbound|outbound) (?P<proto>\S+) connection (?P<cid>\d+) for (?P<if1>[^:]+):(?P<a1>[^\s/]+)/(?P<p1>\d+)\s*(?:\([^)/]*/[^)]*\))?(?:\s?\((?P<u1>[^)]*)\))? to (?P<if2>[^:]+):(?P<a2>[^\s/]+)/(?P<p2>\d+)\s*(?:\([^)/]*/[^)]*\))?(?:\((?P<u2>[^)]*)\))?(?:\s*\((?P<aaa>[^)]*)\))?",
    )
});
static TEARDOWN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^Teardown (?P<proto>\S+) connection (?P<cid>\d+) for (?P<if1>[^:]+):(?P<a1>[^\s/]+)/(?P<p1>\d+)(?:\s?\((?P<u1>[^)]*)\))? to (?P<if2>[^:]+):(?P<a2>[^\s/]+)/(?P<p2>\d+)(?:\s?\((?P<u2>[^)]*)\))? duration (?P<dur>\S+) bytes (?P<bytes>\d+)(?P<rest>.*)$",
    )
});
static ICMP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Built (?P<dir>inbound|outbound)|Teardown) ICMP connection for faddr (?P<a1>[^\s/]+)/\d+(?:\s?\((?P<u1>[^)]*)\))? gaddr [^\s/]+/\d+ laddr (?P<a2>[^\s/]+)/\d+(?:\s?\((?P<u2>[^)]*)\))?",
    )
});
static FROM_TO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Inbound (?P<pa>\S+) connection denied|Deny inbound (?P<pb>\S+)|Deny (?P<pc>\S+) \(no connection\)) from (?P<a1>[^\s/]+)/(?P<p1>\d+) to (?P<a2>[^\s/]+)/(?P<p2>\d+)",
    )
});
static OUTBOUND_LIST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?P<proto>\S+) Connection denied by outbound list (?P<acl>\S+) src (?P<a1>[^\s/]+)(?:/(?P<p1>\d+))? dest (?P<a2>[^\s/]+)(?:/(?P<p2>\d+))?",
    )
});
static SRC_DST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^Deny (?:(?:inbound|outbound) )?(?:protocol )?(?P<proto>\S+) src (?P<if1>[^:]+):\s?(?P<a1>[^\s/(]+)(?:/(?P<p1>\d+))?(?:\s?\((?P<u1>[^)]*)\))? dst (?P<if2>[^:]+):\s?(?P<a2>[^\s/(]+)(?:/(?P<p2>\d+))?",
    )
});
static RPF: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Deny (?P<proto>\S+) reverse path check from (?P<a1>\S+) to (?P<a2>\S+)"));
static ACL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^access-list (?P<acl>\S+) (?P<act>permitted|denied|est-allowed) (?P<proto>\S+) (?P<if1>[^/\s]+)/(?P<a1>[^\s(]+)\((?P<p1>\d+)\)(?:\s?\((?P<u1>[^)]*)\))? (?:-> )?(?P<if2>[^/\s]+)/(?P<a2>[^\s(]+)\((?P<p2>\d+)\)",
    )
});
static TO_BOX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?P<proto>\S+) (?P<what>access denied by ACL|request discarded) from (?P<a1>[^\s/]+)/(?P<p1>\d+) to (?P<if2>[^:]+):(?P<a2>[^\s/]+)/(?P<p2>\S+)",
    )
});
static TRAILING_PAREN: LazyLock<Regex> = LazyLock::new(|| re(r"\(([^()]*)\)\s*$"));

/// One endpoint: address and optional port.
type End<'a> = (Str<'a>, Option<i32>);

/// What a message says, before it becomes a row.
struct Flow<'a> {
    proto: Str<'a>,
    src: End<'a>,
    dst: End<'a>,
    user: Option<Str<'a>>,
    action: &'static str,
}

fn addr<'a>(c: &Captures<'a>, name: &str, id: &str, what: &str) -> Result<Str<'a>, DecodeError> {
    let v = c.name(name).map_or("", |m| m.as_str());
    text::ip("cisco-asa", format_args!("{id} {what} address"), Some(v))?
        .ok_or_else(|| DecodeError::new(format!("cisco-asa: {id} {what} address `{v}` is not an IP address")))
}

fn port(c: &Captures<'_>, name: &str, id: &str, what: &str) -> Result<Option<i32>, DecodeError> {
    match c.name(name).map(|m| m.as_str()) {
        None => Ok(None),
        Some(v) => v
            .parse::<u16>()
            .map(|p| Some(i32::from(p)))
            .map_err(|_| DecodeError::new(format!("cisco-asa: {id} {what} port `{v}` is not a port number"))),
    }
}

/// An identity-firewall or AAA user from a `(...)` group: `LOCAL\user.name`,
/// without the `, sg_info` part; not ICMP `(type 8, code 0)` details.
fn user_of<'a>(c: &Captures<'a>, name: &str) -> Option<Str<'a>> {
    let u = c.name(name)?.as_str();
    let u = u.split(',').next().unwrap_or("").trim();
    (!u.is_empty() && !u.starts_with("type ") && u != "?" && u != "-").then_some(Cow::Borrowed(u))
}

fn endpoints<'a>(c: &Captures<'a>, id: &str) -> Result<(End<'a>, End<'a>), DecodeError> {
    Ok((
        (addr(c, "a1", id, "source")?, port(c, "p1", id, "source")?),
        (addr(c, "a2", id, "destination")?, port(c, "p2", id, "destination")?),
    ))
}

fn no_match(id: &str) -> DecodeError {
    DecodeError::new(format!("cisco-asa: {id} message text does not match Cisco's documented format"))
}

/// First endpoint is a well-known port and the second an ephemeral one:
/// the first is the server.
fn first_is_server(a: &End<'_>, b: &End<'_>) -> bool {
    matches!((a.1, b.1), (Some(p1), Some(p2)) if p1 < 1024 && p2 >= 1024)
}

/// Parse the message text of a modelled id; `None` when the id is not modelled.
fn flow<'a>(id: &str, msg: &'a str) -> Option<Result<Flow<'a>, DecodeError>> {
    let caps = |r: &Regex| r.captures(msg).ok_or_else(|| no_match(id));
    let result = match id {
        "302013" | "302015" => caps(&BUILT).and_then(|c| {
            let (first, second) = endpoints(&c, id)?;
            let outbound = &c["dir"] == "outbound";
            let (src, dst, src_user) =
                if outbound { (second, first, user_of(&c, "u2")) } else { (first, second, user_of(&c, "u1")) };
            Ok(Flow {
                proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())),
                src,
                dst,
                user: src_user.or_else(|| user_of(&c, "aaa")),
                action: "allow",
            })
        }),
        "302014" | "302016" => caps(&TEARDOWN).and_then(|c| {
            let (first, second) = endpoints(&c, id)?;
            let rest = c.name("rest").map_or("", |m| m.as_str());
            let aaa = TRAILING_PAREN
                .captures(rest)
                .and_then(|t| t.get(1))
                .map(|m| Cow::Borrowed(m.as_str().trim()))
                .filter(|u| !u.is_empty());
            let (src, dst, src_user) = if first_is_server(&first, &second) {
                (second, first, user_of(&c, "u2"))
            } else {
                (first, second, user_of(&c, "u1"))
            };
            Ok(Flow {
                proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())),
                src,
                dst,
                user: src_user.or(aaa),
                action: if rest.contains("Deny") { "deny" } else { "allow" },
            })
        }),
        "302020" | "302021" => caps(&ICMP).and_then(|c| {
            let fa = (addr(&c, "a1", id, "foreign")?, None);
            let la = (addr(&c, "a2", id, "local")?, None);
            let outbound = c.name("dir").is_some_and(|d| d.as_str() == "outbound");
            let (src, dst, user) = if outbound { (la, fa, user_of(&c, "u2")) } else { (fa, la, user_of(&c, "u1")) };
            Ok(Flow { proto: Cow::Borrowed("icmp"), src, dst, user, action: "allow" })
        }),
        "106001" | "106006" | "106007" | "106015" => caps(&FROM_TO).and_then(|c| {
            let proto = c.name("pa").or(c.name("pb")).or(c.name("pc")).map_or("", |m| m.as_str());
            let (src, dst) = endpoints(&c, id)?;
            Ok(Flow { proto: protocol_name(proto), src, dst, user: None, action: "deny" })
        }),
        "106002" => caps(&OUTBOUND_LIST).and_then(|c| {
            let (src, dst) = endpoints(&c, id)?;
            Ok(Flow {
                proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())),
                src,
                dst,
                user: None,
                action: "deny",
            })
        }),
        "106010" | "106014" | "106023" => caps(&SRC_DST).and_then(|c| {
            let (src, dst) = endpoints(&c, id)?;
            Ok(Flow {
                proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())),
                src,
                dst,
                user: user_of(&c, "u1"),
                action: "deny",
            })
        }),
        "106021" => caps(&RPF).and_then(|c| {
            let (src, dst) = endpoints(&c, id)?;
            Ok(Flow {
                proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())),
                src,
                dst,
                user: None,
                action: "deny",
            })
        }),
        "106100" => caps(&ACL).and_then(|c| {
            let proto = protocol_name(c.name("proto").map_or("", |m| m.as_str()));
            let (mut src, mut dst) = endpoints(&c, id)?;
            if proto.contains("icmp") {
                // ICMP type and code sit where the ports are.
                src.1 = None;
                dst.1 = None;
            }
            let action = if &c["act"] == "denied" { "deny" } else { "allow" };
            Ok(Flow { proto, src, dst, user: user_of(&c, "u1"), action })
        }),
        "710003" | "710005" => caps(&TO_BOX).and_then(|c| {
            let src = (addr(&c, "a1", id, "source")?, port(&c, "p1", id, "source")?);
            // The destination service may be a name (`https`); only numbers become ports.
            let dst_port = c["p2"].parse::<u16>().ok().map(i32::from);
            let dst = (addr(&c, "a2", id, "destination")?, dst_port);
            let action = if c["what"].starts_with("request discarded") { "drop" } else { "deny" };
            Ok(Flow { proto: protocol_name(c.name("proto").map_or("", |m| m.as_str())), src, dst, user: None, action })
        }),
        _ => return None,
    };
    Some(result)
}

impl CiscoAsa {
    fn decode_at<'a>(
        &self,
        record: &'a [u8],
        now: Timestamp,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        let line = record_text(record)?;
        let (start, facility, id, msg) =
            tag(line).ok_or_else(|| DecodeError::new("cisco-asa: no `%ASA-<level>-<message id>:` tag found"))?;
        let Some(flow) = flow(id, msg) else {
            return Ok(DecodeOutcome::Skipped(NOT_MODELLED));
        };
        let flow = flow?;
        let time = syslog_header_time(&line[..start], now).ok_or_else(|| {
            DecodeError::new("cisco-asa: no timestamp before the %ASA tag (syslog header or `logging timestamp`)")
        })?;
        out.push(Row::Network(NetworkEvent {
            time,
            vendor: Some("Cisco".into()),
            product: Some(Cow::Borrowed(facility)),
            src_ip: Some(flow.src.0),
            src_port: flow.src.1,
            dst_ip: Some(flow.dst.0),
            dst_port: flow.dst.1,
            protocol: Some(flow.proto).filter(|p| !p.is_empty()),
            action: Some(Cow::Borrowed(flow.action)),
            user: flow.user,
            vendor_fields: VendorFields(vec![(Cow::Borrowed("message_id"), Cow::Borrowed(id))]),
            ..Default::default()
        }));
        Ok(DecodeOutcome::Parsed(1))
    }
}

impl Decoder for CiscoAsa {
    fn id(&self) -> &'static str {
        "cisco-asa"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network]
    }

    fn decode<'a>(
        &self,
        record: &'a [u8],
        _ctx: RecordContext<'a>,
        out: &mut Vec<Row<'a>>,
    ) -> Result<DecodeOutcome, DecodeError> {
        self.decode_at(record, Timestamp::now(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const METRON: &str = include_str!("../../../../tests/data/vendor/cisco-asa/asa-syslog.log");
    const DOCUMENTED: &str = include_str!("../../../../tests/data/vendor/cisco-asa/asa-documented-lines.log");

    /// 2015-06-01T00:00:00Z: a fixed "now" for the year-less Metron lines.
    const NOW: Timestamp = Timestamp(1_433_116_800_000_000);

    fn decode(line: &str) -> Result<(DecodeOutcome, Vec<Row<'static>>), DecodeError> {
        let mut out = Vec::new();
        let o = CiscoAsa.decode_at(line.as_bytes(), NOW, &mut out)?;
        Ok((o, out.into_iter().map(Row::into_static).collect()))
    }

    fn net(line: &str) -> NetworkEvent<'static> {
        match decode(line) {
            Ok((DecodeOutcome::Parsed(1), mut rows)) => match rows.pop() {
                Some(Row::Network(e)) => e,
                other => panic!("expected a network row, got {other:?}"),
            },
            other => panic!("expected one row for {line}, got {other:?}"),
        }
    }

    fn line_with(data: &str, needle: &str) -> String {
        data.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle}")).to_string()
    }

    fn ends(e: &NetworkEvent) -> (String, Option<i32>, String, Option<i32>) {
        (
            e.src_ip.as_deref().unwrap_or_default().to_string(),
            e.src_port,
            e.dst_ip.as_deref().unwrap_or_default().to_string(),
            e.dst_port,
        )
    }

    #[test]
    fn built_inbound_with_identity_user() {
        let e = net(&line_with(METRON, "212806031"));
        assert_eq!(e.time.to_rfc3339(), "2015-01-05T08:52:35.000Z");
        assert_eq!(ends(&e), ("10.22.8.17".into(), Some(58633), "10.22.8.12".into(), Some(389)));
        assert_eq!(e.protocol.as_deref(), Some("tcp"));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!(e.user.as_deref(), Some("LOCAL\\user.name"));
        assert_eq!((e.vendor.as_deref(), e.product.as_deref()), (Some("Cisco"), Some("ASA")));
        assert_eq!((e.bytes_in, e.bytes_out, e.host.as_deref()), (None, None, None));
        // Without an identity-firewall user the AAA user in the last parentheses is used.
        let aaa = net(&line_with(METRON, "76245503"));
        assert_eq!(aaa.user.as_deref(), Some("user.name"));
        assert_eq!(ends(&aaa), ("10.22.8.233".into(), Some(54209), "198.111.72.238".into(), Some(443)));
        assert_eq!(aaa.time.to_rfc3339(), "2015-01-05T14:52:35.000Z");
        let udp = net(&line_with(METRON, "212806050"));
        assert_eq!(udp.protocol.as_deref(), Some("udp"));
        assert_eq!(ends(&udp), ("10.22.8.62".into(), Some(53965), "10.22.8.85".into(), Some(53)));
    }

    #[test]
    fn built_outbound_swaps_source_and_destination() {
        let e = net(&line_with(DOCUMENTED, "Built outbound TCP connection 9 "));
        assert_eq!(ends(&e), ("10.1.1.2".into(), Some(53496), "10.1.2.1".into(), Some(22)));
        assert_eq!(e.time.to_rfc3339(), "2024-03-05T14:03:07.000Z", "ASA `logging timestamp` with a year");
        let v6 = net(&line_with(DOCUMENTED, "2001:db8:10::5"));
        assert_eq!(ends(&v6), ("2001:db8:10::5".into(), Some(50544), "2606:4700::6810:84e5".into(), Some(443)));
        assert_eq!(v6.time.to_rfc3339(), "2024-03-05T14:03:09.000Z", "RFC 5424 header");
        assert_eq!(v6.product.as_deref(), Some("FTD"));
        let class = line_with(DOCUMENTED, "Built outbound TCP connection 9 ").replace("%ASA-6-", "%ASA-session-6-");
        assert_eq!(ends(&net(&class)), ("10.1.1.2".into(), Some(53496), "10.1.2.1".into(), Some(22)));
    }

    #[test]
    fn teardown_direction_and_users() {
        // Server side printed first: swapped by the port rule.
        let e = net(&line_with(METRON, "17604987"));
        assert_eq!(ends(&e), ("10.22.8.188".into(), Some(64306), "209.111.72.151".into(), Some(443)));
        assert_eq!(e.action.as_deref(), Some("allow"));
        assert_eq!(e.time.to_rfc3339(), "2015-01-05T09:52:35.000Z");
        // Client printed first: kept.
        let e = net(&line_with(METRON, "488167725"));
        assert_eq!(ends(&e), ("147.111.72.16".into(), Some(26436), "10.22.8.53".into(), Some(443)));
        assert_eq!(e.user, None);
        // Identity user attached to the first endpoint.
        let e = net(&line_with(METRON, "212805593"));
        assert_eq!(e.user.as_deref(), Some("LOCAL\\user.name"));
        assert_eq!(ends(&e), ("10.22.8.223".into(), Some(59614), "10.22.8.78".into(), Some(8102)));
        let udp = net(&line_with(METRON, "17603649"));
        assert_eq!(ends(&udp), ("10.22.8.48".into(), Some(63297), "206.111.72.2".into(), Some(161)));
        assert_eq!(udp.protocol.as_deref(), Some("udp"));
        let deny = net(&line_with(DOCUMENTED, "Deny Terminate"));
        assert_eq!(deny.action.as_deref(), Some("deny"));
    }

    #[test]
    fn icmp_connections() {
        let e = net(&line_with(METRON, "%ASA-6-302021"));
        assert_eq!(ends(&e), ("10.22.8.74".into(), None, "10.22.8.205".into(), None));
        assert_eq!(e.protocol.as_deref(), Some("icmp"));
        assert_eq!(e.user.as_deref(), Some("LOCAL\\user.name"));
        let e = net(&line_with(METRON, "%ASA-6-302020"));
        assert_eq!(ends(&e), ("10.22.8.12".into(), None, "10.22.8.45".into(), None));
        assert_eq!(e.time.to_rfc3339(), "2015-01-05T20:22:35.000Z");
    }

    #[test]
    fn deny_and_access_list_messages() {
        let e = net(&line_with(METRON, "186.111.72.11/80"));
        assert_eq!(ends(&e), ("186.111.72.11".into(), Some(80), "204.111.72.226".into(), Some(45019)));
        assert_eq!((e.action.as_deref(), e.protocol.as_deref()), (Some("deny"), Some("tcp")));
        type Case<'a> = (&'a str, &'a str, (&'a str, Option<i32>, &'a str, Option<i32>), &'a str);
        let cases: &[Case<'_>] = &[
            ("106001", "tcp", ("198.51.100.23", Some(40522), "192.0.2.10", Some(23)), "deny"),
            ("106002", "udp", ("10.1.1.20", None, "203.0.113.53", None), "deny"),
            ("106006", "udp", ("198.51.100.7", Some(5060), "192.0.2.10", Some(5060)), "deny"),
            ("106007", "udp", ("203.0.113.53", Some(53), "10.1.1.20", Some(61201)), "deny"),
            ("106010", "gre", ("198.51.100.9", None, "192.0.2.10", None), "deny"),
            ("106014", "icmp", ("198.51.100.40", None, "192.0.2.10", None), "deny"),
            ("106021", "tcp", ("10.99.0.1", None, "192.0.2.10", None), "deny"),
            ("106023", "tcp", ("10.1.1.20", Some(51544), "162.125.1.18", Some(443)), "deny"),
            ("106100", "tcp", ("10.1.1.20", Some(49822), "104.16.99.52", Some(443)), "allow"),
            ("710003", "tcp", ("198.51.100.77", Some(51200), "192.0.2.1", Some(22)), "deny"),
            ("710005", "udp", ("10.22.8.223", Some(49192), "224.111.72.252", Some(5355)), "drop"),
        ];
        for (id, proto, (s, sp, d, dp), action) in cases {
            let data = if *id == "710005" { METRON } else { DOCUMENTED };
            let e = net(&line_with(data, &format!("-{id}:")));
            assert_eq!(ends(&e), (s.to_string(), *sp, d.to_string(), *dp), "{id}");
            assert_eq!(e.protocol.as_deref(), Some(*proto), "{id}");
            assert_eq!(e.action.as_deref(), Some(*action), "{id}");
        }
        let acl_denied = net(&line_with(DOCUMENTED, "denied udp"));
        assert_eq!(acl_denied.action.as_deref(), Some("deny"));
        assert_eq!(acl_denied.user.as_deref(), Some("CORP\\ana.pereira"));
        let v6 = net(&line_with(DOCUMENTED, "2001:db8:10::7/50000"));
        assert_eq!(ends(&v6), ("2001:db8:10::7".into(), Some(50000), "2001:db8:ff::1".into(), Some(443)));
        assert_eq!(v6.user.as_deref(), Some("CORP\\bo.lindqvist"));
    }

    #[test]
    fn other_ids_are_skipped() {
        for needle in ["%ASA-7-609001", "%ASA-7-609002", "%ASA-6-305011", "%ASA-6-305012"] {
            assert_eq!(decode(&line_with(METRON, needle)).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
        }
        let vpn = line_with(DOCUMENTED, "%ASA-4-113019");
        assert_eq!(decode(&vpn).unwrap().0, DecodeOutcome::Skipped(NOT_MODELLED));
    }

    #[test]
    fn malformed_lines_are_rejected_with_the_reason() {
        let e = decode("hello world").unwrap_err();
        assert!(e.reason.contains("no `%ASA"), "{e}");
        let bad_ip = line_with(METRON, "212806031").replace("10.22.8.17/58633 (", "10.22.8.999/58633 (");
        assert!(decode(&bad_ip).unwrap_err().reason.contains("302013 source address `10.22.8.999`"));
        let bad_port = line_with(METRON, "17604987").replace("/64306", "/99999");
        assert!(decode(&bad_port).unwrap_err().reason.contains("port `99999`"));
        let garbled = "<166>Jan  5 08:52:35 10.22.8.216 %ASA-6-302014: Teardown something else";
        assert!(decode(garbled).unwrap_err().reason.contains("302014 message text"));
        let no_time =
            "%ASA-6-106015: Deny TCP (no connection) from 10.0.0.1/80 to 10.0.0.2/5000 flags RST  on interface in";
        assert!(decode(no_time).unwrap_err().reason.contains("no timestamp"));
        let e = CiscoAsa.decode(b"<166>Jan  5 \xff%ASA-6", RecordContext::default(), &mut Vec::new()).unwrap_err();
        assert!(e.reason.contains("UTF-8"));
    }

    #[test]
    fn every_sample_line_has_an_outcome() {
        for line in METRON.lines().chain(DOCUMENTED.lines()).filter(|l| !l.trim().is_empty()) {
            assert!(decode(line).is_ok(), "{line}: {:?}", decode(line));
        }
    }

    fn one_outcome(bytes: &[u8]) {
        let mut out = Vec::new();
        match CiscoAsa.decode(bytes, RecordContext::default(), &mut out) {
            Ok(DecodeOutcome::Parsed(n)) => assert!(n >= 1 && n == out.len()),
            Ok(DecodeOutcome::Skipped(_)) | Err(_) => assert!(out.is_empty()),
        }
    }

    #[test]
    fn doc_example_json() {
        let mut out = Vec::new();
        CiscoAsa.decode(r#"<166>Mar 05 2024 14:03:07 asa-fw01 : %ASA-6-302013: Built outbound TCP connection 4512 for outside:162.125.1.18/443 (162.125.1.18/443) to inside:10.20.1.31/51544 (203.0.113.10/51544)(CORP\ana.pereira)"#.as_bytes(), RecordContext::default(), &mut out).unwrap();
        out[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", CiscoAsa.id());
        crate::decode::doc_example::check("cisco-asa.md", &out[0].to_json());
    }

    proptest! {
        #[test]
        fn never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            pick in 0usize..64,
            at in 0usize..400,
            with in any::<u8>(),
            cut in 0usize..400,
        ) {
            one_outcome(&bytes);
            let lines: Vec<&str> = METRON.lines().chain(DOCUMENTED.lines()).collect();
            let mut line = lines[pick % lines.len()].as_bytes().to_vec();
            let at = at % line.len().max(1);
            if at < line.len() {
                line[at] = with;
            }
            one_outcome(&line);
            line.insert(at.min(line.len()), with);
            one_outcome(&line);
            one_outcome(&line[..cut.min(line.len())]);
        }
    }
}
