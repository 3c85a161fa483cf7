//! Zero-copy splitting shared by the text decoders.
//!
//! Decoders slice their fields out of the raw record so that a row costs no
//! allocation per field; only a field that must be rewritten (a quoted CSV
//! field with `""` escapes) is copied. The `csv` crate cannot do this (it
//! copies every field into its own buffer), so the one CSV rule that matters
//! for single log lines lives here, checked against the `csv` crate by a
//! property test.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::decode::DecodeError;
use crate::schema::{Str, VendorFields};

/// Split one CSV line (RFC 4180: fields separated by `sep`, a field that
/// starts with `"` is quoted and `""` inside it is one `"`) and append its
/// fields to `out`. Unquoted fields and quoted fields without escapes borrow
/// from `line`. Lenient like the `csv` crate: a `"` inside an unquoted field
/// is kept, text after a closing quote is appended to the field. An
/// unterminated quoted field runs to the end of the line.
pub fn split_csv<'a>(line: &'a str, sep: u8, out: &mut Vec<Str<'a>>) {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            // Quoted field.
            let start = i + 1;
            let mut owned: Option<String> = None;
            let mut j = start;
            let end_of_quote;
            loop {
                match memchr::memchr(b'"', &b[j..]) {
                    None => {
                        end_of_quote = b.len();
                        if let Some(o) = owned.as_mut() {
                            o.push_str(&line[j..]);
                        }
                        j = b.len();
                        break;
                    }
                    Some(p) => {
                        let q = j + p;
                        if b.get(q + 1) == Some(&b'"') {
                            // `""`: keep the text so far and one quote.
                            owned.get_or_insert_with(String::new).push_str(&line[j..=q]);
                            j = q + 2;
                        } else {
                            if let Some(o) = owned.as_mut() {
                                o.push_str(&line[j..q]);
                            }
                            end_of_quote = q;
                            j = q + 1;
                            break;
                        }
                    }
                }
            }
            // Text between the closing quote and the next separator belongs to the field.
            let next = memchr::memchr(sep, &b[j..]).map_or(b.len(), |p| j + p);
            let field: Str<'a> = match owned {
                Some(mut o) => {
                    o.push_str(&line[j..next]);
                    Cow::Owned(o)
                }
                None if next == j => Cow::Borrowed(&line[start..end_of_quote]),
                None => Cow::Owned(format!("{}{}", &line[start..end_of_quote], &line[j..next])),
            };
            out.push(field);
            if next >= b.len() {
                return;
            }
            i = next + 1;
        } else {
            let next = memchr::memchr(sep, &b[i..]).map_or(b.len(), |p| i + p);
            out.push(Cow::Borrowed(&line[i..next]));
            if next >= b.len() {
                return;
            }
            i = next + 1;
        }
    }
}

/// Apply `g` to a text value, keeping the result borrowed from the record
/// when the value was (and `g` returns a slice of its input).
pub fn map_str<'a>(v: Str<'a>, g: impl for<'s> Fn(&'s str) -> Str<'s>) -> Str<'a> {
    match v {
        Cow::Borrowed(s) => g(s),
        Cow::Owned(s) => Cow::Owned(g(&s).into_owned()),
    }
}

/// Like [`map_str`] for a function that may reject the value.
pub fn map_opt<'a>(v: Str<'a>, g: impl for<'s> Fn(&'s str) -> Option<Str<'s>>) -> Option<Str<'a>> {
    match v {
        Cow::Borrowed(s) => g(s),
        Cow::Owned(s) => g(&s).map(|r| Cow::Owned(r.into_owned())),
    }
}

/// `s` in lower case (Unicode), borrowed when it already is.
pub fn lower_case(s: &str) -> Str<'_> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` in ASCII upper case (HTTP methods), borrowed when it already is.
pub fn upper_case(s: &str) -> Str<'_> {
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(s.to_ascii_uppercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A host name or address from a host field or URL authority: lower case,
/// without port, IPv6 brackets, quotes or trailing dot; `None` when empty
/// or `-`. Borrowed when nothing had to change but trimming.
pub fn clean_host(h: &str) -> Option<Str<'_>> {
    let h = trimmed(h).trim_matches('"');
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if h.matches(':').count() == 1 {
        match h.split_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => h,
        }
    } else {
        h
    };
    clean_name(h)
}

