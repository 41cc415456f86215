//! The customer's refresh page in a real headless Chromium, at a desktop
//! and a 375-pixel phone width, asserting on what a person sees: an on-prem
//! customer changing the location the batch gave, an at-home customer
//! giving an address (after a mistake), a unit-specified refresh, and a
//! customized device that goes to the approvers. `DESKBELL_SCREENSHOTS=1`
//! saves each step to docs/wizard/.

use deskbell::domain::refresh::{NewRefreshTicket, Platform, RefreshStatus, Style, System};
use deskbell::domain::{Actor, AuditField, Email, RefreshTicketId, Role, TicketRef};
use fantoccini::Locator;

use crate::support::app::TestApp;
use crate::support::browser::Browser;

const DESK: &str = r#"
[[people]]
name = "Ann Approver"
email = "ann@example.edu"
roles = ["approver"]

[[teams]]
name = "NIT North"
slack_channel = "CNORTH001"
calendar = "umich"
location = "Building 4, room 12"

[[configs]]
name = "LSA 2027"
approvers = ["ann@example.edu"]
approved_models = [
  { model = "Latitude 7450", platform = "windows" },
  { model = "Precision 3591", platform = "windows" },
  { model = "MacBook Air 13", platform = "mac" },
]
peripheral_bundle = ["Dock", "Monitor"]
peripherals = ["Second monitor"]
software = ["SPSS", "MATLAB"]
options = { can_customize_computer = true, can_customize_peripherals = true, can_customize_software = true }
"#;

struct Desk {
    app: TestApp,
    browser: Browser,
}

impl Desk {
    async fn ticket(&self, serial: &str, style: Style, location: Option<&str>) -> RefreshTicketId {
        let store = &self.app.res.store;
        let email = Email::parse(&format!("{}@example.edu", serial.to_lowercase())).unwrap();
        let customer = store.ensure_person(&format!("Customer {serial}"), &email, Role::Customer).await.unwrap();
        let team = store.team_by_name("NIT North").await.unwrap().unwrap().id;
        let config = store.config_id("LSA 2027").await.unwrap().unwrap();
        let new = NewRefreshTicket {
            style,
            customer: Some(customer),
            delegate: None,
            no_customer: false,
            team,
            config,
            existing: System {
                serial: serial.into(),
                model: Some("Latitude 5400".into()),
                platform: Platform::Windows,
            },
            replacement: None,
            location: location.map(str::to_owned),
        };
        self.app.workflow().create_refresh(new, &Actor::System).await.unwrap().id
    }

    async fn open(&self, t: RefreshTicketId) {
        let links = deskbell::links::Links { public_url: self.app.address.clone(), secret: "link-key".into() };
        self.browser.client.goto(&links.refresh_page(TicketRef::from(t))).await.unwrap();
    }

    async fn status(&self, t: RefreshTicketId) -> RefreshStatus {
        self.app.res.store.load_refresh(t).await.unwrap().value.status
    }

    /// Nothing wider than the window: no sideways scrolling on a phone.
    async fn fits(&self) {
        let script = "return document.documentElement.scrollWidth <= window.innerWidth;";
        let fits = self.browser.client.execute(script, vec![]).await.unwrap();
        assert_eq!(fits, serde_json::Value::Bool(true), "the page is wider than the window");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_walk_the_refresh_page_on_a_desktop_and_a_phone() {
    let app = TestApp::start().await;
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), DESK).unwrap();
    app.res.sync_directory(file.path(), chrono::Utc::now(), false).await.unwrap();
    let desk = Desk { app, browser: Browser::start().await };
    for (width, height, size) in [(1280, 900, "desktop"), (375, 812, "phone")] {
        desk.browser.client.set_window_size(width, height).await.unwrap();
        on_prem_location_changed(&desk, size).await;
        remote_address(&desk, size).await;
        unit_specified(&desk, size).await;
        custom_device(&desk, size).await;
    }
    desk.browser.close().await;
}

