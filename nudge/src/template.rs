//! Message templates per rule and language.
//!
//! A nudge is rendered from a [MiniJinja](https://docs.rs/minijinja) template
//! that defines three blocks: `subject` (one line), `text` (the plain-text
//! body) and `html` (the HTML body). The built-in templates are compiled into
//! the binary; [`Templates::with_overrides`] lays a directory of your own on
//! top of them.
//!
//! # Which template a nudge uses
//!
//! For a finding of rule `SS-04` in family `shadow_saas`, in English, the first
//! template that exists wins:
//!
//! 1. `en/SS-04.j2` — written for that rule;
//! 2. `en/shadow_saas.j2` — for its family (`shadow_saas`, `email_forwarding`,
//!    `public_network`);
//! 3. `en/default.j2` — for anything else.
//!
//! The reply to a person's explanation uses `en/reply.j2`.
//!
//! # Writing a template
//!
//! Every built-in nudge template extends `<lang>/base.j2`, which lays out the
//! message and leaves these blocks for a rule to fill in:
//!
//! | block      | what goes in it                                              |
//! |------------|--------------------------------------------------------------|
//! | `subject`  | the subject line                                             |
//! | `seen`     | what we saw: the app, when, how much (one or two sentences)  |
//! | `risk`     | why it matters, in plain words                               |
//! | `instead`  | what to use instead; empty leaves the paragraph out          |
//!
//! So a rule template is short:
//!
//! ```jinja
//! {% extends "en/base.j2" %}
//! {% block seen %}We noticed {{ app_name }} being used{{ self.when() }}.{% endblock %}
//! {% block risk %}Why it matters, in two sentences.{% endblock %}
//! ```
//!
//! The facts of [`NudgeFacts`] (or [`ReplyFacts`]) are the template's
//! variables, plus `lang` (`"en"` or `"nl"`) and `html` (true while the `html`
//! block is rendered, false for `subject` and `text`). Helpers, all aware of the
//! language:
//!
//! - `bytes|filesize` — `2.1 GB`, or `2,1 GB` in Dutch;
//! - `n|number` — `1,234` or `1.234`;
//! - `n|plural("upload", "uploads")` — `1 upload`, `1,234 uploads`;
//! - `date|longdate` — `2030-05-01` becomes `1 May 2030` or `1 mei 2030`;
//! - `period(first_seen, last_seen)` — `on 5 March 2025 at 10:12 (CET)`, or
//!   `between 3 March 2025 and 5 March 2025`; empty when neither is known.
//!   Times are shown in the zone set with [`Templates::with_time_zone`];
//! - `link(url, label)` — a link: `<a href="…">label</a>` in HTML,
//!   `label (url)` in text, just the label when there is no (http, https or
//!   mailto) URL;
//! - `href(url)` — the URL made safe for an `href="…"` attribute.
//!
//! Missing facts are `none`: test them with `{% if app_name %}` before
//! printing. Printing an unknown variable is an error, so a typo in a template
//! fails when the templates are loaded, not when a nudge is sent: loading
//! renders every template with a full and an empty set of example facts.
//!
//! # Escaping
//!
//! The `html` block is rendered with HTML auto-escaping on, whatever the file
//! is called: a person named `<b>Ana & Co</b>` is shown as that text, not
//! markup. `subject` and `text` are rendered with escaping off. (MiniJinja
//! decides escaping per template, from its name; this module keeps two
//! environments over the same sources, one that always escapes and one that
//! never does.) Afterwards the subject is folded onto one line, and runs of
//! blank lines in the text and HTML are collapsed, so templates may leave a
//! paragraph empty without leaving a hole.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use minijinja::value::{Serde, Value};
use minijinja::{context, AutoEscape, Environment, State, UndefinedBehavior};
use serde::Serialize;

/// The languages nudges are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English.
    En,
    /// Dutch.
    Nl,
}

impl Language {
    /// Every supported language, in the order they are listed to people.
    pub const ALL: [Language; 2] = [Language::En, Language::Nl];

    /// The language's code: `en` or `nl` (also the templates' folder name).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language tag that names no supported language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language {given:?}: use one of en, nl (a tag such as en-GB or nl-NL works too)")]
pub struct UnknownLanguage {
    /// The tag as given.
    pub given: String,
}

impl FromStr for Language {
    type Err = UnknownLanguage;

    /// Reads a language tag by its primary subtag, ignoring case: `en`,
    /// `EN`, `en-GB`, `en_US`, `nl`, `nl-NL`, `nl-BE`.
    fn from_str(s: &str) -> Result<Language, UnknownLanguage> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Ok(Language::En)
        } else if primary.eq_ignore_ascii_case("nl") {
            Ok(Language::Nl)
        } else {
            Err(UnknownLanguage { given: s.to_string() })
        }
    }
}

/// What a nudge may tell the person: the facts of one finding about them.
///
/// Templates see exactly these fields (and nothing else about the finding).
/// Optional facts that are `None` are left out of the message.
#[derive(Serialize, Clone, Debug)]
pub struct NudgeFacts {
    /// The rule that raised the finding, e.g. `SS-04`; picks the template.
    pub rule_id: String,
    /// The rule's title, e.g. "Upload to a conversion or paste site".
    pub rule_title: String,
    /// The rule's family (`shadow_saas`, `email_forwarding`, `public_network`);
    /// picks the template when there is none for the rule.
    pub family: String,
    /// The finding's severity (not shown by the built-in templates).
    pub severity: String,
    /// The name to greet the person with, e.g. their first name.
    pub person_name: Option<String>,
    /// The app or service involved, e.g. "WeTransfer".
    pub app_name: Option<String>,
    /// The app's category, e.g. "File transfer".
    pub app_category: Option<String>,
    /// The sanctioned tool to use instead, e.g. "OneDrive".
    pub alternative_name: Option<String>,
    /// Where to find the sanctioned tool (http, https or mailto).
    pub alternative_url: Option<String>,
    /// How many events the finding covers (uploads, messages, sign-ins).
    pub event_count: Option<i64>,
    /// How many bytes were involved.
    pub bytes: Option<i64>,
    /// When it was first seen: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or a date.
    pub first_seen: Option<String>,
    /// When it was last seen, in the same forms.
    pub last_seen: Option<String>,
    /// The signed link to the explain page.
    pub explain_url: String,
    /// The last day the link works, `YYYY-MM-DD`.
    pub link_expires: String,
    /// Who signs the message, e.g. "Corp IT".
    pub organisation: String,
}