/// The authority (`user@host:port`) of a URL or of a bare `host:port`;
/// `None` for a path-only URL.
fn authority(url: &str) -> Option<&str> {
    let u = trimmed(url).trim_matches('"');
    let rest = match u.find("://") {
        Some(i) if i > 0 && u[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) => &u[i + 3..],
        _ => u,
    };
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return None;
    }
    let auth = rest.split(['/', '?', '#']).next()?;
    Some(auth.rsplit_once('@').map_or(auth, |(_, h)| h))
}

/// Host of a URL (`https://Www.Example.com:8443/x` → `www.example.com`), of
/// `host:port` (`CONNECT` targets) or of PAN-OS style `host/path`.
pub fn url_host(url: &str) -> Option<Str<'_>> {
    authority(url).and_then(clean_host)
}

/// The explicit port of a URL or `host:port`, if any.
pub fn url_port(url: &str) -> Option<i32> {
    let a = authority(url)?;
    let port = if let Some(rest) = a.strip_prefix('[') {
        rest.split_once("]:")?.1
    } else if a.matches(':').count() == 1 {
        a.split_once(':')?.1
    } else {
        return None;
    };
    port.parse::<u16>().ok().map(i32::from)
}

/// IP protocol name, lower case (`TCP` → `tcp`, `6` → `tcp`).
pub fn protocol_name(p: &str) -> Str<'_> {
    let p = p.trim();
    let named = match p {
        "1" => "icmp",
        "6" => "tcp",
        "17" => "udp",
        "47" => "gre",
        "50" => "esp",
        "51" => "ah",
        "58" => "ipv6-icmp",
        "132" => "sctp",
        _ if p.eq_ignore_ascii_case("icmp6") || p.eq_ignore_ascii_case("icmpv6") => "ipv6-icmp",
        _ => return lower_case(p),
    };
    Cow::Borrowed(named)
}

/// A decoder's fixed list of field names, found with one hash probe rather
/// than a comparison with every name (a FortiGate line has about 45 pairs
/// and the decoder looks up 23 names: comparing each with each was a large
/// share of its time). Built once per decoder, from a `static` list.
#[derive(Debug)]
pub struct KeySet {
    names: &'static [&'static str],
    /// Open addressing: a name's words and index, or an empty slot.
    table: Vec<Slot>,
    /// `64 - log2(table.len())`: the hash's top bits pick the bucket.
    shift: u32,
}

/// A name in a [`KeySet`]'s table: its [`words`] and length, compared
/// with a key's before anything else (and, for names of up to 16 bytes,
/// instead of the bytes: the words hold every byte).
#[derive(Debug, Clone, Copy)]
struct Slot {
    words: (u64, u64),
    len: usize,
    index: u8,
}

/// A string's bytes as two words. For up to 16 bytes, together with the
/// length they are the string (overlapping loads from both ends cover
/// every byte); for longer strings they are a filter before a full compare.
fn words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let word4 = |at: usize| b.get(at..at + 4).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, u32::from_le_bytes);
    let word8 = |at: usize| b.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_le_bytes);
    match n {
        0 => (0, 0),
        1..=3 => (u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16, 0),
        4..=8 => (u64::from(word4(0)) | u64::from(word4(n - 4)) << 32, 0),
        _ => (word8(0), word8(n - 8)),
    }
}

impl KeySet {
    /// The most names a set holds (slots in [`Pairs::indexed`]).
    pub const MAX: usize = 64;
    const EMPTY: u8 = u8::MAX;

