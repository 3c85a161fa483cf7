//! The invariants every decoder keeps on any input, checked by the
//! `cargo fuzz` targets in `fuzz/` (one per parser family) and, on stable
//! Rust, by the smoke test below over the seed corpora in `fuzz/corpus/`
//! and pseudo-random mutations of them ([`Mutator`]). The config, rule and
//! enrichment readers' checks ([`check_config`], [`check_rule`],
//! [`check_enrichment`]) are here too, for their fuzz targets and for
//! `tests/fuzz_smoke.rs`. Not part of the public API.
//!
//! An input is split at its last `\n`: the lines before it are the header
//! lines ([`RecordContext::headers`], as a file source passes Zeek `#fields`
//! or W3C `#Fields:` lines), the text after it is the record. Every decoder
//! of the family decodes the record, and:
//!
//! * it never panics;
//! * `Ok(Parsed(n))`: `n >= 1` and exactly `n` rows were appended;
//! * `Ok(Skipped(_))` and `Err(_)`: nothing was appended;
//! * every row converts to JSON ([`Row::to_json`]) without panicking.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::{decoder_for, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::Row;

/// The parser families, each with the format ids its fuzz target runs.
pub const FAMILIES: &[(&str, &[&str])] = &[
    ("network", &["panos", "fortigate", "cisco-asa", "zeek-conn", "zeek-http", "zeek-ssl", "squid", "cef", "w3c"]),
    ("dns", &["zeek-dns", "bind-query", "windows-dns", "umbrella-dns"]),
    ("identity", &["okta", "entra-signin", "entra-audit", "google-workspace", "github-audit", "github-webhook"]),
    ("email", &["m365-audit", "m365-message-trace"]),
    ("auto", &["auto", "floodlight-json"]),
];

/// Pseudo-random mutations of seed inputs, the same on every run (a tiny
/// xorshift generator): the stable stand-in for libFuzzer in the smoke
/// tests of the fuzz targets' checks.
pub struct Mutator(u64);

impl Mutator {
    /// A generator started from `seed` (not 0).
    pub fn new(seed: u64) -> Mutator {
        Mutator(seed.max(1))
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Bytes and tokens on the parsers' boundaries, for [`Mutator::mutate`].
pub const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\t",
    b",",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"=",
    b"|",
    b" ",
    b"#",
    b"-",
    b"/",
    b".",
    b"null",
    b"\"\"",
    b"{}",
    b"[]",
    b"0",
    b"-1",
    b"99999999999999999999",
    b"1e400",
    b"\xff",
    b"\xc3",
    "é".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\\x09",
    b"(empty)",
    b"#fields\tts\tuid",
    b"#separator \\x09",
    b"#path\tdns",
    b"#Fields: date time c-ip",
    b"CEF:0|",
    b"%ASA-6-302013: ",
    b"logid=\"1\" type=\"traffic\" ",
    b"\"value\":[",
    b"2026-11-24T09:41:07Z",
    b"1709647387.123",
    b"2015/01/05 05:38:58",
    b"::",
    b"[::1]:80",
    b"%ff",
    b"[[sources]]",
    b"[rules]",
    b" = ",
    b"'''",
    b"\"\"\"",
    b"${HOME}",
    b"${",
    b"$$",
    b"SELECT ",
    b" FROM ",
    b"WITH x AS (",
    b";",
    b"--",
    b"/*",
    b"(",
    b")",
];

impl Mutator {
    /// `seed` changed in one to four places: a byte changed, inserted or
    /// cut, a token of [`TOKENS`] put in, a chunk repeated, or part of
    /// `other` spliced in.
    pub fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let rng = self;
        let mut data = seed.to_vec();
        for _ in 0..1 + rng.below(4) {
            let len = data.len();
            let at = rng.below(len + 1);
            match rng.below(8) {
                0 if len > 0 => data[at.min(len - 1)] = rng.next_u64() as u8,
                1 => data.insert(at, rng.next_u64() as u8),
                2 => {
                    let end = (at + 1 + rng.below(16)).min(len);
                    data.drain(at.min(end)..end);
                }
                3 => data.truncate(at),
                4 => {
                    let token = TOKENS[rng.below(TOKENS.len())];
                    data.splice(at..at, token.iter().copied());
                }
                5 if len > 0 => {
                    // Duplicate a chunk (repeated fields, nested values).
                    let start = rng.below(len);
                    let end = (start + 1 + rng.below(64)).min(len);
                    let chunk = data[start..end].to_vec();
                    data.splice(at..at, chunk);
                }
                6 if !other.is_empty() => {
                    // Splice in part of another seed (headers of one format before a record of another).
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(256)).min(other.len());
                    data.splice(at..at, other[start..end].iter().copied());
                }
                _ => {
                    let token = TOKENS[rng.below(TOKENS.len())];
                    let end = (at + token.len()).min(len);
                    data.splice(at..end, token.iter().copied());
                }
            }
        }
        data
    }
}