/// What IT decided about a person's explanation.
///
/// Templates see it as `outcome.kind` (`"granted"` or `"declined"`) and, when
/// granted, `outcome.until` (a date, `YYYY-MM-DD`).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// The person may keep using the app until the date given.
    Granted {
        /// The last day of the exception, `YYYY-MM-DD`.
        until: String,
    },
    /// The person should stop using the app.
    Declined,
}

/// What the reply to a person's explanation may tell them.
#[derive(Serialize, Clone, Debug)]
pub struct ReplyFacts {
    /// The name to greet the person with.
    pub person_name: Option<String>,
    /// The app the explanation was about.
    pub app_name: String,
    /// IT's decision.
    pub outcome: ReplyOutcome,
    /// IT's own words to the person, if any (shown as written).
    pub reply: Option<String>,
    /// The sanctioned tool to use instead.
    pub alternative_name: Option<String>,
    /// Where to find the sanctioned tool.
    pub alternative_url: Option<String>,
    /// Who signs the message, e.g. "Corp IT".
    pub organisation: String,
}

/// A rendered message: one subject line and the body as text and as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject, on one line.
    pub subject: String,
    /// The plain-text body, ending in a newline.
    pub text: String,
    /// The HTML body, a complete document.
    pub html: String,
}

/// Why templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The override directory or one of its files could not be read.
    #[error("cannot read template overrides at {}: {source}", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The override directory has a folder that is not a language.
    #[error(
        "template overrides: folder {} is not a supported language; use en/ or nl/ \
         (files go in <dir>/<lang>/<name>.j2)",
        path.display()
    )]
    NotALanguage {
        /// The folder.
        path: PathBuf,
    },
    /// A template does not parse.
    #[error("template {file} line {line}: {detail}; fix the template (MiniJinja syntax)")]
    Syntax {
        /// The override file, or `built-in <name>`.
        file: String,
        /// The line of the error (0 if unknown).
        line: usize,
        /// What the parser said.
        detail: String,
    },
    /// A template parses but fails when rendered: an unknown variable, a
    /// missing block, a filter used wrongly, an `extends` of a template that
    /// does not exist.
    #[error("template {file} line {line}: {detail}")]
    Render {
        /// The file (or `built-in <name>`) the error is in.
        file: String,
        /// The line of the error (0 if unknown).
        line: usize,
        /// What went wrong, with the template's own explanation.
        detail: String,
    },
}

/// The message templates, built in and overridden, ready to render nudges and
/// replies in every [`Language`].
pub struct Templates {
    /// Every template source by name (`en/SS-04.j2`), with where it came from.
    sources: BTreeMap<String, Source>,
    /// Renders `subject` and `text`: no escaping.
    text_env: Environment<'static>,
    /// Renders `html`: HTML escaping, always.
    html_env: Environment<'static>,
    /// The zone times are shown in.
    time_zone: Tz,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates").field("names", &self.names()).field("time_zone", &self.time_zone).finish()
    }
}

/// One template's text and origin.
#[derive(Clone)]
struct Source {
    text: String,
    /// The override file it came from; `None` for a built-in one.
    file: Option<PathBuf>,
}

macro_rules! builtin {
    ($($lang:literal / $name:literal),* $(,)?) => {
        &[$((concat!($lang, "/", $name), include_str!(concat!("../templates/", $lang, "/", $name)))),*]
    };
}

/// The templates shipped with floodlight, by name.
const BUILTIN: &[(&str, &str)] = builtin![
    "en" / "base.j2",
    "en" / "default.j2",
    "en" / "reply.j2",
    "en" / "shadow_saas.j2",
    "en" / "email_forwarding.j2",
    "en" / "public_network.j2",
    "en" / "SS-01.j2",
    "en" / "SS-02.j2",
    "en" / "SS-03.j2",
    "en" / "SS-04.j2",
    "en" / "SS-05.j2",
    "en" / "SS-06.j2",
    "en" / "PF-02.j2",
    "en" / "PF-06.j2",
    "en" / "PF-07.j2",
    "en" / "WF-01.j2",
    "en" / "WF-02.j2",
    "nl" / "base.j2",
    "nl" / "default.j2",
    "nl" / "reply.j2",
    "nl" / "shadow_saas.j2",
    "nl" / "email_forwarding.j2",
    "nl" / "public_network.j2",
    "nl" / "SS-01.j2",
    "nl" / "SS-02.j2",
    "nl" / "SS-03.j2",
    "nl" / "SS-04.j2",
    "nl" / "SS-05.j2",
    "nl" / "SS-06.j2",
    "nl" / "PF-02.j2",
    "nl" / "PF-06.j2",
    "nl" / "PF-07.j2",
    "nl" / "WF-01.j2",
    "nl" / "WF-02.j2",
];

/// Templates that are building blocks, not messages: `base.j2` and names
/// starting with `_` (for an override's own macros or partials).
fn is_partial(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file == "base.j2" || file.starts_with('_')
}

impl Templates {
    /// The built-in templates, with times shown in UTC.
    pub fn builtin() -> Templates {
        let sources = BUILTIN
            .iter()
            .map(|(name, text)| (name.to_string(), Source { text: text.to_string(), file: None }))
            .collect();
        // The built-in templates are part of this crate and its tests render
        // every one of them; failing here is a bug in the crate, not input.
        Templates::build(sources, Tz::UTC).unwrap_or_else(|e| panic!("built-in nudge templates are broken: {e}"))
    }

