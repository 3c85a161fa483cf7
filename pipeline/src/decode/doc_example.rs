//! Test support: the example output shown in each `docs/formats/<format>.md`
//! is the decoder's real output. [`check`] compares the first ```` ```json ````
//! block of the page with what the decoder produced; run the tests with
//! `FLOODLIGHT_BLESS=1` to rewrite the block after an intended change.

use std::path::PathBuf;

fn doc_path(page: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/formats").join(page)
}

/// The byte range of the first ```` ```json ```` block's body in `text`.
fn json_block(text: &str) -> Option<(usize, usize)> {
    let open = text.find("```json\n")? + "```json\n".len();
    let close = open + text[open..].find("\n```")?;
    Some((open, close))
}

/// Assert that `docs/formats/<page>` shows `actual` as its example output.
pub fn check(page: &str, actual: &serde_json::Value) {
    let path = doc_path(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (start, end) = json_block(&text).unwrap_or_else(|| panic!("{}: no ```json block", path.display()));
    let pretty = serde_json::to_string_pretty(actual).expect("serializable");
    if std::env::var_os("FLOODLIGHT_BLESS").is_some() {
        let new = format!("{}{}{}", &text[..start], pretty, &text[end..]);
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let shown: serde_json::Value = serde_json::from_str(&text[start..end])
        .unwrap_or_else(|e| panic!("{}: the ```json block is not JSON: {e}", path.display()));
    assert_eq!(
        &shown,
        actual,
        "{} shows another example output; it should be (or run with FLOODLIGHT_BLESS=1):\n{pretty}",
        path.display()
    );
}