/// The config loader on any input (the `config` fuzz target): text that
/// parses as a `floodlight.toml` is validated too; neither may panic.
pub fn check_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("/nonexistent/floodlight-fuzz/floodlight.toml");
    if let Ok(config) = crate::config::Config::parse(text, path) {
        let _ = config.problems(std::path::Path::new("/nonexistent/floodlight-fuzz"));
    }
}

/// The rule loader on any input (the `rules` fuzz target): no panic, and
/// an error names the rule file.
pub fn check_rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = std::path::Path::new("fuzz/rule.toml");
    if let Err(e) = crate::detect::rule::RuleDef::parse(path, text, None) {
        assert_eq!(e.path, path, "a rule error names its file");
    }
}

/// The readers of the enrichment inputs users write, on any input (the
/// `enrichment` fuzz target): the overlay and the app catalog (TOML), the
/// user directory (CSV and JSON). No panic; a directory that loads answers
/// lookups.
pub fn check_enrichment(data: &[u8]) {
    use floodlight_enrichments::catalog::AppCatalog;
    use floodlight_enrichments::directory::Directory;
    use floodlight_enrichments::overlay::Overlay;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Overlay::from_toml(text, "fuzz/overlay.toml");
    let _ = AppCatalog::from_toml(text, "fuzz/catalog.toml");
    let loaded = [
        Directory::from_csv(text, "directory", "fuzz/users.csv"),
        Directory::from_json(text, "directory", "fuzz/users.json"),
    ];
    for d in loaded.into_iter().flatten() {
        let first = text.split([',', '\n', '"']).find(|s| !s.trim().is_empty()).unwrap_or("");
        let _ = d.lookup(first);
        let _ = d.person(first);
        let _ = d.by_ip(first);
    }
}

/// The files of a fuzz target's corpus (`fuzz/corpus/<target>/` of the
/// source tree), sorted by name, with their bytes: the hand-picked seeds
/// ([`is_seed`]) and the entries long libFuzzer runs found and `-merge=1`
/// kept (the minimised corpus).
pub fn corpus(target: &str) -> std::io::Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(&dir)?.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read(&p).map(|bytes| (p, bytes))).collect()
}