    /// The built-in templates with the files in `dir` laid over them:
    /// `<dir>/<lang>/<name>.j2` replaces the built-in template of that name or
    /// adds a new one (e.g. `<dir>/nl/SS-07.j2` for a rule without one).
    ///
    /// Every template is parsed and test-rendered now, so a mistake is
    /// reported here — with the file and line — rather than when a nudge is
    /// sent. Files not ending in `.j2` are ignored (with a warning).
    pub fn with_overrides(dir: &Path) -> Result<Templates, TemplateError> {
        let mut sources: BTreeMap<String, Source> = BUILTIN
            .iter()
            .map(|(name, text)| (name.to_string(), Source { text: text.to_string(), file: None }))
            .collect();
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TemplateError::Read { path, source }
        };
        let mut langs: Vec<_> =
            std::fs::read_dir(dir).map_err(read_err(dir))?.collect::<Result<_, _>>().map_err(read_err(dir))?;
        langs.sort_by_key(|e| e.file_name());
        for entry in langs {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if !path.is_dir() {
                tracing::warn!(file = %path.display(), "template overrides: ignoring a file outside a language folder");
                continue;
            }
            let Some(lang) = Language::ALL.into_iter().find(|l| l.as_str() == name) else {
                return Err(TemplateError::NotALanguage { path });
            };
            let mut files: Vec<_> = std::fs::read_dir(&path)
                .map_err(read_err(&path))?
                .collect::<Result<_, _>>()
                .map_err(read_err(&path))?;
            files.sort_by_key(|e| e.file_name());
            for file in files {
                let file_path = file.path();
                let file_name = file.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                if !file_name.ends_with(".j2") || !file_path.is_file() {
                    tracing::warn!(file = %file_path.display(), "template overrides: ignoring, not a .j2 file");
                    continue;
                }
                let text = std::fs::read_to_string(&file_path).map_err(read_err(&file_path))?;
                sources.insert(format!("{lang}/{file_name}"), Source { text, file: Some(file_path) });
            }
        }
        Templates::build(sources, Tz::UTC)
    }

    /// The same templates, showing times (in `period(..)`) in `zone`, e.g.
    /// `chrono_tz::Europe::Amsterdam`. Dates given without a time are shown
    /// as they are.
    pub fn with_time_zone(self, zone: Tz) -> Templates {
        // The sources were checked when loaded; only the helpers change, so
        // this does not fail in practice. If it does, keep what works.
        match Templates::build(self.sources.clone(), zone) {
            Ok(templates) => templates,
            Err(e) => {
                tracing::error!(error = %e, zone = %zone, "templates: cannot switch time zone; keeping {}", self.time_zone);
                self
            }
        }
    }

    /// The names of all templates, sorted: `en/SS-01.j2`, …, `nl/reply.j2`.
    pub fn names(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    /// The template a nudge with these facts is rendered from, in `lang`:
    /// the rule's, else the family's, else the default.
    pub fn nudge_template(&self, lang: Language, facts: &NudgeFacts) -> String {
        [facts.rule_id.as_str(), facts.family.as_str()]
            .into_iter()
            .filter(|key| is_plain_name(key))
            .map(|key| format!("{lang}/{key}.j2"))
            .find(|name| self.sources.contains_key(name))
            .unwrap_or_else(|| format!("{lang}/default.j2"))
    }

    /// Renders the nudge for `facts` in `lang`.
    pub fn render_nudge(&self, lang: Language, facts: &NudgeFacts) -> Result<Rendered, TemplateError> {
        let name = self.nudge_template(lang, facts);
        self.render(&name, context! { lang => lang.as_str(), ..Value::from(Serde(facts)) })
    }

    /// Renders the reply to a person's explanation in `lang`.
    pub fn render_reply(&self, lang: Language, facts: &ReplyFacts) -> Result<Rendered, TemplateError> {
        let name = format!("{lang}/reply.j2");
        self.render(&name, context! { lang => lang.as_str(), ..Value::from(Serde(facts)) })
    }

    /// Compiles `sources` into the two environments and test-renders every
    /// message template.
    fn build(sources: BTreeMap<String, Source>, time_zone: Tz) -> Result<Templates, TemplateError> {
        let mut text_env = environment(false, time_zone);
        let mut html_env = environment(true, time_zone);
        for (name, source) in &sources {
            for env in [&mut text_env, &mut html_env] {
                env.add_template_owned(name.clone(), source.text.clone()).map_err(|e| TemplateError::Syntax {
                    file: describe(&sources, e.name().unwrap_or(name)),
                    line: e.line().unwrap_or(0),
                    detail: detail(&e),
                })?;
            }
        }
        let templates = Templates { sources, text_env, html_env, time_zone };
        templates.check()?;
        Ok(templates)
    }

    /// Renders every message template with example facts, all present and
    /// all absent, so mistakes surface at load time.
    fn check(&self) -> Result<(), TemplateError> {
        for name in self.sources.keys().filter(|n| !is_partial(n)) {
            let lang = name.split('/').next().and_then(|l| l.parse::<Language>().ok()).unwrap_or(Language::En);
            let is_reply = name.ends_with("/reply.j2");
            for full in [true, false] {
                let ctx = if is_reply {
                    context! { lang => lang.as_str(), ..Value::from(Serde(example_reply(full))) }
                } else {
                    context! { lang => lang.as_str(), ..Value::from(Serde(example_nudge(full))) }
                };
                self.render(name, ctx)?;
            }
        }
        Ok(())
    }

    fn render(&self, name: &str, ctx: Value) -> Result<Rendered, TemplateError> {
        let mut plain = self.render_blocks(&self.text_env, name, &["subject", "text"], ctx.clone())?.into_iter();
        let mut html = self.render_blocks(&self.html_env, name, &["html"], ctx)?.into_iter();
        let (subject, text, html) =
            (plain.next().unwrap_or_default(), plain.next().unwrap_or_default(), html.next().unwrap_or_default());
        Ok(Rendered { subject: one_line(&subject), text: tidy(&text), html: tidy(&html) })
    }

    /// Renders the named blocks of one template in `env`.
    fn render_blocks(
        &self,
        env: &Environment<'static>,
        name: &str,
        blocks: &[&str],
        ctx: Value,
    ) -> Result<Vec<String>, TemplateError> {
        let fail = |e: minijinja::Error| TemplateError::Render {
            file: describe(&self.sources, e.name().unwrap_or(name)),
            line: e.line().unwrap_or(0),
            detail: detail(&e),
        };
        let template = env.get_template(name).map_err(fail)?;
        // Runs the whole template once (its output is not used) and keeps the
        // state, from which each block is rendered on its own.
        let mut captured = template.render_captured(ctx).map_err(fail)?;
        let mut out = Vec::with_capacity(blocks.len());
        for block in blocks {
            let rendered = captured.with_state_mut(|state| state.render_block(block)).map_err(|e| {
                if e.kind() == minijinja::ErrorKind::UnknownBlock {
                    TemplateError::Render {
                        file: describe(&self.sources, name),
                        line: 0,
                        detail: format!(
                            "it has no `{block}` block; every message template needs `subject`, `text` and `html` \
                             (extend \"{}/base.j2\" to get them)",
                            name.split('/').next().unwrap_or("en")
                        ),
                    }
                } else {
                    fail(e)
                }
            })?;
            out.push(rendered);
        }
        Ok(out)
    }
}