    /// The set of `names`: at most [`KeySet::MAX`] (the lists are the
    /// decoders' own; names past `MAX` would not be in the set).
    pub fn new(names: &'static [&'static str]) -> KeySet {
        debug_assert!(names.len() <= Self::MAX, "a KeySet holds at most {} names", Self::MAX);
        let names = &names[..names.len().min(Self::MAX)];
        let size = (names.len() * 4).next_power_of_two().max(8);
        let empty = Slot { words: (0, 0), len: 0, index: Self::EMPTY };
        let mut set = KeySet { names, table: vec![empty; size], shift: 64 - size.trailing_zeros() };
        for (i, name) in names.iter().enumerate() {
            let words = words(name.as_bytes());
            let mut at = set.bucket(words, name.len());
            while set.table[at].index != Self::EMPTY {
                at = (at + 1) & (size - 1);
            }
            // `i < MAX < EMPTY`.
            set.table[at] = Slot { words, len: name.len(), index: i as u8 };
        }
        set
    }

    /// A key's first bucket, from its words and length.
    fn bucket(&self, (lo, hi): (u64, u64), len: usize) -> usize {
        let mixed = lo ^ hi.rotate_left(29) ^ (len as u64) << 56;
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The index of `key` in the list, if it is one of the names.
    pub fn find(&self, key: &str) -> Option<usize> {
        self.find_words(key, words(key.as_bytes()))
    }

    /// [`KeySet::find`], with the key's [`words`] already taken.
    fn find_words(&self, key: &str, words: (u64, u64)) -> Option<usize> {
        let b = key.as_bytes();
        let mask = self.table.len() - 1;
        let mut at = self.bucket(words, b.len());
        loop {
            let slot = self.table[at];
            if slot.index == Self::EMPTY {
                return None;
            }
            if slot.len == b.len()
                && slot.words == words
                && (b.len() <= 16 || self.names[usize::from(slot.index)] == key)
            {
                return Some(usize::from(slot.index));
            }
            at = (at + 1) & mask;
        }
    }
}

/// `s` without leading and trailing white space, like [`str::trim`], but
/// with no Unicode search when both ends are visible ASCII (nearly every
/// log value).
pub fn trimmed(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        [only] if only.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Where the names of a [`KeySet`] are among a line's pairs.
#[derive(Debug)]
struct PairIndex {
    keys: &'static KeySet,
    /// Per name: its first pair.
    first: [u32; KeySet::MAX],
    /// Per name: its first pair with a non-empty (trimmed) value.
    first_filled: [u32; KeySet::MAX],
    /// Bit `i`: pair `i` (of the first 128) is one of the names.
    named: u128,
}

const NO_PAIR: u32 = u32::MAX;

/// What [`Pairs::indexed`] found at one pair position of the last line it
/// indexed on this thread. The logs of a device repeat their keys in the
/// same order line after line, so a key is most often the one at its
/// position in the line before: when its words and length (which hold
/// every byte of a key of up to 16 bytes) are that key's, its answer is
/// taken without a probe of the set.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    /// The set asked (its address: sets are `'static`, so an address is
    /// never another set's); 0 for none.
    set: usize,
    words: (u64, u64),
    len: usize,
    /// The name's index, or [`KeySet::EMPTY`].
    found: u8,
}

/// Pair positions remembered (a line's first pairs; the rest are probed).
const REMEMBERED: usize = 128;

thread_local! {
    static LAST_LINE: std::cell::RefCell<Vec<Remembered>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `key=value` pairs of a log line, borrowed where no unescaping was needed.
#[derive(Debug, Default)]
pub struct Pairs<'a> {
    pairs: Vec<(&'a str, Str<'a>)>,
    index: Option<PairIndex>,
}

impl<'a> Pairs<'a> {
    /// The pairs, in line order.
    pub fn new(pairs: Vec<(&'a str, Str<'a>)>) -> Self {
        Pairs { pairs, index: None }
    }

    /// The same pairs, with the names of `keys` found once: [`get`](Self::get),
    /// [`text`](Self::text) and [`rest_into`](Self::rest_into) then take one
    /// hash probe per name instead of a scan of the line.
    pub fn indexed(mut self, keys: &'static KeySet) -> Self {
        let mut index =
            PairIndex { keys, first: [NO_PAIR; KeySet::MAX], first_filled: [NO_PAIR; KeySet::MAX], named: 0 };
        let set = std::ptr::from_ref(keys) as usize;
        let mut last_line = LAST_LINE.with_borrow_mut(std::mem::take);
        let remembered = self.pairs.len().min(REMEMBERED);
        if last_line.len() < remembered {
            last_line.resize(remembered, Remembered { set: 0, words: (0, 0), len: 0, found: KeySet::EMPTY });
        }
        for (at, (k, v)) in self.pairs.iter().enumerate().rev() {
            let found = match last_line.get_mut(at) {
                Some(m) if k.len() <= 16 => {
                    let words = words(k.as_bytes());
                    if m.set != set || m.len != k.len() || m.words != words {
                        let found = keys.find_words(k, words);
                        // `found < MAX < EMPTY`.
                        let found = found.map_or(KeySet::EMPTY, |i| i as u8);
                        *m = Remembered { set, words, len: k.len(), found };
                    }
                    (m.found != KeySet::EMPTY).then_some(usize::from(m.found))
                }
                _ => keys.find(k),
            };
            if let Some(slot) = found {
                if at < 128 {
                    index.named |= 1 << at;
                }
                let at = u32::try_from(at).unwrap_or(NO_PAIR);
                index.first[slot] = at;
                if !trimmed(v).is_empty() {
                    index.first_filled[slot] = at;
                }
            }
        }
        LAST_LINE.with_borrow_mut(|l| *l = last_line);
        self.index = Some(index);
        self
    }