async fn on_prem_location_changed(desk: &Desk, size: &str) {
    let t = desk.ticket(&format!("ONPREM-{size}"), Style::OnPrem, Some("Angell Hall 1010")).await;
    desk.open(t).await;
    let b = &desk.browser;
    assert!(b.text().await.contains("Where is your computer now (building and room)?"));
    let prefilled = b.client.find(Locator::Id("location")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(prefilled.as_deref(), Some("Angell Hall 1010"), "the batch's location, to confirm");
    desk.fits().await;
    b.screenshot(&format!("{size}-1-on-prem")).await;
    b.fill("location", "Mason Hall 2200").await;
    b.press("5. Review my answers").await;
    let review = b.text().await;
    assert!(review.contains("Please check your answers") && review.contains("Mason Hall 2200"), "{review}");
    assert!(!review.contains("approvers will be asked"), "{review}");
    b.screenshot(&format!("{size}-2-review")).await;
    b.press("Submit").await;
    assert!(b.text().await.contains("Your new computer is being ordered"));
    b.screenshot(&format!("{size}-3-done")).await;
    assert_eq!(desk.status(t).await, RefreshStatus::PendingOrdering);
    let audits = desk.app.res.store.audits(t.into()).await.unwrap();
    let moved = audits.iter().find(|a| a.change.what == AuditField::Location).expect("a location-changed event");
    assert_eq!(
        (moved.change.from.as_deref(), moved.change.to.as_deref()),
        (Some("Angell Hall 1010"), Some("Mason Hall 2200"))
    );
    // … and the team is asked, through TDX, to confirm TDX's location data.
    let calls = desk.app.res.store.outbox_of(t.into()).await.unwrap();
    assert!(calls.iter().any(|m| m.channel == "tdx" && m.template == "confirm_location"), "{calls:?}");
}

async fn remote_address(desk: &Desk, size: &str) {
    let t = desk.ticket(&format!("HOME-{size}"), Style::RemoteCustomer, None).await;
    desk.open(t).await;
    let b = &desk.browser;
    b.fill("street", "1 Main St").await;
    b.fill("city", "Ann Arbor").await;
    b.fill("postal_code", "48109").await;
    b.press("5. Review my answers").await;
    let errors = b.text().await;
    assert!(errors.contains("Please correct the 1 problem marked below."), "{errors}");
    assert_eq!(b.client.find(Locator::Id("state-error")).await.unwrap().text().await.unwrap(), "Please fill this in.");
    let kept = b.client.find(Locator::Id("street")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("1 Main St"), "what was typed is kept");
    desk.fits().await;
    b.screenshot(&format!("{size}-4-address-error")).await;
    b.fill("state", "MI").await;
    b.press("5. Review my answers").await;
    assert!(b.text().await.contains("1 Main St, Ann Arbor, MI 48109"));
    b.press("Submit").await;
    assert!(b.text().await.contains("being ordered"));
    let ticket = desk.app.res.store.load_refresh(t).await.unwrap().value;
    assert_eq!(ticket.shipping_address.as_deref(), Some("1 Main St, Ann Arbor, MI 48109"));
}

async fn unit_specified(desk: &Desk, size: &str) {
    let t = desk.ticket(&format!("UNIT-{size}"), Style::UnitSpecifiedLocation, None).await;
    desk.open(t).await;
    let b = &desk.browser;
    let page = b.text().await;
    assert!(page.contains("Your refresh takes place at Building 4, room 12."), "{page}");
    assert!(b.client.find(Locator::Id("location")).await.is_err(), "nothing to type where the unit decides");
    b.press("5. Review my answers").await;
    b.press("Submit").await;
    assert_eq!(desk.status(t).await, RefreshStatus::PendingOrdering);
    let ticket = desk.app.res.store.load_refresh(t).await.unwrap().value;
    assert_eq!(ticket.location.as_deref(), Some("Building 4, room 12"));
}

async fn custom_device(desk: &Desk, size: &str) {
    let t = desk.ticket(&format!("CUSTOM-{size}"), Style::OnPrem, Some("Angell Hall 1010")).await;
    desk.open(t).await;
    let b = &desk.browser;
    let page = b.text().await;
    assert!(page.contains("We propose a Latitude 7450.") && page.contains("Precision 3591 (windows)"), "{page}");
    assert!(!page.contains("MacBook"), "another platform is not offered without can_customize_platform");
    b.check("device-1").await;
    b.check("peripheral-3").await;
    b.check("software-1").await;
    b.fill("reason", "I run finite-element models").await;
    b.screenshot(&format!("{size}-5-custom")).await;
    b.press("5. Review my answers").await;
    let review = b.text().await;
    assert!(review.contains("Precision 3591") && review.contains("Dock, Monitor, Second monitor"), "{review}");
    assert!(review.contains("approvers will be asked"), "{review}");
    b.press("Submit").await;
    assert!(b.text().await.contains("approvers have been asked"));
    b.screenshot(&format!("{size}-6-sent-to-approvers")).await;
    assert_eq!(desk.status(t).await, RefreshStatus::RequiresApproval);
    let res = &desk.app.res;
    let card = deskbell::ticket_view::show(&res.store, &res.calendars, t.into(), chrono::Utc::now()).await.unwrap();
    assert!(
        card.contains("asked       Device: Precision 3591 (windows) instead of the proposed Latitude 7450"),
        "{card}"
    );
}
