//! A real headless Chromium, driven over WebDriver by fantoccini through
//! Debian's `chromedriver` (both installed by `scripts/test`). Each test
//! starts its own driver on a free loopback port and stops it, by PID,
//! when the browser is dropped.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::cli::KillOnDrop;

pub struct Browser {
    pub client: Client,
    _driver: KillOnDrop,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed by scripts/test");
        let driver = KillOnDrop(driver);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // Headless and offline: nothing but the page under test is fetched.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let options = json!({ "binary": "/usr/bin/chromium", "args": args });
        let caps = serde_json::Map::from_iter([("goog:chromeOptions".to_owned(), options)]);
        // fantoccini's TLS stack brings a second crypto provider; deskbell uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Browser { client, _driver: driver, _profile: profile }
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }

    /// Types into the field labelled by `id`, replacing what it held.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the control with `id` (a radio, a checkbox).
    pub async fn check(&self, id: &str) {
        self.client.find(Locator::Id(id)).await.unwrap().click().await.unwrap();
    }

    /// Clicks the button that says `label`, and waits until the page it
    /// posted to has replaced this one (the old page's body goes stale;
    /// both pages have the same address, so the URL cannot tell).
    pub async fn press(&self, label: &str) {
        let old = self.client.find(Locator::Css("body")).await.unwrap();
        let xpath = format!("//button[normalize-space(.)='{label}']");
        self.client.find(Locator::XPath(&xpath)).await.unwrap().click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "pressing {label} did not load a page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.client.wait().for_element(Locator::Css("h1")).await.unwrap();
    }

    /// Saves the window as `docs/wizard/NAME.png` when the run asks for
    /// screenshots (`DESKBELL_SCREENSHOTS=1`), as the docs' pictures are made.
    pub async fn screenshot(&self, name: &str) {
        if std::env::var_os("DESKBELL_SCREENSHOTS").is_none() {
            return;
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/wizard");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), self.client.screenshot().await.unwrap()).unwrap();
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