    /// The first pair named `key` (with a non-empty value if `filled`) from
    /// the index; `None` when there is no index or it does not know `key`
    /// (then the caller scans).
    fn indexed_pair(&self, key: &str, filled: bool) -> Option<Option<&(&'a str, Str<'a>)>> {
        let index = self.index.as_ref()?;
        let slot = index.keys.find(key)?;
        let at = if filled { index.first_filled[slot] } else { index.first[slot] };
        Some(self.pairs.get(at as usize))
    }

    /// The value of the first pair named `key`, trimmed; `None` when it is empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        let pair = match self.indexed_pair(key, false) {
            Some(pair) => pair,
            None => self.pairs.iter().find(|(k, _)| *k == key),
        };
        pair.map(|(_, v)| trimmed(v)).filter(|v| !v.is_empty())
    }

    /// The first non-empty value of `key` as a column value (trimmed).
    pub fn text(&self, key: &str) -> Option<Str<'a>> {
        let pair = match self.indexed_pair(key, true) {
            Some(pair) => pair,
            None => self.pairs.iter().find(|(k, v)| *k == key && !trimmed(v).is_empty()),
        };
        let (_, v) = pair?;
        Some(match v {
            Cow::Borrowed(b) => Cow::Borrowed(trimmed(b)),
            Cow::Owned(o) => Cow::Owned(trimmed(o).to_string()),
        })
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, for tests that compare against a plain scan.
    #[cfg(test)]
    pub(crate) fn pairs_for_tests(&self) -> &[(&'a str, Str<'a>)] {
        &self.pairs
    }

    /// Every pair whose key is not in `mapped`, into `out` (the fields a
    /// decoder has no column for).
    pub fn rest_into(&self, mapped: &'static KeySet, out: &mut VendorFields<'a>) {
        let named = match &self.index {
            Some(index) if std::ptr::eq(index.keys, mapped) => index.named,
            _ => 0,
        };
        for (at, (k, v)) in self.pairs.iter().enumerate() {
            let is_named = if at < 128 && named != 0 { named & (1 << at) != 0 } else { mapped.find(k).is_some() };
            if !is_named {
                out.push(*k, v.clone());
            }
        }
    }
}

/// A host or DNS name as a column value: trimmed, without trailing dot,
/// lower case (borrowed when it already is); `None` when empty or `-`.
pub fn clean_name(s: &str) -> Option<Str<'_>> {
    let s = trimmed(s).trim_end_matches('.');
    (!s.is_empty() && s != "-").then(|| lower_case(s))
}

/// An error for a value that does not have the expected form, quoting it
/// (shortened) and naming the field. `field` is only rendered here, on the
/// error path: pass `format_args!(..)`, not a `format!`ted string.
pub fn bad_value(format: &str, field: impl std::fmt::Display, value: &str, expected: &str) -> DecodeError {
    let mut shown: String = value.chars().take(80).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    DecodeError::new(format!("{format}: {field} `{shown}` is not {expected}"))
}

/// An IP address field, checked, borrowed as written (IPv6 as logged).
/// `field` names it in the error (see [`bad_value`]).
pub fn ip<'a>(
    format: &str,
    field: impl std::fmt::Display,
    value: Option<&'a str>,
) -> Result<Option<Str<'a>>, DecodeError> {
    match value.map(trimmed).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<std::net::IpAddr>() {
            // Canonical text when the log wrote it differently (`::ffff:1.2.3.4`, upper-case hex).
            Ok(a) if needs_canonical(v) => Ok(Some(Cow::Owned(a.to_string()))),
            Ok(_) => Ok(Some(Cow::Borrowed(v))),
            Err(_) => Err(bad_value(format, field, v, "an IP address")),
        },
    }
}

