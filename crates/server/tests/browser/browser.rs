//! Starting ChromeDriver and a headless Chromium, and small helpers around them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Browser tests run one at a time: two Chromium instances on two cores make each flaky.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn enabled(test: &str) -> bool {
    let on = std::env::var("RAPPORT_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !on {
        crate::support::skip(
            test,
            "browser tests run with RAPPORT_TEST_BROWSER=1 (Chromium and ChromeDriver needed)",
        );
    }
    on
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
    _turn: Option<tokio::sync::MutexGuard<'static, ()>>,
}

/// A free port for chromedriver below the ephemeral range (which starts at 32768 on Linux), so
/// that no test server binding port 0 can take it between this check and chromedriver's start
/// (the session would then be asked of a Rapport server).
fn driver_port() -> u16 {
    for _ in 0..200 {
        let port = 20_000 + (uuid::Uuid::now_v7().as_u128() % 10_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port for chromedriver between 20000 and 29999");
}

fn binary(name: &str, candidates: &[&str]) -> String {
    for c in candidates {
        if std::path::Path::new(c).exists() {
            return (*c).to_owned();
        }
    }
    panic!(
        "{name} is not installed (looked in {candidates:?}); install Debian's chromium and chromium-driver"
    );
}

pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Browser {
    pub async fn start(width: u32, height: u32) -> Browser {
        let turn = ONE_AT_A_TIME.lock().await;
        Browser::launch(width, height, Some(turn)).await
    }

    /// Two independent browsers (separate profiles and cookies): two people at once.
    pub async fn start_two(width: u32, height: u32) -> (Browser, Browser) {
        let turn = ONE_AT_A_TIME.lock().await;
        let first = Browser::launch(width, height, Some(turn)).await;
        let second = Browser::launch(width, height, None).await;
        (first, second)
    }

    async fn launch(
        width: u32,
        height: u32,
        turn: Option<tokio::sync::MutexGuard<'static, ()>>,
    ) -> Browser {
        let chromium = binary(
            "Chromium",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let chromedriver = binary(
            "ChromeDriver",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let port = driver_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile =
            std::env::temp_dir().join(format!("rapport-chromium-{}", uuid::Uuid::now_v7()));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        };
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start a Chromium session: {e}"),
            }
        };
        client
            .set_window_size(width, height)
            .await
            .expect("window size");
        Browser {
            client,
            driver,
            profile,
            _turn: turn,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks something that loads a new page (a form's button, a link) and waits until the new
    /// page has replaced the old one, so nothing is read from the page being left.
    pub async fn submit(&self, css: &str) {
        self.eval("window.__rapportLeaving = true; return null")
            .await;
        self.click(css).await;
        let started = Instant::now();
        loop {
            let arrived = self
                .client
                .execute("return window.__rapportLeaving === undefined && document.readyState === 'complete'", vec![])
                .await
                .map(|v| v == serde_json::Value::Bool(true))
                .unwrap_or(false);
            if arrived {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "clicking {css} did not load a new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Drags one element onto another with the mouse (pointer down, moves, pointer up).
    pub async fn drag(&self, from_css: &str, to_css: &str) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        let from = self
            .client
            .wait()
            .for_element(Locator::Css(from_css))
            .await
            .unwrap_or_else(|e| panic!("{from_css}: {e}"));
        let to = self
            .client
            .wait()
            .for_element(Locator::Css(to_css))
            .await
            .unwrap_or_else(|e| panic!("{to_css}: {e}"));
        let step = Some(Duration::from_millis(150));
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: from,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: step,
                x: 12.0,
                y: 8.0,
            })
            .then(PointerAction::MoveToElement {
                element: to.clone(),
                duration: step,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::MoveToElement {
                element: to,
                duration: step,
                x: 2.0,
                y: 2.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(mouse)
            .await
            .unwrap_or_else(|e| panic!("drag {from_css} to {to_css}: {e}"));
    }

    /// Drags an element onto a place that only shows once a drag has started (the board's Won
    /// and Lost): picks it up, moves a little, then finds the place and drops it there.
    pub async fn drag_to_revealed(&self, from_css: &str, to_css: &str) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        let from = self
            .client
            .wait()
            .for_element(Locator::Css(from_css))
            .await
            .unwrap_or_else(|e| panic!("{from_css}: {e}"));
        let step = Some(Duration::from_millis(150));
        let pick_up = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: from,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: step,
                x: 12.0,
                y: 8.0,
            });
        self.client
            .perform_actions(pick_up)
            .await
            .unwrap_or_else(|e| panic!("pick up {from_css}: {e}"));
        self.wait_until(
            &format!("const z = document.querySelector({to_css:?}); return !!z && z.getClientRects().length > 0"),
            "the drop place shows",
        )
        .await;
        let to = self
            .client
            .find(Locator::Css(to_css))
            .await
            .unwrap_or_else(|e| panic!("{to_css}: {e}"));
        let drop = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: to.clone(),
                duration: step,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::MoveToElement {
                element: to,
                duration: step,
                x: 2.0,
                y: 2.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(drop)
            .await
            .unwrap_or_else(|e| panic!("drop on {to_css}: {e}"));
    }

    /// Changes a property of a record page in place: opens it, types `text`, presses Enter and
    /// waits until the server has answered (the new value shown, or the editor open with the
    /// reason it was refused).
    pub async fn edit_property(&self, name: &str, text: &str) {
        let prop = format!(".prop[data-prop='{name}']");
        self.click(&format!("{prop} .prop-value")).await;
        let input = format!("{prop} .prop-editor .input:not(.choice-finder)");
        self.type_over(&input, text).await;
        self.client_keys(&input, "\u{E007}").await;
        self.settled(&prop).await;
    }

    /// Types into a relation's combobox (`input_css`) and clicks the record it offers as
    /// `title` (or "Create “…”"), once the server's answer is shown.
    pub async fn combo_pick(&self, input_css: &str, typed: &str, title: &str) {
        self.type_over(input_css, typed).await;
        let option = format!(
            "[...document.querySelectorAll('.combo-options:not([hidden]) [role=option]')].find(o => o.textContent === {title:?})"
        );
        self.wait_until(&format!("return !!{option}"), "the record is offered")
            .await;
        let id = self.eval(&format!("return {option}.id")).await;
        let id = id.as_str().expect("an option");
        self.click(&format!("[id='{id}']")).await;
    }

    /// Replaces a field's text by typing, without leaving it (WebDriver's clear would take the
    /// focus away, which saves a property edited in place).
    pub async fn type_over(&self, css: &str, text: &str) {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        self.eval(&format!(
            "const f = document.querySelector({css:?}); f.focus(); f.select(); return null"
        ))
        .await;
        self.client_keys(css, "\u{E017}").await;
        if !text.is_empty() {
            self.client_keys(css, text).await;
        }
    }

    /// Sends keys (WebDriver key codes too: `\u{E00C}` is Esc) to an element.
    pub async fn client_keys(&self, css: &str, keys: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("keys to {css}: {e}"));
    }

    /// Chooses `value` in a record page's menu property (opened in place) and presses Enter,
    /// which saves it, then waits for the server's answer.
    pub async fn choose_property(&self, name: &str, value: &str) {
        let prop = format!(".prop[data-prop='{name}']");
        self.click(&format!("{prop} .prop-value")).await;
        let select = format!("{prop} .prop-editor select");
        self.eval(&format!(
            "const s = document.querySelector({select:?}); s.value = {value:?}; return null"
        ))
        .await;
        self.client_keys(&select, "\u{E007}").await;
        self.settled(&prop).await;
    }

    /// Waits until a property saved in place has its answer and the page is drawn again.
    async fn settled(&self, prop: &str) {
        self.wait_until(
            &format!(
                "const p = document.querySelector({prop:?}); \
                 return !!p && !p.hasAttribute('aria-busy') && !window.__rapportRedrawing"
            ),
            "the property is saved",
        )
        .await;
    }

    /// Waits until a script returns true (for changes made in place, without a new page).
    pub async fn wait_until(&self, script: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.eval(script).await == serde_json::Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "timed out waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Waits until the page's path satisfies `f`.
    pub async fn wait_for_path(&self, f: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let path = self.path().await;
            if f(&path) {
                return path;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still at {path}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.expect("script")
    }

    /// Saves a picture of the page once its transitions have ended (a theme just switched
    /// fades its colours in).
    pub async fn screenshot(&self, name: &str) {
        let started = Instant::now();
        while self
            .eval("return document.getAnimations().some(a => a.playState === 'running')")
            .await
            == serde_json::Value::Bool(true)
            && started.elapsed() < Duration::from_secs(3)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png)
            .expect("write screenshot");
    }

    /// Saves the page as it is (`name`), in the dark theme (`name-dark`) and at a phone's width
    /// in the dark theme (`name-phone-dark`, scrolled to the focused element), then puts the
    /// theme and the window back.
    pub async fn screenshots(&self, name: &str) {
        self.screenshot(name).await;
        let theme = self
            .eval(
                "const t = document.documentElement.getAttribute('data-theme'); \
                 document.documentElement.setAttribute('data-theme', 'dark'); return t",
            )
            .await;
        self.screenshot(&format!("{name}-dark")).await;
        let size = self.client.get_window_size().await.expect("window size");
        self.client
            .set_window_size(390, 844)
            .await
            .expect("phone width");
        // What the member works on stays in view.
        self.eval(
            "const a = document.activeElement; \
             if (a && a !== document.body) a.scrollIntoView({block: 'center'}); return null",
        )
        .await;
        self.screenshot(&format!("{name}-phone-dark")).await;
        self.client
            .set_window_size(size.0 as u32, size.1 as u32)
            .await
            .expect("window size");
        let restore = match theme.as_str() {
            Some(t) => format!("document.documentElement.setAttribute('data-theme', '{t}')"),
            None => "document.documentElement.removeAttribute('data-theme')".to_owned(),
        };
        self.eval(&format!("{restore}; return null")).await;
    }

    pub async fn forget_cookies(&self) {
        self.client.delete_all_cookies().await.expect("cookies");
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
