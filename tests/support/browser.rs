//! Headless Chromium for integration tests, driven through ChromeDriver with
//! [`fantoccini`] (a WebDriver client).
//!
//! ```ignore
//! #[path = "common/browser.rs"]
//! mod browser;
//! use browser::Browser;
//!
//! #[tokio::test]
//! async fn console_lists_findings() -> anyhow::Result<()> {
//!     let b = Browser::start(1280, 800).await?;
//!     b.goto(&format!("http://127.0.0.1:{port}/findings")).await?;
//!     b.find("table#findings").await?;              // waits up to 10 s
//!     b.fill("input[name=q]", "dropbox").await?;
//!     b.select("select[name=severity]", "high").await?;
//!     b.click("form#search button[type=submit]").await?;
//!     b.wait_for_text("dropbox.com").await?;
//!     b.screenshot("findings-desktop").await?;    // fails if the page is blank
//!     b.resize(390, 844).await?;
//!     b.screenshot("findings-phone").await?;
//!     b.close().await
//! }
//! ```
//!
//! Everything else is one call on `b.client` (a [`fantoccini::Client`]) or on an
//! [`Element`] (`b.find(css)` returns one):
//!
//! * **Submit a form**: click its button, `b.click("form#login button[type=submit]")`, which
//!   is what a person does and fires the form's submit handlers. Without a button:
//!   `b.client.form(Locator::Css("form#login")).await?.submit_direct().await?`
//!   (`.submit()` clicks the first `input[type=submit]`/`button[type=submit]`). After a submit,
//!   wait for something on the next page (`b.find(..)`, `b.wait_for_text(..)`,
//!   `b.wait_for_path(..)`) before asserting on it.
//! * **Choose an option in a `<select>`**: `b.select(css, value)` picks by the option's
//!   `value` attribute; by visible text: `b.find(css).await?.select_by_label("High").await?`;
//!   by position: `.select_by_index(2)`.
//! * **An attribute**: `b.find(css).await?.attr("href").await?` gives `Option<String>` as
//!   written in the HTML; `.prop("value")` gives the live DOM property (what an input holds
//!   now, `checked`, ...). Text of one element: `.text()`; its HTML: `.html(false)`;
//!   whether it shows: `.is_displayed()`; its computed style: `.css_value("display")`.
//! * **Several elements**: `b.client.find_all(Locator::Css("tbody tr")).await?` (no waiting;
//!   call `b.find(..)` first if the page may still be loading).
//! * **Run JavaScript**: `b.client.execute("return document.title", vec![]).await?` gives a
//!   `serde_json::Value`; arguments go in the `Vec` and are `arguments[0]`, ...
//! * **Cookies**: `b.cookie("session").await?` gives `Option<Cookie>` (the [`cookie`] crate's
//!   type). Flags as WebDriver reports them: `c.http_only() == Some(true)`,
//!   `c.same_site().is_some_and(|s| s.is_strict())` (`SameSite` also has `is_lax()` and
//!   `is_none()`; or compare `s.to_string()` with `"Strict"`), `c.secure()`, `c.path()`.
//!   WebDriver sees HttpOnly cookies (page scripts do not), but only those that apply to the
//!   **current page's URL**: navigate to a page of the server first, and use the same host
//!   spelling (`127.0.0.1` vs `localhost` are different cookie hosts).
//! * **Where the browser is**: `b.current_url().await?` (a `String`); `b.wait_for_path("/x")`
//!   waits for a redirect to land.
//!
//! Screenshots go to `$FLOODLIGHT_SCREENSHOTS`, else `<crate>/target/screenshots`
//! (change with [`Browser::set_screenshot_dir`]); open one with an image viewer to see what the
//! test saw. Each test should use its own screenshot names: tests run in parallel.
//!
//! Chromium reaches only `localhost`, `127.0.0.1` and `[::1]`, so that it never tries the
//! network (see `CHROMIUM_ARGS`): any other name or address fails at once with
//! `net::ERR_NAME_NOT_RESOLVED`. Open the server under test as `http://127.0.0.1:PORT`. To
//! allow more (a test host in a network namespace), pass a replacement rule to
//! [`Browser::start_with_args`], e.g.
//! `"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 10.200.0.2"`.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages (and a font, `fonts-dejavu-core`):
//! `deploy/install-system-packages.sh` installs them. `FLOODLIGHT_CHROMEDRIVER` and
//! `FLOODLIGHT_CHROMIUM` point at other binaries (the two must be the same major version);
//! `FLOODLIGHT_CHROMIUM_ARGS` adds Chromium flags (split on whitespace), e.g.
//! `--log-net-log=/tmp/net.json` to see every request Chromium makes.
//!
//! [`cookie`]: https://docs.rs/cookie/0.18
#![allow(dead_code)] // the console and nudge tests each use a subset of the helpers