fn needs_canonical(v: &str) -> bool {
    v.contains(':') && (v.bytes().any(|c| c.is_ascii_uppercase()) || v.contains("::ffff:") || v.contains(":0"))
}

/// An IP address as logged (`1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
/// `[2001:db8::1]:443`) in canonical form, or `None` when it is not one.
pub fn clean_ip(raw: &str) -> Option<Str<'static>> {
    let s = raw.trim();
    let candidate = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match s.rsplit_once(':') {
            Some((ip, port)) if !ip.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => ip,
            _ => s,
        }
    };
    candidate.parse::<IpAddr>().ok().map(|ip| ip.to_string().into())
}

/// Map an action as vendors write it (CEF `act`, W3C `s-action` and the
/// like: `blocked`, `TCP_DENIED`, `permit`, ...) to floodlight's actions;
/// a word it does not know is kept, lower-cased.
pub fn action(a: &str) -> Str<'_> {
    let l = a.trim().to_ascii_lowercase();
    let has = |w: &str| l.contains(w);
    let mapped = if has("block") || has("deny") || has("denied") || has("reject") {
        "deny"
    } else if has("drop") {
        "drop"
    } else if l == "client-rst" || l == "server-rst" {
        "allow"
    } else if has("reset") || l == "rst" {
        "reset"
    } else if has("allow")
        || has("accept")
        || has("permit")
        || has("pass")
        || matches!(l.as_str(), "success" | "observed" | "proxied" | "close" | "timeout" | "start")
    {
        "allow"
    } else if has("alert") || has("detect") || has("monitor") {
        "alert"
    } else {
        return Cow::Owned(l);
    };
    Cow::Borrowed(mapped)
}

