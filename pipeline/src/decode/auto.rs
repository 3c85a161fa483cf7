//! `auto`: recognises the format of each record and hands it to that
//! format's decoder, for topics and files that mix vendors.
//!
//! Recognition is by cheap, unambiguous markers, checked in this order:
//!
//! | record | format |
//! |---|---|
//! | JSON with a `class` key and no vendor marker | `floodlight-json` |
//! | JSON with `eventType` and `published` | `okta` |
//! | JSON with `CreationTime` and `Operation` | `m365-audit` |
//! | JSON with `id.orig_h` and `query` | `zeek-dns` (JSON) |
//! | a line after a Zeek `#fields` header naming `query` | `zeek-dns` (TSV) |
//! | CSV with `,<YYYY/MM/DD HH:MM:SS>,<serial>,<TYPE>,` | `panos` (any log type) |
//!
//! A record that matches none is dead-lettered with a reason listing what was
//! tried. Rows keep the recognised format in their `format` column, not `auto`.

use super::{
    floodlight_json::FloodlightJson, m365_audit::M365Audit, okta::Okta, panos::Panos, zeek_dns::ZeekDns, DecodeError,
    DecodeOutcome, Decoder, RecordContext,
};
use crate::schema::{EventClass, Row};

/// The `auto` format.
pub struct Auto;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The decoder a record belongs to, or `None`.
pub fn recognise(record: &[u8], ctx: RecordContext<'_>) -> Option<&'static dyn Decoder> {
    let start = record.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(record.len());
    let body = record[start..].strip_prefix("\u{feff}".as_bytes()).unwrap_or(&record[start..]);
    if body.first() == Some(&b'{') {
        if contains(body, b"\"eventType\"") && contains(body, b"\"published\"") {
            return Some(&Okta);
        }
        if contains(body, b"\"CreationTime\"") && contains(body, b"\"Operation\"") {
            return Some(&M365Audit);
        }
        if contains(body, b"\"id.orig_h\"") && contains(body, b"\"query\"") {
            return Some(&ZeekDns);
        }
        if contains(body, b"\"class\"") {
            return Some(&FloodlightJson);
        }
        return None;
    }
    let zeek_dns_header =
        ctx.headers.iter().rev().find(|h| h.starts_with(b"#fields")).is_some_and(|h| contains(h, b"\tquery\t"));
    if zeek_dns_header {
        return Some(&ZeekDns);
    }
    if looks_like_panos(body) {
        return Some(&Panos);
    }
    None
}

/// PAN-OS CSV: `,<YYYY/MM/DD HH:MM:SS>,<serial>,<TYPE>,` somewhere in the line
/// (after the optional syslog header and FUTURE_USE field), any log type.
fn looks_like_panos(line: &[u8]) -> bool {
    const TIME: &[u8] = b"dddd/dd/dd dd:dd:dd";
    let is_time = |w: &[u8]| w.iter().zip(TIME).all(|(c, p)| if *p == b'd' { c.is_ascii_digit() } else { c == p });
    (0..line.len().saturating_sub(TIME.len() + 1)).any(|i| {
        if line[i] != b',' || !is_time(&line[i + 1..i + 1 + TIME.len()]) {
            return false;
        }
        let rest = &line[i + 1 + TIME.len()..];
        let Some(rest) = rest.strip_prefix(b",") else { return false };
        let serial = rest.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        let Some(rest) = rest[serial..].strip_prefix(b",") else { return false };
        let kind = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
        serial > 0 && kind > 0 && rest.get(kind) == Some(&b',')
    })
}

impl Decoder for Auto {
    fn id(&self) -> &'static str {
        "auto"
    }

    fn classes(&self) -> &'static [EventClass] {
        &[EventClass::Network, EventClass::Dns, EventClass::Auth, EventClass::Oauth, EventClass::Email]
    }

    fn decode(&self, record: &[u8], ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let Some(decoder) = recognise(record, ctx) else {
            return Err(DecodeError::new(
                "auto: not recognised as okta, m365-audit, zeek-dns (JSON or TSV after #fields), panos or floodlight-json",
            ));
        };
        let first = out.len();
        let outcome = decoder
            .decode(record, ctx, out)
            .map_err(|e| DecodeError::new(format!("auto ({}): {}", decoder.id(), e.reason)))?;
        for row in &mut out[first..] {
            row.set_format(decoder.id());
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    const OKTA: &str = include_str!("../../../deploy/demo/logs/okta--system-log.log");
    const M365: &str = include_str!("../../../deploy/demo/logs/m365-audit--unified-audit.log");
    const PANOS: &str = include_str!("../../../deploy/demo/logs/panos--fw01.log");
    const ZEEK: &str = include_str!("../../../deploy/demo/logs/zeek-dns--resolver.log");

    /// Every line of a demo log: what `auto` makes of it equals what its own decoder makes of it.
    fn same_as(text: &str, own: &dyn Decoder) {
        let headers: Vec<Bytes> =
            text.lines().filter(|l| l.starts_with('#')).map(|l| Bytes::copy_from_slice(l.as_bytes())).collect();
        let ctx = RecordContext { headers: &headers };
        let mut parsed = 0;
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let ra = Auto.decode(line.as_bytes(), ctx, &mut a);
            let rb = own.decode(line.as_bytes(), ctx, &mut b);
            assert_eq!(ra.is_ok(), rb.is_ok(), "{line}: auto {ra:?} vs {} {rb:?}", own.id());
            if let (Ok(x), Ok(y)) = (&ra, &rb) {
                assert_eq!(x, y, "{line}");
                parsed += 1;
            }
            for r in &mut b {
                r.set_format(own.id());
            }
            assert_eq!(
                a.iter().map(Row::to_json).collect::<Vec<_>>(),
                b.iter().map(Row::to_json).collect::<Vec<_>>(),
                "{line}"
            );
        }
        assert!(parsed > 0, "{} demo lines were recognised", own.id());
    }

    #[test]
    fn recognises_every_demo_format_and_decodes_like_it() {
        same_as(OKTA, &Okta);
        same_as(M365, &M365Audit);
        same_as(PANOS, &Panos);
        same_as(ZEEK, &ZeekDns);
    }

    #[test]
    fn rows_carry_the_recognised_format() {
        let line = OKTA.lines().find(|l| l.contains("user.session.start")).expect("a sign-in in the demo");
        let mut rows = Vec::new();
        Auto.decode(line.as_bytes(), RecordContext::default(), &mut rows).expect("decodes");
        assert_eq!(rows[0].to_json()["format"], "okta");
    }

    #[test]
    fn unrecognised_records_are_errors_naming_what_was_tried() {
        for rec in [&b"hello world"[..], b"{\"a\":1}", b"", &[0xff, 0xfe, 0x00]] {
            let err = Auto.decode(rec, RecordContext::default(), &mut Vec::new()).unwrap_err();
            assert!(err.reason.contains("not recognised"), "{err}");
        }
        let err = Auto
            .decode(b"{\"eventType\":\"user.session.start\",\"published\":", RecordContext::default(), &mut Vec::new())
            .unwrap_err();
        assert!(err.reason.starts_with("auto (okta): "), "{err}");
    }

    proptest! {
        /// Any bytes, and any demo line with bytes flipped: an outcome, never a panic.
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), line in 0usize..40, flip in any::<(usize, u8)>()) {
            let _ = Auto.decode(&data, RecordContext::default(), &mut Vec::new());
            let all: Vec<&str> = [OKTA, M365, PANOS, ZEEK].iter().flat_map(|t| t.lines()).collect();
            let mut bytes = all[line % all.len()].as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = flip.0 % bytes.len();
                bytes[i] = flip.1;
            }
            let _ = Auto.decode(&bytes, RecordContext::default(), &mut Vec::new());
        }
    }
}