/// Names a template for an error message: its override file, or `built-in <name>`.
fn describe(sources: &BTreeMap<String, Source>, name: &str) -> String {
    match sources.get(name).and_then(|s| s.file.as_ref()) {
        Some(file) => file.display().to_string(),
        None => format!("built-in {name}"),
    }
}

/// A MiniJinja error's message with its chain of causes (errors in an
/// extended or included template come as a cause).
fn detail(e: &minijinja::Error) -> String {
    let mut out = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        match c.downcast_ref::<minijinja::Error>() {
            Some(inner) => {
                let place = match (inner.name(), inner.line()) {
                    (Some(n), Some(l)) => format!(" (in {n} line {l})"),
                    (Some(n), None) => format!(" (in {n})"),
                    _ => String::new(),
                };
                out.push_str(&format!("; caused by {}{place}", inner.detail().unwrap_or("")));
            }
            None => out.push_str(&format!("; caused by {c}")),
        }
        cause = c.source();
    }
    out
}

/// A rule id or family usable in a template name: no path tricks.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Folds a subject onto one line: any run of whitespace (newlines included)
/// becomes one space; control characters go.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect()
}

/// Trims trailing spaces from every line, collapses runs of blank lines into
/// one, and trims the whole; ends with one newline.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out.push('\n');
    out
}

/// One environment with the helpers; `html` turns HTML escaping on for every template.
fn environment(html: bool, zone: Tz) -> Environment<'static> {
    let mut env = Environment::new();
    let escape = if html { AutoEscape::Html } else { AutoEscape::None };
    env.set_auto_escape_callback(move |_| escape.clone());
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_global("html", html);
    env.add_filter("filesize", |state: &State, bytes: Option<i64>| {
        bytes.map(|b| filesize(lang_of(state), b)).unwrap_or_default()
    });
    env.add_filter("number", |state: &State, n: Option<i64>| n.map(|n| number(lang_of(state), n)).unwrap_or_default());
    env.add_filter("plural", |state: &State, n: Option<i64>, one: String, many: String| {
        n.map(|n| format!("{} {}", number(lang_of(state), n), if n == 1 { one } else { many })).unwrap_or_default()
    });
    env.add_filter("longdate", move |state: &State, s: Option<String>| {
        s.map(|s| match parse_moment(&s) {
            Some(m) => long_date(lang_of(state), m.local_date(zone)),
            None => s,
        })
        .unwrap_or_default()
    });
    env.add_function("period", move |state: &State, first: Option<String>, last: Option<String>| {
        period(lang_of(state), zone, first.as_deref(), last.as_deref())
    });
    env.add_function("href", move |url: Option<String>| {
        let url = url.as_deref().filter(|u| is_linkable(u)).map(escape_html).unwrap_or_else(|| "#".to_string());
        if html {
            Value::from_safe_string(url)
        } else {
            Value::from(url)
        }
    });
    env.add_function("link", move |url: Option<String>, label: String| {
        match url.as_deref().filter(|u| is_linkable(u)) {
            Some(url) if html => {
                Value::from_safe_string(format!("<a href=\"{}\">{}</a>", escape_html(url), escape_html(&label)))
            }
            Some(url) if url == label => Value::from(label),
            Some(url) => Value::from(format!("{label} ({url})")),
            None => Value::from(label),
        }
    });
    env
}