/// Every address in a parameter value: `a@x;b@y`, `smtp:a@x`, `"Ana" [SMTP:a@x]`.
pub fn mail_addresses(value: &str) -> Vec<String> {
    value
        .split([';', ','])
        .filter_map(|piece| {
            let at = piece.find('@')?;
            let is_part = |c: char| !(c.is_whitespace() || "[]<>\"'()".contains(c));
            // Past the last separator before `@` (which may be several bytes long, e.g. U+00A0).
            let start =
                piece[..at].char_indices().rev().find(|(_, c)| !is_part(*c)).map_or(0, |(i, c)| i + c.len_utf8());
            let end = piece[at..].find(|c: char| !is_part(c)).map_or(piece.len(), |i| at + i);
            let mut addr = &piece[start..end];
            if let Some((scheme, rest)) = addr.split_once(':') {
                if scheme.eq_ignore_ascii_case("smtp") {
                    addr = rest;
                }
            }
            (addr.len() > 2).then(|| addr.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(line: &str) -> Vec<String> {
        let mut v = Vec::new();
        split_csv(line, b',', &mut v);
        v.into_iter().map(Cow::into_owned).collect()
    }

    fn csv_crate(line: &str) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
        match r.records().next() {
            Some(Ok(rec)) => rec.iter().map(str::to_string).collect(),
            _ => vec![String::new()],
        }
    }

    #[test]
    fn quoted_fields_and_escapes() {
        assert_eq!(split("a,\"b,c\",d"), ["a", "b,c", "d"]);
        assert_eq!(split("\"say \"\"hi\"\"\",x"), ["say \"hi\"", "x"]);
        assert_eq!(split(",,"), ["", "", ""]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("\"open"), ["open"]);
        let mut v = Vec::new();
        split_csv("x,\"y\",\"z\"\"\"", b',', &mut v);
        assert!(matches!(v[1], Cow::Borrowed("y")), "an unescaped quoted field is borrowed");
        assert!(matches!(v[2], Cow::Owned(_)));
    }

    #[test]
    fn ip_fields_are_checked_and_canonical() {
        assert_eq!(ip("t", "src", Some("10.0.0.1")).unwrap().as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("t", "src", Some("2001:DB8::1")).unwrap().as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("t", "src", Some(" ")).unwrap(), None);
        let e = ip("panos", "field 7 (source address)", Some("10.0.0.999")).unwrap_err();
        assert_eq!(e.reason, "panos: field 7 (source address) `10.0.0.999` is not an IP address");
    }

    proptest! {
        /// Same fields as the csv crate for well-formed lines (quotes only at field starts, closed).
        #[test]
        fn agrees_with_the_csv_crate(fields in proptest::collection::vec(
            prop_oneof!["[a-z0-9 :/.]{0,8}", "\"[a-z,\" ]{0,8}\"".prop_map(|s: String| {
                // Escape inner quotes the RFC 4180 way.
                let inner = &s[1..s.len() - 1];
                format!("\"{}\"", inner.replace('"', "\"\""))
            })], 1..12)) {
            let line = fields.join(",");
            prop_assert_eq!(split(&line), csv_crate(&line), "{}", line);
        }

        /// `find` is exact: the words stand for the bytes up to 16, and a
        /// longer key is compared in full.
        #[test]
        fn key_sets_find_exactly_their_names(
            pick in 0usize..64,
            edit in proptest::option::of((0usize..24, any::<u8>())),
            cut in 0usize..24,
        ) {
            static NAMES: &[&str] = &[
                "a", "ab", "abc", "abcd", "eventtime", "srcip", "dstip", "srcport", "dstport",
                "utmaction", "unauthuser", "httpmethod", "abcdefgh", "abcdefghi", "abcdefghijklmnop",
                "abcdefghijklmnopq", "a_very_long_vendor_field_name", "é", "sentbyte", "rcvdbyte",
            ];
            static SET: std::sync::LazyLock<KeySet> = std::sync::LazyLock::new(|| KeySet::new(NAMES));
            let mut key = NAMES[pick % NAMES.len()].as_bytes().to_vec();
            if let Some((at, b)) = edit {
                if let Some(slot) = key.get_mut(at) {
                    *slot = b;
                }
            }
            key.truncate(cut.max(1));
            let Ok(key) = String::from_utf8(key) else { return Ok(()) };
            prop_assert_eq!(SET.find(&key), NAMES.iter().position(|n| *n == key), "{:?}", key);
        }

        /// What an indexed line answers is what a scan of it answers,
        /// whatever the lines indexed before it on the thread (the same
        /// keys in the same places, other keys there, keys of another set,
        /// long keys, more pairs than are remembered).
        #[test]
        fn indexed_lines_answer_as_a_scan_whatever_came_before(
            lines in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec((0usize..12, "[a-z ]{0,3}"), 0..140)),
                1..12,
            ),
        ) {
            static WORDS: &[&str] = &[
                "srcip", "dstip", "user", "u", "tz", "abcdefghijklmnop", "abcdefghijklmnopq",
                "a_very_long_vendor_field_name", "devname", "srcipx", "sentbyte", "sentbytf",
            ];
            static FIRST: &[&str] = &["srcip", "dstip", "user", "abcdefghijklmnopq", "sentbyte", "tz"];
            static SECOND: &[&str] = &["u", "devname", "a_very_long_vendor_field_name", "srcip", "abcdefghijklmnop"];
            static SETS: std::sync::LazyLock<[KeySet; 2]> =
                std::sync::LazyLock::new(|| [KeySet::new(FIRST), KeySet::new(SECOND)]);
            for (second, pairs) in &lines {
                let (set, names) = if *second { (&SETS[1], SECOND) } else { (&SETS[0], FIRST) };
                let pairs: Vec<(&str, Str<'_>)> =
                    pairs.iter().map(|(k, v)| (WORDS[*k], Cow::Borrowed(v.as_str()))).collect();
                let indexed = Pairs::new(pairs.clone()).indexed(set);
                let plain = Pairs::new(pairs);
                for name in names {
                    prop_assert_eq!(indexed.get(name), plain.get(name), "{}", name);
                    prop_assert_eq!(indexed.text(name), plain.text(name), "{}", name);
                }
                let (mut rest, mut scanned) = (VendorFields::default(), VendorFields::default());
                indexed.rest_into(set, &mut rest);
                plain.rest_into(set, &mut scanned);
                prop_assert_eq!(format!("{rest:?}"), format!("{scanned:?}"));
            }
        }

        #[test]
        fn trimmed_is_trim(s in "[ \t\r\n\u{a0}\u{3000}a=é.]{0,6}") {
            prop_assert_eq!(trimmed(&s), s.trim());
        }

        #[test]
        fn never_panics(line in "\\PC{0,64}") {
            let mut v = Vec::new();
            split_csv(&line, b',', &mut v);
            prop_assert!(!v.is_empty());
        }
    }
}