use std::collections::HashMap;
use std::io::{Cursor, Read as _};
use std::net::TcpListener as StdTcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long the helpers wait for an element, a text or a URL.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long ChromeDriver may take to answer on its port.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Navigation timeout of the session (WebDriver's default is 300 s).
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A screenshot is "not blank" when at least this share of its pixels differ from its most
/// common colour (the background). Measured at 1280x800 (DejaVu Sans): a white page 0, one
/// line of 16 px text 0.0010, an h1 + 3-row bordered table + one-line form 0.0195, the same
/// page at 390x844 0.061. 0.004 is about 4 lines of text on 1280x800.
pub const MIN_NON_BACKGROUND_RATIO: f64 = 0.004;
/// ... and it has at least this many distinct colours. Anti-aliased text alone gives hundreds
/// (one line: 204, the page above: 520), so this only catches flat blocks of colour without
/// text (an error overlay, a solid page).
pub const MIN_DISTINCT_COLOURS: usize = 16;

const INSTALL_HINT: &str = "run `deploy/install-system-packages.sh` (Debian packages chromium, \
                            chromium-driver, fonts-dejavu-core)";

/// Chromium's command line (ChromeDriver adds its own, and Debian's /usr/bin/chromium wrapper
/// adds those of /etc/chromium.d).
///
/// Offline: even with `--disable-background-networking`, `--disable-component-update` and
/// `--disable-sync`, Chromium 156 asks DNS for update.googleapis.com, accounts.google.com,
/// clients2.google.com, optimizationguide-pa.googleapis.com and start.duckduckgo.com within
/// seconds of starting (seen in a `--log-net-log`). `--host-resolver-rules` makes every host
/// but the loopback ones fail inside Chromium (ERR_NAME_NOT_RESOLVED) without a DNS query, so
/// nothing leaves the machine (the rule applies to IP literals too: hence the EXCLUDEs). The
/// `--disable-features` list removes some of those requests outright.
///
/// `--force-device-scale-factor=1` makes a screenshot's pixels the viewport's CSS pixels;
/// `--hide-scrollbars` keeps scrollbars out of screenshots; `--password-store=basic` keeps
/// Chromium away from a desktop keyring over D-Bus.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-features=OptimizationHints,OptimizationGuideModelDownloading,OptimizationHintsFetching,\
     OptimizationTargetPrediction,NetworkTimeServiceQuerying,MediaRouter,DialMediaRouteProvider,Translate,\
     AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1 , EXCLUDE [::1]",
    "--disable-dev-shm-usage",
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--password-store=basic",
];

/// What [`Browser::screenshot`] measured.
#[derive(Debug, Clone)]
pub struct ScreenshotStats {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Number of distinct RGBA values.
    pub distinct_colours: usize,
    /// Share (0..=1) of pixels whose colour is not the most common one.
    pub non_background_ratio: f64,
}

impl ScreenshotStats {
    /// Whether the thresholds [`MIN_NON_BACKGROUND_RATIO`] and [`MIN_DISTINCT_COLOURS`] hold.
    pub fn looks_rendered(&self) -> bool {
        self.non_background_ratio >= MIN_NON_BACKGROUND_RATIO && self.distinct_colours >= MIN_DISTINCT_COLOURS
    }
}

/// A ChromeDriver process on a free loopback port plus one headless Chromium session.
///
/// Call [`Browser::close`] at the end of a test. If the test fails first, dropping the
/// `Browser` kills Chromium and ChromeDriver all the same.
pub struct Browser {
    pub client: Client,
    screenshot_dir: PathBuf,
    // Declared last: dropped after `client`, kills the processes, then removes the profile.
    driver: DriverProcess,
}

