//! The command line as a person sees it: the binary runs under a real
//! pseudo-terminal (`portable-pty`) of a given width, and what the terminal
//! receives is checked: tables that fit, progress on a terminal and never in
//! a pipe, a summary that says where the output went, completions and the
//! manual page.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::support::cli;

const BIN: &str = env!("CARGO_BIN_EXE_floodlight");

/// Run `program args` in `dir` on a terminal `cols` wide; everything the
/// terminal received (stdout and stderr, escape sequences included).
fn on_terminal(dir: &Path, cols: u16, program: &str, args: &[&str]) -> String {
    let pty = native_pty_system()
        .openpty(PtySize { rows: 60, cols, pixel_width: 0, pixel_height: 0 })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(program);
    cmd.args(args);
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env("FLOODLIGHT_LOG", "warn");
    cmd.env_remove("COLUMNS");
    let mut child = pty.slave.spawn_command(cmd).expect("spawn on the terminal");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("terminal reader");
    let reading = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        // Linux ends a pty whose other side closed with EIO, not EOF.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().expect("wait for the command");
    drop(pty.master);
    let out = reading.join().expect("reader thread");
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(status.success(), "{program} {args:?} failed on the terminal:\n{text}");
    text
}

/// `text` without terminal escape sequences.
fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in @..~
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The lines as the terminal shows them: a carriage return starts the line again.
fn screen_lines(text: &str) -> Vec<String> {
    strip_escapes(text)
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            l.rsplit('\r').next().unwrap_or(l).to_string()
        })
        .collect()
}

fn table_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with(['┌', '│', '╞', '├', '└'])).collect()
}

fn widest(lines: &[&String]) -> usize {
    lines.iter().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn the_demo_run_fits_the_terminal_shows_progress_and_says_where_output_went() {
    for cols in [100u16, 200] {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = on_terminal(dir.path(), cols, BIN, &["run"]);
        let lines = screen_lines(&text);
        let tables = table_lines(&lines);
        assert!(tables.len() > 20, "the findings and summary tables are printed:\n{text}");
        let wide = widest(&tables);
        assert!(
            wide <= cols as usize,
            "a table line is {wide} columns on a {cols}-column terminal:\n{}",
            lines.join("\n")
        );
        // The messages are longer than the terminal, so the table uses it.
        assert!(wide + 10 >= cols as usize, "the findings table uses the width ({wide} of {cols})");
        let plain = strip_escapes(&text);
        // (Messages wrap inside their column here; the piped test reads them whole.)
        assert!(plain.contains("WF-01") && plain.contains("signed in to"), "{plain}");
        assert!(plain.contains("records ·") && plain.contains("ev/s"), "progress is drawn on a terminal:\n{plain}");
        for output in
            ["floodlight-demo-out/findings.jsonl", "floodlight-demo-out/lake", "floodlight-demo-out/dead-letter.jsonl"]
        {
            assert!(plain.contains(output), "the summary names {output}:\n{plain}");
        }
        assert!(plain.contains("Findings by family and severity") && plain.contains("shadow_saas"), "{plain}");
        assert!(plain.contains("Next: floodlight query"), "{plain}");
    }
}

#[test]
fn wide_keeps_one_line_per_finding_and_quiet_draws_no_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = on_terminal(dir.path(), 100, BIN, &["run", "--wide", "--quiet"]);
    let lines = screen_lines(&text);
    let findings: Vec<&String> =
        table_lines(&lines).into_iter().filter(|l| l.contains("WF-0") || l.contains("SS-0")).collect();
    assert!(!findings.is_empty());
    assert!(widest(&findings) > 100, "--wide does not wrap:\n{}", lines.join("\n"));
    assert!(!text.contains("ev/s"), "--quiet draws no progress:\n{text}");
}

#[test]
fn off_a_terminal_there_is_no_progress_and_rows_stay_on_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli::floodlight(dir.path(), &["run"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("ev/s") && !stdout.contains("ev/s"), "no progress in a pipe:\n{stderr}");
    // One line per finding: every finding's message is whole on its row.
    let rows: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with('│') && l.contains("signed in to Okta from")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows.iter().all(|r| r.contains("protects it.") || r.contains("protections.")), "{stdout}");
    assert!(stderr.contains("floodlight-demo-out/findings.jsonl"), "{stderr}");
}

#[test]
fn parse_shows_progress_only_when_its_output_goes_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/demo/logs/panos--fw01.log");
    let script = format!("{BIN} parse --format panos '{}' > events.jsonl", log.display());
    let text = on_terminal(dir.path(), 120, "sh", &["-c", &script]);
    assert!(strip_escapes(&text).contains("records ·"), "progress on the terminal:\n{text}");
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).expect("events written");
    assert!(events.lines().count() > 3 && !events.contains("records ·"), "the events file holds events only");

    let piped = Command::new(BIN).args(["parse", "--format", "panos"]).arg(&log).output().expect("parse");
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("records ·"), "no progress in a pipe");
}

#[test]
fn rules_list_fits_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = on_terminal(dir.path(), 100, BIN, &["rules", "list"]);
    let lines = screen_lines(&text);
    let tables = table_lines(&lines);
    assert!(tables.iter().any(|l| l.contains("SS-01")), "{text}");
    assert!(widest(&tables) <= 100, "{}", lines.join("\n"));
}

#[test]
fn completions_load_in_bash_and_name_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let out = cli::floodlight(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for command in ["run", "query", "serve", "validate", "parse", "rules", "lookup", "completions"] {
            assert!(script.contains(command), "{shell} completion names `{command}`");
        }
    }
    let bash = Command::new("bash")
        .args(["-c", &format!("source <({BIN} completions bash) && complete -p floodlight")])
        .output()
        .expect("bash");
    let registered = String::from_utf8_lossy(&bash.stdout);
    assert!(bash.status.success() && registered.contains("floodlight"), "bash registers the completion: {registered}");
}

#[test]
fn the_manual_page_documents_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli::floodlight(dir.path(), &["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH floodlight 1"),
        "roff with a title: {}",
        &page[..page.len().min(200)]
    );
    for command in ["run", "query", "serve", "completions"] {
        assert!(page.contains(&format!("floodlight\\-{command}(1)")), "the page lists `{command}`");
    }
    let pages = dir.path().join("man");
    let out = cli::floodlight(dir.path(), &["man", "--out-dir", pages.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for page in ["floodlight.1", "floodlight-run.1", "floodlight-query.1"] {
        let text = std::fs::read_to_string(pages.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".SH"), "{page} has sections");
    }
}