/// Whether a corpus file is a hand-picked seed, with a name that says what
/// it is, rather than an entry a fuzz run added (libFuzzer names those by
/// the SHA-1 of their bytes). Seeds are real records and configs: the tests
/// check that they parse; every entry is checked not to panic.
pub fn is_seed(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A family's name and decoders.
type Family = (&'static str, Vec<Arc<dyn Decoder>>);

/// The decoders of `family`, built once.
pub fn family_decoders(family: &str) -> Option<&'static [Arc<dyn Decoder>]> {
    static DECODERS: OnceLock<Vec<Family>> = OnceLock::new();
    let all = DECODERS.get_or_init(|| {
        FAMILIES
            .iter()
            .map(|(name, ids)| {
                let decoders = ids
                    .iter()
                    .map(|id| decoder_for(id).unwrap_or_else(|| panic!("family {name}: no format `{id}`")))
                    .collect();
                (*name, decoders)
            })
            .collect()
    });
    all.iter().find(|(name, _)| *name == family).map(|(_, d)| d.as_slice())
}

/// Header lines (every line before the last `\n`) and the record (after it).
pub fn split_input(data: &[u8]) -> (Vec<Bytes>, &[u8]) {
    match data.iter().rposition(|b| *b == b'\n') {
        Some(i) => (data[..i].split(|b| *b == b'\n').map(Bytes::copy_from_slice).collect(), &data[i + 1..]),
        None => (Vec::new(), data),
    }
}

/// Decode `record` with `decoder`, asserting the invariants; the outcome.
pub fn check_decoder(
    decoder: &dyn Decoder,
    record: &[u8],
    ctx: RecordContext<'_>,
) -> Result<DecodeOutcome, DecodeError> {
    let mut out: Vec<Row<'_>> = Vec::new();
    let outcome = decoder.decode(record, ctx, &mut out);
    let id = decoder.id();
    let shown = || String::from_utf8_lossy(record).into_owned();
    match &outcome {
        Ok(DecodeOutcome::Parsed(n)) => {
            assert!(*n >= 1, "{id}: Parsed(0) for {:?}", shown());
            assert_eq!(*n, out.len(), "{id}: Parsed({n}) but {} rows appended for {:?}", out.len(), shown());
        }
        Ok(DecodeOutcome::Skipped(reason)) => {
            assert!(out.is_empty(), "{id}: Skipped({reason:?}) but {} rows appended for {:?}", out.len(), shown());
        }
        Err(e) => {
            assert!(out.is_empty(), "{id}: Err({e}) but {} rows appended for {:?}", out.len(), shown());
        }
    }
    for row in &out {
        let json = row.to_json();
        assert!(json.is_object(), "{id}: row JSON is not an object: {json} for {:?}", shown());
    }
    outcome
}

/// Run every decoder of `family` on `data` (header lines, then the record),
/// asserting the invariants; each decoder's id and outcome.
pub fn check_family_outcomes(family: &str, data: &[u8]) -> Vec<(&'static str, Result<DecodeOutcome, DecodeError>)> {
    let decoders = family_decoders(family).unwrap_or_else(|| panic!("unknown parser family `{family}`"));
    let (headers, record) = split_input(data);
    let ctx = RecordContext::with_headers(&headers);
    decoders.iter().map(|d| (d.id(), check_decoder(d.as_ref(), record, ctx))).collect()
}

/// Run every decoder of `family` on `data`, asserting the invariants (the fuzz targets' body).
pub fn check_family(family: &str, data: &[u8]) {
    check_family_outcomes(family, data);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::decode::formats;

    fn seeds(family: &str) -> Vec<(PathBuf, Vec<u8>)> {
        corpus(family).unwrap_or_else(|e| panic!("{family}: {e}"))
    }

    #[test]
    fn every_format_is_in_exactly_one_family() {
        for f in formats() {
            let n = FAMILIES.iter().filter(|(_, ids)| ids.contains(&f.id)).count();
            assert_eq!(n, 1, "format `{}` is in {n} fuzz families", f.id);
        }
        for (name, _) in FAMILIES {
            assert!(family_decoders(name).is_some_and(|d| !d.is_empty()));
        }
    }

    #[test]
    fn split_input_takes_the_last_line_as_the_record() {
        let (h, r) = split_input(b"#a\n#b\nrec");
        assert_eq!(h, vec![Bytes::from_static(b"#a"), Bytes::from_static(b"#b")]);
        assert_eq!(r, b"rec");
        assert_eq!(split_input(b"rec"), (Vec::new(), &b"rec"[..]));
        assert_eq!(split_input(b"rec\n"), (vec![Bytes::from_static(b"rec")], &b""[..]));
    }

    /// Every seed is a real record: some decoder of its family parses it.
    #[test]
    fn every_seed_is_parsed_by_its_family() {
        for (family, _) in FAMILIES {
            let seeds: Vec<_> = seeds(family).into_iter().filter(|(p, _)| is_seed(p)).collect();
            assert!(seeds.len() >= 3, "{family}: only {} seeds in fuzz/corpus/{family}", seeds.len());
            for (path, data) in seeds {
                assert!(!data.ends_with(b"\n"), "{}: a seed must not end in a newline", path.display());
                let outcomes = check_family_outcomes(family, &data);
                assert!(
                    outcomes.iter().any(|(_, o)| matches!(o, Ok(DecodeOutcome::Parsed(_)))),
                    "{}: no {family} decoder parses it: {outcomes:?}",
                    path.display()
                );
            }
        }
    }

    /// Thousands of mutated seeds and random inputs keep the invariants (the
    /// fuzz targets' check, on stable and without libFuzzer).
    #[test]
    fn mutated_seeds_keep_the_invariants() {
        let mut rng = Mutator::new(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for (family, _) in FAMILIES {
            let seeds: Vec<Vec<u8>> = seeds(family).into_iter().map(|(_, d)| d).collect();
            assert!(!seeds.is_empty(), "{family}: no seeds");
            // The whole corpus first, as libFuzzer replays it.
            for seed in &seeds {
                check_family(family, seed);
                checked += 1;
            }
            for _ in 0..1200 {
                let seed = &seeds[rng.below(seeds.len())];
                let other = &seeds[rng.below(seeds.len())];
                check_family(family, &rng.mutate(seed, other));
                checked += 1;
            }
            for _ in 0..100 {
                let random: Vec<u8> = (0..rng.below(200)).map(|_| rng.next_u64() as u8).collect();
                check_family(family, &random);
                checked += 1;
            }
        }
        assert!(checked >= 5000);
    }
}