impl Browser {
    /// Start ChromeDriver (`$FLOODLIGHT_CHROMEDRIVER`, else `chromedriver` on `PATH`, else
    /// `/usr/bin/chromedriver`) on a free 127.0.0.1 port, wait until it answers, and open a
    /// session with headless Chromium (`$FLOODLIGHT_CHROMIUM`, else `/usr/bin/chromium`) in a
    /// fresh profile, its window `width` x `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        Self::start_with_args(width, height, &[]).await
    }

    /// [`Browser::start`] with more Chromium flags after the usual ones (a repeated flag
    /// replaces the usual value, e.g. `--host-resolver-rules=...`).
    pub async fn start_with_args(width: u32, height: u32, extra_args: &[&str]) -> Result<Browser> {
        let chromedriver = find_chromedriver()?;
        let chromium = find_chromium()?;
        let mut last_err = None;
        // Two tries: the free port can be taken between probing and binding, and on a busy
        // two-core machine Chromium occasionally fails its first start.
        for attempt in 1..=2 {
            match Self::start_once(&chromedriver, &chromium, width, height, extra_args).await {
                Ok(b) => return Ok(b),
                Err(e) => {
                    eprintln!("browser: start attempt {attempt} failed: {e:#}");
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("browser did not start")))
    }

    async fn start_once(
        chromedriver: &Path,
        chromium: &Path,
        width: u32,
        height: u32,
        extra_args: &[&str],
    ) -> Result<Browser> {
        let mut driver = DriverProcess::spawn(chromedriver)?;
        driver.wait_ready().await?;

        let profile = driver.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra_args.iter().map(|a| a.to_string()));
        // Extra flags for debugging, e.g. "--log-net-log=/tmp/net.json --enable-logging=stderr".
        if let Ok(extra) = std::env::var("FLOODLIGHT_CHROMIUM_ARGS") {
            args.extend(extra.split_whitespace().map(str::to_string));
        }
        let caps = serde_json::json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
            },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!("json!({{..}}) is an object") };

        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .map_err(|e| {
                anyhow!(
                    "ChromeDriver {} could not start Chromium {}: {e}\n{}",
                    chromedriver.display(),
                    chromium.display(),
                    driver.log_tail()
                )
            })?;
        // ChromeDriver reports the browser's pid: kept so that a dropped Browser can kill
        // Chromium too (killing ChromeDriver alone leaves Chromium running).
        driver.browser_pid = client
            .capabilities()
            .and_then(|c| c.get("goog:processID"))
            .and_then(|v| v.as_u64())
            .and_then(|p| u32::try_from(p).ok());

        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(PAGE_LOAD_TIMEOUT),
                Some(PAGE_LOAD_TIMEOUT),
                Some(Duration::ZERO),
            ))
            .await
            .context("setting WebDriver timeouts")?;

        let browser = Browser { client, screenshot_dir: default_screenshot_dir(), driver };
        browser.resize(width, height).await?;
        Ok(browser)
    }

    /// Where [`Browser::screenshot`] writes.
    pub fn screenshot_dir(&self) -> &Path {
        &self.screenshot_dir
    }

    /// Write screenshots to `dir` from now on (created when needed).
    pub fn set_screenshot_dir(&mut self, dir: impl Into<PathBuf>) {
        self.screenshot_dir = dir.into();
    }

    /// Resize the window so that the viewport (`window.innerWidth` x `innerHeight`, and so
    /// the screenshots) is exactly `width` x `height` CSS pixels, e.g. 390x844 for a phone.
    pub async fn resize(&self, width: u32, height: u32) -> Result<()> {
        let set = |w: u32, h: u32| async move {
            self.client.set_window_size(w, h).await.with_context(|| format!("resizing the window to {w}x{h}"))
        };
        set(width, height).await?;
        let (w, h) = self.viewport_size().await?;
        if (w, h) == (width, height) {
            return Ok(());
        }
        // Headless Chromium keeps room for browser UI it does not draw: the viewport is
        // smaller than the window (by 143 px in height with Chromium 156). Grow the window by
        // the difference.
        let (outer_w, outer_h) = (width + width.saturating_sub(w), height + height.saturating_sub(h));
        set(outer_w, outer_h).await?;
        let (w, h) = self.viewport_size().await?;
        if (w, h) != (width, height) {
            bail!(
                "asked for a {width}x{height} viewport; with a {outer_w}x{outer_h} window it is \
                 {w}x{h}"
            );
        }
        Ok(())
    }

    /// The viewport's size in CSS pixels (`window.innerWidth`, `window.innerHeight`).
    pub async fn viewport_size(&self) -> Result<(u32, u32)> {
        let v = self
            .client
            .execute("return [window.innerWidth, window.innerHeight]", vec![])
            .await
            .context("reading the viewport size")?;
        let dim = |i: usize| {
            v.get(i)
                .and_then(|x| x.as_u64())
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| anyhow!("unexpected viewport size {v}"))
        };
        Ok((dim(0)?, dim(1)?))
    }

    /// Screenshot the viewport to `<screenshot dir>/<name>.png`, then fail (naming the file)
    /// unless it looks rendered: see [`MIN_NON_BACKGROUND_RATIO`] and [`MIN_DISTINCT_COLOURS`].
    /// The file is written either way, so a failure can be looked at.
    pub async fn screenshot(&self, name: &str) -> Result<ScreenshotStats> {
        let stats = self.screenshot_unchecked(name).await?;
        if !stats.looks_rendered() {
            bail!(
                "screenshot {} looks blank: {:.4} of its pixels differ from the background \
                 (need >= {MIN_NON_BACKGROUND_RATIO}), {} distinct colours (need >= \
                 {MIN_DISTINCT_COLOURS}); page {}",
                stats.path.display(),
                stats.non_background_ratio,
                stats.distinct_colours,
                self.current_url().await.unwrap_or_default(),
            );
        }
        Ok(stats)
    }

    /// Like [`Browser::screenshot`] but without the blank check.
    pub async fn screenshot_unchecked(&self, name: &str) -> Result<ScreenshotStats> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            bail!("screenshot name {name:?}: use a plain file name without .png");
        }
        let png = self.client.screenshot().await.context("taking a screenshot")?;
        std::fs::create_dir_all(&self.screenshot_dir)
            .with_context(|| format!("creating {}", self.screenshot_dir.display()))?;
        let path = self.screenshot_dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).with_context(|| format!("writing {}", path.display()))?;
        let (width, height, distinct_colours, non_background_ratio) =
            png_stats(&png).with_context(|| format!("decoding {}", path.display()))?;
        Ok(ScreenshotStats { path, width, height, distinct_colours, non_background_ratio })
    }

    /// Open `url` and wait for it to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client.goto(url).await.with_context(|| format!("opening {url}"))
    }

    /// The first element matching the CSS selector, waiting up to [`DEFAULT_TIMEOUT`].
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.find_within(css, DEFAULT_TIMEOUT).await
    }

    /// The first element matching the CSS selector, waiting up to `timeout`.
    pub async fn find_within(&self, css: &str, timeout: Duration) -> Result<Element> {
        match self.client.wait().at_most(timeout).every(Duration::from_millis(50)).for_element(Locator::Css(css)).await
        {
            Ok(e) => Ok(e),
            Err(e) => Err(anyhow!(
                "no element matches {css:?} after {timeout:?} ({e}); page {}",
                self.current_url().await.unwrap_or_default()
            )),
        }
    }

    /// Replace the contents of the input or textarea matching `css` with `value`.
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let e = self.find(css).await?;
        e.clear().await.with_context(|| format!("clearing {css:?}"))?;
        e.send_keys(value).await.with_context(|| format!("typing into {css:?}"))
    }

    /// Click the element matching `css` (a link, a button, a checkbox, ...).
    pub async fn click(&self, css: &str) -> Result<()> {
        self.find(css).await?.click().await.with_context(|| format!("clicking {css:?}"))
    }

    /// Choose the option whose `value` attribute is `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> Result<()> {
        self.find(css).await?.select_by_value(value).await.with_context(|| format!("choosing {value:?} in {css:?}"))
    }

    /// The page's visible text (the rendered text of `<body>`).
    pub async fn text(&self) -> Result<String> {
        self.find("body").await?.text().await.context("reading the page's text")
    }

    /// Wait up to [`DEFAULT_TIMEOUT`] until the page's visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) -> Result<()> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            // The page may be between two documents: retry errors until the deadline.
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.context("reading the page's text"),
                Err(e) => Err(anyhow!("no <body>: {e}")),
            };
            if matches!(&text, Ok(t) if t.contains(needle)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let text = text.unwrap_or_else(|e| format!("<{e:#}>"));
                bail!(
                    "{needle:?} not on the page after {DEFAULT_TIMEOUT:?}; page {} says:\n{text}",
                    self.current_url().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait up to [`DEFAULT_TIMEOUT`] until the current URL's path is `path` (e.g. after a
    /// redirect).
    pub async fn wait_for_path(&self, path: &str) -> Result<()> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            let url = self.client.current_url().await.context("reading the URL")?;
            if url.path() == path {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("still at {url} after {DEFAULT_TIMEOUT:?}, expected path {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The current URL.
    pub async fn current_url(&self) -> Result<String> {
        Ok(self.client.current_url().await.context("reading the URL")?.to_string())
    }

    /// All cookies that apply to the current page, HttpOnly ones included.
    pub async fn cookies(&self) -> Result<Vec<Cookie<'static>>> {
        self.client.get_all_cookies().await.context("reading cookies")
    }

    /// The cookie called `name` that applies to the current page, if any.
    pub async fn cookie(&self, name: &str) -> Result<Option<Cookie<'static>>> {
        Ok(self.cookies().await?.into_iter().find(|c| c.name() == name))
    }

    /// End the session (Chromium exits), then stop ChromeDriver.
    pub async fn close(self) -> Result<()> {
        let Browser { client, mut driver, .. } = self;
        let closed = client.close().await.context("closing the WebDriver session");
        // Chromium exits once the session is gone; give it a moment, `kill_all` does the rest.
        if let Some(pid) = driver.browser_pid {
            let deadline = Instant::now() + Duration::from_secs(5);
            while driver.owns(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        driver.kill_all();
        closed
    }

    /// Chromium's process id, as ChromeDriver reported it.
    pub fn browser_pid(&self) -> Option<u32> {
        self.driver.browser_pid
    }

    /// The last lines of ChromeDriver's log (for a failing test's message).
    pub fn driver_log_tail(&self) -> String {
        self.driver.log_tail()
    }
}

/// The ChromeDriver child, Chromium's pid and the temporary directory with the profile,
/// ChromeDriver's log and Chromium's config and cache dirs. Dropping it kills both processes.
struct DriverProcess {
    child: Option<Child>,
    port: u16,
    browser_pid: Option<u32>,
    dir: tempfile::TempDir,
}

impl DriverProcess {
    fn spawn(chromedriver: &Path) -> Result<DriverProcess> {
        let dir = tempfile::Builder::new()
            .prefix("floodlight-browser-")
            .tempdir()
            .context("creating a temporary directory for the browser")?;
        let port = free_port()?;
        let out = std::fs::File::create(dir.path().join("chromedriver.out")).context("creating chromedriver.out")?;
        let err = out.try_clone().context("cloning a file handle")?;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", dir.path().join("chromedriver.log").display()))
            // Chromium writes crash reports and caches under these, not under the profile:
            // keep them in the temporary directory instead of ~/.config and ~/.cache.
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}: {INSTALL_HINT}", chromedriver.display()))?;
        Ok(DriverProcess { child: Some(child), port, browser_pid: None, dir })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Poll `GET /status` until ChromeDriver says it is ready.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + DRIVER_READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("checking on chromedriver")? {
                    bail!("chromedriver exited ({status}) before answering on port {}\n{}", self.port, self.log_tail());
                }
            }
            if let Ok(Ok(body)) =
                tokio::time::timeout(Duration::from_secs(2), http_get_local(self.port, "/status")).await
            {
                if body.contains("\"ready\":true") || body.contains("\"ready\": true") {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver did not answer on port {} within {DRIVER_READY_TIMEOUT:?}\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Whether process `pid` is alive and one of ours: its command line names our temporary
    /// directory (Chromium's `--user-data-dir`, the crash handler's database, ChromeDriver's
    /// log), which is unique, so a reused pid is never mistaken for ours. A zombie's command
    /// line is empty.
    fn owns(&self, pid: u32) -> bool {
        let needle = self.dir.path().as_os_str().as_encoded_bytes();
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| !needle.is_empty() && cmdline.windows(needle.len()).any(|w| w == needle))
    }

    /// Our processes still alive (Chromium's browser, zygote, renderer, GPU, utility and crash
    /// handler processes, ChromeDriver), found through /proc.
    fn processes(&self) -> Vec<u32> {
        let me = std::process::id();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != me && self.owns(pid))
            .collect()
    }

    /// Kill Chromium and ChromeDriver, reap ChromeDriver, and wait (up to 5 s) until no process
    /// of ours is left: Chromium's helpers die a moment after its browser process, and while
    /// they run they write into the profile, which would then not be removed.
    fn kill_all(&mut self) {
        if let Some(pid) = self.browser_pid.take() {
            if self.owns(pid) {
                sigkill(pid);
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.processes();
            if left.is_empty() || Instant::now() >= deadline {
                break;
            }
            left.into_iter().for_each(sigkill);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last 40 lines of ChromeDriver's output and log.
    fn log_tail(&self) -> String {
        let mut s = String::new();
        for name in ["chromedriver.out", "chromedriver.log"] {
            let mut text = String::new();
            let path = self.dir.path().join(name);
            if let Ok(mut f) = std::fs::File::open(&path) {
                let _ = f.read_to_string(&mut text);
            }
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            s.push_str(&format!("--- {} (last {} lines)\n", path.display(), tail.len()));
            for l in tail {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.kill_all();
        // `TempDir` removes the directory too, but only tries once.
        for _ in 0..5 {
            match std::fs::remove_dir_all(self.dir.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => std::thread::sleep(Duration::from_millis(50)),
                _ => break,
            }
        }
    }
}

fn sigkill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Width, height, distinct RGBA colours and the share of pixels that are not the most common
/// colour, of a PNG image.
pub fn png_stats(png_bytes: &[u8]) -> Result<(u32, u32, usize, f64)> {
    let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("reading the PNG header")?;
    let size = reader.output_buffer_size().ok_or_else(|| anyhow!("PNG too large"))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).context("decoding the PNG")?;
    let channels = info.color_type.samples();
    let mut counts: HashMap<[u8; 4], usize> = HashMap::new();
    let mut total = 0usize;
    for row in buf[..info.line_size * info.height as usize].chunks_exact(info.line_size) {
        for px in row[..info.width as usize * channels].chunks_exact(channels) {
            let key = match *px {
                [g] => [g, g, g, 255],
                [g, a] => [g, g, g, a],
                [r, g, b] => [r, g, b, 255],
                [r, g, b, a] => [r, g, b, a],
                _ => bail!("unexpected PNG pixel layout ({channels} channels)"),
            };
            *counts.entry(key).or_default() += 1;
            total += 1;
        }
    }
    if total == 0 {
        bail!("empty PNG ({}x{})", info.width, info.height);
    }
    let background = counts.values().copied().max().unwrap_or(0);
    let ratio = (total - background) as f64 / total as f64;
    Ok((info.width, info.height, counts.len(), ratio))
}

fn default_screenshot_dir() -> PathBuf {
    match std::env::var_os("FLOODLIGHT_SCREENSHOTS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
    }
}

fn find_chromedriver() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("FLOODLIGHT_CHROMEDRIVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Ok(p);
        }
        bail!("FLOODLIGHT_CHROMEDRIVER={} is not an executable file: {INSTALL_HINT}", p.display());
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(p) = std::env::split_paths(&path).map(|d| d.join("chromedriver")).find(|p| is_executable(p)) {
            return Ok(p);
        }
    }
    let p = PathBuf::from("/usr/bin/chromedriver");
    if is_executable(&p) {
        return Ok(p);
    }
    bail!(
        "chromedriver not found (FLOODLIGHT_CHROMEDRIVER unset, none on PATH, no \
         /usr/bin/chromedriver): {INSTALL_HINT}"
    )
}

fn find_chromium() -> Result<PathBuf> {
    let (p, from_env) = match std::env::var_os("FLOODLIGHT_CHROMIUM").filter(|p| !p.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from("/usr/bin/chromium"), false),
    };
    if is_executable(&p) {
        return Ok(p);
    }
    if from_env {
        bail!("FLOODLIGHT_CHROMIUM={} is not an executable file: {INSTALL_HINT}", p.display());
    }
    bail!("Chromium not found at /usr/bin/chromium (FLOODLIGHT_CHROMIUM unset): {INSTALL_HINT}")
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> Result<u16> {
    let l = StdTcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("finding a free port")?.port())
}

/// The body of `GET http://127.0.0.1:<port><path>`. ChromeDriver refuses HTTP/1.0 and keeps
/// the connection open despite `Connection: close`: read up to `Content-Length`.
async fn http_get_local(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&resp);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
            });
            if len.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    let resp = String::from_utf8_lossy(&resp);
    Ok(resp.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}