/// The language the template is rendered in (the `lang` variable).
fn lang_of(state: &State) -> Language {
    state.lookup("lang").and_then(|v| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(Language::En)
}

/// A URL worth linking to: http, https or mailto, no whitespace.
fn is_linkable(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Escapes text for HTML content and double- or single-quoted attributes.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` as `1,234,567` (English) or `1.234.567` (Dutch).
fn number(lang: Language, n: i64) -> String {
    let sep = match lang {
        Language::En => ',',
        Language::Nl => '.',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(d);
    }
    out
}

/// A byte count the way people say it, in decimal units: `512 bytes`,
/// `2.1 GB`, `350 MB` (`2,1 GB` in Dutch). One decimal below 10, none above.
fn filesize(lang: Language, bytes: i64) -> String {
    const UNITS: [&str; 6] = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    if bytes.unsigned_abs() < 1000 {
        return if bytes == 1 { "1 byte".to_string() } else { format!("{bytes} bytes") };
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    // Step up while the value would round to 1000 or more in this unit.
    while unit + 1 < UNITS.len() && value.abs() >= 999.5 {
        value /= 1000.0;
        unit += 1;
    }
    let shown = if value.abs() < 9.95 { format!("{value:.1}") } else { format!("{value:.0}") };
    let shown = shown.strip_suffix(".0").map(str::to_string).unwrap_or(shown);
    let shown = match lang {
        Language::En => shown,
        Language::Nl => shown.replace('.', ","),
    };
    format!("{shown} {}", UNITS[unit])
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// `1 May 2030` or `1 mei 2030`.
fn long_date(lang: Language, d: NaiveDate) -> String {
    use chrono::Datelike;
    let months = match lang {
        Language::En => &MONTHS_EN,
        Language::Nl => &MONTHS_NL,
    };
    format!("{} {} {}", d.day(), months[d.month0() as usize], d.year())
}

/// A timestamp or a bare date from the facts.
#[derive(Clone, Copy)]
enum Moment {
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl Moment {
    fn local_date(self, zone: Tz) -> NaiveDate {
        match self {
            Moment::Date(d) => d,
            Moment::Time(t) => t.with_timezone(&zone).date_naive(),
        }
    }
}

/// Reads RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` (taken as UTC, `T` allowed
/// instead of the space) or `YYYY-MM-DD`.
fn parse_moment(s: &str) -> Option<Moment> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Moment::Time(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(Moment::Time(t.and_utc()));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Moment::Date)
}

/// When something was seen, as a phrase to follow a verb: `on 5 March 2025
/// at 10:12 (CET)`, `on 5 March 2025 between 10:12 and 11:40 (CET)`,
/// `between 3 March 2025 and 5 March 2025`; empty when neither end is known.
fn period(lang: Language, zone: Tz, first: Option<&str>, last: Option<&str>) -> String {
    let (on, at, between, and) = match lang {
        Language::En => ("on", "at", "between", "and"),
        Language::Nl => ("op", "om", "tussen", "en"),
    };
    let first = first.map(str::trim).filter(|s| !s.is_empty());
    let last = last.map(str::trim).filter(|s| !s.is_empty());
    let (first, last) = match (first, last) {
        (None, None) => return String::new(),
        (Some(a), None) | (None, Some(a)) => (a, a),
        (Some(a), Some(b)) => (a, b),
    };
    let (a, b) = match (parse_moment(first), parse_moment(last)) {
        (Some(a), Some(b)) => (a, b),
        // Not a form we read: show it as given.
        _ if first == last => return format!("{on} {first}"),
        _ => return format!("{between} {first} {and} {last}"),
    };
    let (da, db) = (a.local_date(zone), b.local_date(zone));
    if da != db {
        return format!("{between} {} {and} {}", long_date(lang, da), long_date(lang, db));
    }
    let clock = |t: DateTime<Utc>| t.with_timezone(&zone).format("%H:%M").to_string();
    let zone_name = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Z").to_string();
    match (a, b) {
        (Moment::Time(ta), Moment::Time(tb)) if clock(ta) != clock(tb) => {
            format!("{on} {} {between} {} {and} {} ({})", long_date(lang, da), clock(ta), clock(tb), zone_name(tb))
        }
        (Moment::Time(t), _) | (_, Moment::Time(t)) => {
            format!("{on} {} {at} {} ({})", long_date(lang, da), clock(t), zone_name(t))
        }
        _ => format!("{on} {}", long_date(lang, da)),
    }
}

/// Example facts for checking templates at load time (and for tests):
/// every optional fact present, or every one absent.
fn example_nudge(full: bool) -> NudgeFacts {
    let some = |s: &str| full.then(|| s.to_string());
    NudgeFacts {
        rule_id: "SS-00".into(),
        rule_title: "Example rule".into(),
        family: "shadow_saas".into(),
        severity: "medium".into(),
        person_name: some("Ana"),
        app_name: some("ExampleApp"),
        app_category: some("File transfer"),
        alternative_name: some("OneDrive"),
        alternative_url: some("https://intranet.example.com/onedrive"),
        event_count: full.then_some(14),
        bytes: full.then_some(2_147_483_648),
        first_seen: some("2025-03-05T09:12:00Z"),
        last_seen: some("2025-03-05T10:40:00Z"),
        explain_url: "https://floodlight.example.com/explain/TOKEN".into(),
        link_expires: "2025-03-19".into(),
        organisation: "Corp IT".into(),
    }
}

fn example_reply(full: bool) -> ReplyFacts {
    let some = |s: &str| full.then(|| s.to_string());
    ReplyFacts {
        person_name: some("Ana"),
        app_name: "ExampleApp".into(),
        outcome: if full { ReplyOutcome::Granted { until: "2025-06-30".into() } } else { ReplyOutcome::Declined },
        reply: some("Fine for the Q2 project, thanks for asking."),
        alternative_name: some("OneDrive"),
        alternative_url: some("https://intranet.example.com/onedrive"),
        organisation: "Corp IT".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: [&str; 11] =
        ["SS-01", "SS-02", "SS-03", "SS-04", "SS-05", "SS-06", "PF-02", "PF-06", "PF-07", "WF-01", "WF-02"];

    fn family_of(rule: &str) -> &'static str {
        match &rule[..2] {
            "SS" => "shadow_saas",
            "PF" => "email_forwarding",
            "WF" => "public_network",
            _ => "other",
        }
    }

    fn facts(rule: &str, family: &str, full: bool) -> NudgeFacts {
        NudgeFacts { rule_id: rule.into(), family: family.into(), ..example_nudge(full) }
    }

    /// Signs of a fact left out clumsily: a printed none, template syntax,
    /// doubled spaces, empty brackets, space before punctuation.
    fn assert_clean(what: &str, s: &str) {
        for word in s.split(|c: char| !c.is_alphanumeric()) {
            assert!(!word.eq_ignore_ascii_case("none") && word != "undefined", "{what}: {word:?} in\n{s}");
        }
        for bad in ["{{", "}}", "{%", "%}", "  ", "()", " .", " ,", " :", ",.", "..", ": ."] {
            assert!(!s.contains(bad), "{what}: {bad:?} in\n{s}");
        }
    }

    #[test]
    fn every_shipped_template_renders_with_all_facts_and_with_none() {
        let t = Templates::builtin();
        let mut seen_paragraphs = std::collections::HashSet::new();
        let mut cases: Vec<(String, String)> =
            RULES.iter().map(|r| (r.to_string(), family_of(r).to_string())).collect();
        for family in ["shadow_saas", "email_forwarding", "public_network"] {
            cases.push(("XX-99".into(), family.into()));
        }
        cases.push(("XX-99".into(), "other".into()));
        for lang in Language::ALL {
            let (size, expiry) = match lang {
                Language::En => ("2.1 GB", "19 March 2025"),
                Language::Nl => ("2,1 GB", "19 maart 2025"),
            };
            for (rule, family) in &cases {
                for full in [true, false] {
                    let what = format!("{lang} {rule}/{family} full={full}");
                    let f = facts(rule, family, full);
                    let r = t.render_nudge(lang, &f).unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert!(!r.subject.is_empty() && !r.subject.contains('\n'), "{what}: subject {:?}", r.subject);
                    assert_clean(&what, &r.subject);
                    assert_clean(&what, &r.text);
                    assert!(r.text.contains(&f.explain_url), "{what}: no link in text\n{}", r.text);
                    assert!(r.text.contains(expiry), "{what}: no expiry date in text\n{}", r.text);
                    assert!(r.text.contains("Corp IT"), "{what}");
                    assert!(
                        r.html.contains(r#"<a href="https://floodlight.example.com/explain/TOKEN""#),
                        "{what}: no explain link in html\n{}",
                        r.html
                    );
                    assert!(r.html.starts_with("<!DOCTYPE html>") && r.html.trim_end().ends_with("</html>"), "{what}");
                    assert!(!r.html.contains("{{") && !r.html.contains("{%"), "{what}");
                    let privacy = match lang {
                        Language::En => "Only IT sees your answer.",
                        Language::Nl => "Alleen IT ziet je antwoord.",
                    };
                    assert!(r.text.contains(privacy) && r.html.contains(privacy), "{what}");
                    if full {
                        for fact in ["Ana", "ExampleApp", "OneDrive", "https://intranet.example.com/onedrive"] {
                            assert!(r.text.contains(fact), "{what}: {fact} missing from text\n{}", r.text);
                            assert!(r.html.contains(fact), "{what}: {fact} missing from html");
                        }
                        assert!(
                            r.html.contains(r#"<a href="https://intranet.example.com/onedrive">OneDrive</a>"#),
                            "{what}"
                        );
                        let day = if lang == Language::En { "5 March 2025" } else { "5 maart 2025" };
                        assert!(r.text.contains(day), "{what}: no date seen\n{}", r.text);
                    } else {
                        for fact in ["Ana", "ExampleApp", "OneDrive", "intranet", "GB", "14"] {
                            assert!(!r.text.contains(fact), "{what}: {fact} in text without facts\n{}", r.text);
                            assert!(!r.html.contains(fact), "{what}: {fact} in html without facts");
                        }
                        // The "instead" paragraph is gone, not empty.
                        assert!(!r.html.contains("<p></p>") && !r.html.contains("<p> </p>"), "{what}");
                    }
                    // Each rule's "what we saw" is its own.
                    let seen = r.text.split("\n\n").nth(1).unwrap_or_default().to_string();
                    if full && rule != "XX-99" {
                        assert!(seen_paragraphs.insert(seen.clone()), "{what}: same paragraph as another rule: {seen}");
                    }
                    // Sizes only where the rule speaks of them.
                    if full && ["SS-02", "SS-03", "SS-04", "PF-06"].contains(&rule.as_str()) {
                        assert!(r.text.contains(size), "{what}: no {size}\n{}", r.text);
                    }
                }
            }
        }
    }

    #[test]
    fn every_template_is_shipped_in_both_languages() {
        let names = Templates::builtin().names();
        let en: Vec<_> = names.iter().filter_map(|n| n.strip_prefix("en/")).collect();
        let nl: Vec<_> = names.iter().filter_map(|n| n.strip_prefix("nl/")).collect();
        assert_eq!(en, nl);
        for rule in RULES {
            assert!(en.contains(&format!("{rule}.j2").as_str()), "{rule}");
        }
        for name in ["base.j2", "default.j2", "reply.j2", "shadow_saas.j2", "email_forwarding.j2", "public_network.j2"]
        {
            assert!(en.contains(&name), "{name}");
        }
    }

    #[test]
    fn the_rule_template_wins_then_the_family_then_the_default() {
        let t = Templates::builtin();
        assert_eq!(t.nudge_template(Language::En, &facts("SS-04", "shadow_saas", true)), "en/SS-04.j2");
        assert_eq!(t.nudge_template(Language::Nl, &facts("SS-04", "shadow_saas", true)), "nl/SS-04.j2");
        assert_eq!(t.nudge_template(Language::En, &facts("SS-77", "shadow_saas", true)), "en/shadow_saas.j2");
        assert_eq!(t.nudge_template(Language::En, &facts("PF-77", "email_forwarding", true)), "en/email_forwarding.j2");
        assert_eq!(t.nudge_template(Language::Nl, &facts("WF-77", "public_network", true)), "nl/public_network.j2");
        assert_eq!(t.nudge_template(Language::En, &facts("ZZ-01", "mystery", true)), "en/default.j2");
        // Ids that could climb out of the language folder are not used as names.
        assert_eq!(t.nudge_template(Language::En, &facts("../nl/SS-04", "../x", true)), "en/default.j2");
        assert_eq!(t.nudge_template(Language::En, &facts("base", "x", true)), "en/base.j2");
        // The texts differ accordingly.
        let rule = t.render_nudge(Language::En, &facts("SS-04", "shadow_saas", true)).unwrap();
        let family = t.render_nudge(Language::En, &facts("SS-77", "shadow_saas", true)).unwrap();
        let default = t.render_nudge(Language::En, &facts("ZZ-01", "mystery", true)).unwrap();
        assert!(rule.text.contains("converters"), "{}", rule.text);
        assert!(family.text.contains("not on our list of approved tools"), "{}", family.text);
        assert!(default.text.contains("“Example rule”"), "{}", default.text);
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::builtin();
        let f = NudgeFacts {
            person_name: Some("<b>Ana & Co</b>".into()),
            app_name: Some("<script>alert(1)</script>".into()),
            alternative_name: Some("Drive \"Pro\"".into()),
            alternative_url: Some("https://x.example/a?b=1&c=\"><img/src=x>".into()),
            ..facts("SS-01", "shadow_saas", true)
        };
        for lang in Language::ALL {
            let r = t.render_nudge(lang, &f).unwrap();
            assert!(r.text.contains("<b>Ana & Co</b>"), "{}", r.text);
            assert!(r.text.contains("<script>alert(1)</script>"), "{}", r.text);
            assert!(r.subject.contains("<script>alert(1)</script>"), "{}", r.subject);
            assert!(!r.text.contains("&lt;") && !r.text.contains("&amp;"), "{}", r.text);
            assert!(
                !r.html.contains("<b>Ana") && !r.html.contains("<script>") && !r.html.contains("<img"),
                "{}",
                r.html
            );
            assert!(r.html.contains("&lt;b&gt;Ana &amp; Co&lt;"), "{}", r.html);
            assert!(r.html.contains("&lt;script&gt;alert(1)&lt;"), "{}", r.html);
            assert!(
                r.html.contains(
                    r#"<a href="https://x.example/a?b=1&amp;c=&quot;&gt;&lt;img/src=x&gt;">Drive &quot;Pro&quot;</a>"#
                ),
                "{}",
                r.html
            );
        }
    }

    #[test]
    fn only_web_and_mail_links_are_linked() {
        let t = Templates::builtin();
        let f =
            NudgeFacts { alternative_url: Some("javascript:alert(1)".into()), ..facts("SS-01", "shadow_saas", true) };
        let r = t.render_nudge(Language::En, &f).unwrap();
        assert!(!r.html.contains("javascript:") && !r.text.contains("javascript:"), "{}", r.html);
        assert!(r.html.contains("use OneDrive instead"), "{}", r.html);
        let f = NudgeFacts { explain_url: "javascript:alert(1)".into(), ..f };
        let r = t.render_nudge(Language::En, &f).unwrap();
        assert!(!r.html.contains(r#"href="javascript"#), "{}", r.html);
    }

    #[test]
    fn subject_is_one_line() {
        let t = Templates::builtin();
        let f = NudgeFacts {
            app_name: Some("Evil\r\nBcc: x@example.com\n\nApp".into()),
            ..facts("SS-01", "shadow_saas", true)
        };
        let r = t.render_nudge(Language::En, &f).unwrap();
        assert_eq!(r.subject, "A quick question about Evil Bcc: x@example.com App");
        assert_eq!(one_line("  a\n\tb \r\n c  "), "a b c");
    }

    #[test]
    fn replies_render_granted_and_declined() {
        let t = Templates::builtin();
        let granted = example_reply(true);
        let declined = ReplyFacts {
            outcome: ReplyOutcome::Declined,
            reply: Some("Please use <OneDrive> & delete the copies.\nThanks!".into()),
            ..example_reply(true)
        };
        let en = t.render_reply(Language::En, &granted).unwrap();
        assert_eq!(en.subject, "About your explanation for ExampleApp");
        assert!(en.text.contains("you may keep using it until 30 June 2025"), "{}", en.text);
        assert!(en.text.contains("Fine for the Q2 project"), "{}", en.text);
        let nl = t.render_reply(Language::Nl, &granted).unwrap();
        assert!(nl.text.contains("tot 30 juni 2025"), "{}", nl.text);
        let en = t.render_reply(Language::En, &declined).unwrap();
        assert!(en.text.contains("cannot approve it"), "{}", en.text);
        assert!(en.text.contains("Please use OneDrive (https://intranet.example.com/onedrive) instead"), "{}", en.text);
        assert!(en.text.contains("Please use <OneDrive> & delete the copies.\nThanks!"), "{}", en.text);
        assert!(en.html.contains("Please use &lt;OneDrive&gt; &amp; delete the copies."), "{}", en.html);
        let nl = t.render_reply(Language::Nl, &declined).unwrap();
        assert!(nl.text.contains("helaas niet goedkeuren"), "{}", nl.text);
        for lang in Language::ALL {
            for full in [true, false] {
                let r = t.render_reply(lang, &example_reply(full)).unwrap();
                assert_clean(&format!("reply {lang} {full}"), &r.text);
                if !full {
                    assert!(
                        !r.text.contains("Ana") && !r.text.contains("OneDrive") && !r.text.contains("IT:"),
                        "{}",
                        r.text
                    );
                }
            }
        }
        let json = serde_json::to_value(&granted.outcome).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "granted", "until": "2025-06-30"}));
        assert_eq!(serde_json::to_value(ReplyOutcome::Declined).unwrap(), serde_json::json!({"kind": "declined"}));
    }

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn overrides_replace_and_add_templates() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "en/SS-04.j2",
            "{% extends \"en/base.j2\" %}{% block seen %}Our own words about {{ app_name }}.{% endblock %}",
        );
        write(
            dir.path(),
            "nl/SS-99.j2",
            "{% extends \"nl/base.j2\" %}{% block subject %}Nieuwe regel{% endblock %}{% block risk %}Eigen risico.{% endblock %}",
        );
        write(dir.path(), "README.md", "not a template");
        write(dir.path(), "en/notes.txt", "ignored");
        let t = Templates::with_overrides(dir.path()).unwrap();
        let r = t.render_nudge(Language::En, &facts("SS-04", "shadow_saas", true)).unwrap();
        assert!(r.text.contains("Our own words about ExampleApp."), "{}", r.text);
        assert!(r.text.contains("Tools that IT has not checked"), "base risk kept: {}", r.text);
        // Dutch SS-04 is still the built-in one.
        let nl = t.render_nudge(Language::Nl, &facts("SS-04", "shadow_saas", true)).unwrap();
        assert!(nl.text.contains("converters"), "{}", nl.text);
        let added = t.render_nudge(Language::Nl, &facts("SS-99", "shadow_saas", true)).unwrap();
        assert_eq!(added.subject, "Nieuwe regel");
        assert!(added.text.contains("Eigen risico."), "{}", added.text);
        assert!(t.names().contains(&"nl/SS-99.j2".to_string()));
        assert!(!t.names().iter().any(|n| n.contains("notes")));
    }

    #[test]
    fn a_base_override_changes_every_message() {
        let dir = tempfile::tempdir().unwrap();
        let base = include_str!("../templates/en/base.j2").replace("Thank you,", "Cheers,");
        write(dir.path(), "en/base.j2", &base);
        let t = Templates::with_overrides(dir.path()).unwrap();
        for rule in RULES {
            let r = t.render_nudge(Language::En, &facts(rule, family_of(rule), true)).unwrap();
            assert!(r.text.contains("Cheers,\nCorp IT"), "{rule}: {}", r.text);
        }
    }

    #[test]
    fn a_syntax_error_fails_at_load_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "en/SS-04.j2",
            "{% extends \"en/base.j2\" %}\n{% block seen %}\nWe saw {{ app_name \n{% endblock %}\n",
        );
        let err = Templates::with_overrides(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TemplateError::Syntax { line: 3 | 4, .. }), "{err:?}");
        assert!(msg.contains(&dir.path().join("en/SS-04.j2").display().to_string()), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn a_typo_in_a_variable_fails_at_load() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "nl/PF-02.j2",
            "{% extends \"nl/base.j2\" %}\n{% block seen %}We zagen {{ app_nmae }}.{% endblock %}\n",
        );
        let err = Templates::with_overrides(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TemplateError::Render { line: 2, .. }), "{err:?}");
        assert!(msg.contains("PF-02.j2") && msg.contains("app_nmae"), "{msg}");
    }

    #[test]
    fn extending_a_missing_template_fails_at_load() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/SS-01.j2", "{% extends \"en/bsae.j2\" %}");
        let msg = Templates::with_overrides(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("SS-01.j2") && msg.contains("bsae"), "{msg}");
    }

    #[test]
    fn a_template_without_the_blocks_fails_at_load() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/SS-01.j2", "Just some text for {{ app_name }}.");
        let msg = Templates::with_overrides(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("SS-01.j2") && msg.contains("`subject`") && msg.contains("en/base.j2"), "{msg}");
    }

    #[test]
    fn partials_are_not_rendered_on_their_own() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/_macros.j2", "{% macro shout(s) %}{{ s|upper }}!{% endmacro %}");
        write(
            dir.path(),
            "en/SS-01.j2",
            "{% extends \"en/base.j2\" %}{% block seen %}{% from \"en/_macros.j2\" import shout %}{{ shout(app_name or \"an app\") }}{% endblock %}",
        );
        let t = Templates::with_overrides(dir.path()).unwrap();
        let r = t.render_nudge(Language::En, &facts("SS-01", "shadow_saas", true)).unwrap();
        assert!(r.text.contains("EXAMPLEAPP!"), "{}", r.text);
    }

    #[test]
    fn unknown_language_folders_and_missing_dirs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "de/SS-01.j2", "x");
        let err = Templates::with_overrides(dir.path()).unwrap_err();
        assert!(matches!(err, TemplateError::NotALanguage { .. }), "{err:?}");
        assert!(err.to_string().contains("en/ or nl/"), "{err}");
        let err = Templates::with_overrides(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, TemplateError::Read { .. }), "{err:?}");
    }

    #[test]
    fn languages_parse_by_primary_subtag() {
        for (s, l) in [("en", Language::En), ("EN", Language::En), ("en-GB", Language::En), ("en_us", Language::En)] {
            assert_eq!(s.parse::<Language>().unwrap(), l, "{s}");
        }
        for s in ["nl", "NL", "nl-NL", "nl-BE", " Nl "] {
            assert_eq!(s.parse::<Language>().unwrap(), Language::Nl, "{s}");
        }
        for s in ["", "de", "fr-FR", "english", "e"] {
            let err = s.parse::<Language>().unwrap_err();
            assert!(err.to_string().contains("en, nl"), "{err}");
        }
        assert_eq!(Language::Nl.to_string(), "nl");
        assert_eq!(Language::En.as_str(), "en");
    }

    #[test]
    fn sizes_read_like_people_say_them() {
        let cases = [
            (0, "0 bytes", "0 bytes"),
            (1, "1 byte", "1 byte"),
            (999, "999 bytes", "999 bytes"),
            (1_000, "1 kB", "1 kB"),
            (1_500, "1.5 kB", "1,5 kB"),
            (999_499, "999 kB", "999 kB"),
            (999_600, "1 MB", "1 MB"),
            (12_345_678, "12 MB", "12 MB"),
            (2_147_483_648, "2.1 GB", "2,1 GB"),
            (9_960_000_000, "10 GB", "10 GB"),
            (350_000_000_000, "350 GB", "350 GB"),
            (4_200_000_000_000, "4.2 TB", "4,2 TB"),
        ];
        for (bytes, en, nl) in cases {
            assert_eq!(filesize(Language::En, bytes), en, "{bytes}");
            assert_eq!(filesize(Language::Nl, bytes), nl, "{bytes}");
        }
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(number(Language::En, 0), "0");
        assert_eq!(number(Language::En, 999), "999");
        assert_eq!(number(Language::En, 1234), "1,234");
        assert_eq!(number(Language::Nl, 1234567), "1.234.567");
        assert_eq!(number(Language::En, -1234), "-1,234");
    }

    #[test]
    fn periods_read_naturally() {
        let utc = Tz::UTC;
        let ams = chrono_tz::Europe::Amsterdam;
        let p = |lang, zone, a: Option<&str>, b: Option<&str>| period(lang, zone, a, b);
        assert_eq!(p(Language::En, utc, None, None), "");
        assert_eq!(p(Language::En, utc, Some("2025-03-05T09:12:00Z"), None), "on 5 March 2025 at 09:12 (UTC)");
        assert_eq!(p(Language::Nl, ams, Some("2025-03-05T09:12:00Z"), None), "op 5 maart 2025 om 10:12 (CET)");
        assert_eq!(p(Language::Nl, ams, None, Some("2025-07-05 09:12:00")), "op 5 juli 2025 om 11:12 (CEST)");
        assert_eq!(
            p(Language::En, ams, Some("2025-03-05T09:12:00Z"), Some("2025-03-05T10:40:30+00:00")),
            "on 5 March 2025 between 10:12 and 11:40 (CET)"
        );
        assert_eq!(
            p(Language::Nl, utc, Some("2025-03-03"), Some("2025-03-05T10:40:00Z")),
            "tussen 3 maart 2025 en 5 maart 2025"
        );
        assert_eq!(p(Language::En, utc, Some("2025-03-03"), Some("2025-03-03")), "on 3 March 2025");
        // Local midnight moves the day.
        assert_eq!(p(Language::En, ams, Some("2025-03-04T23:30:00Z"), None), "on 5 March 2025 at 00:30 (CET)");
        assert_eq!(p(Language::En, utc, Some("yesterday"), None), "on yesterday");
        assert_eq!(p(Language::Nl, utc, Some("gisteren"), Some("vandaag")), "tussen gisteren en vandaag");
    }

    #[test]
    fn the_time_zone_applies_to_rendered_messages() {
        let t = Templates::builtin().with_time_zone(chrono_tz::Europe::Amsterdam);
        let r = t.render_nudge(Language::Nl, &facts("SS-01", "shadow_saas", true)).unwrap();
        assert!(r.text.contains("op 5 maart 2025 tussen 10:12 en 11:40 (CET)"), "{}", r.text);
    }

    #[test]
    fn tidy_collapses_blank_lines() {
        assert_eq!(tidy("\n\n a  \n\n\n\nb\nc \n\n"), " a\n\nb\nc\n");
    }
}
