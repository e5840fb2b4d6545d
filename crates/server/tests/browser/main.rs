//! Browser tests: headless Chromium driven over WebDriver against a real server, one fresh
//! database per test. Switched on by `RAPPORT_TEST_BROWSER=1` (set by `.ci/run`); once on, a
//! missing Chromium or ChromeDriver fails the test. Each test saves screenshots under
//! `target/screenshots/`.

#[path = "../api/support/mod.rs"]
#[allow(dead_code)]
mod support;

mod admin;
mod browser;
mod contrast;
mod crm;
mod files;
mod flows;
mod objects;
mod portal;
mod records;
mod sales;
mod settings;
mod shell;
