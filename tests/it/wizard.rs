//! The customer's refresh page over HTTP, as a browser without JavaScript
//! posts it: the signed link from the invite, every step's checks with the
//! answers kept, the review, one submit, and the page after.

use deskbell::domain::refresh::{RefreshEvent, RefreshStatus, Style};
use deskbell::domain::{Actor, AuditField, ConfigOptions, RefreshTicketId, TicketRef, TimerKind};

use crate::support::app::TestApp;
use crate::support::{Fixture, fixture, new_refresh};

fn client() -> reqwest::Client {
    deskbell::net::http_client(std::time::Duration::from_secs(10))
}

/// The page's link as the invite carries it.
fn link(t: RefreshTicketId) -> String {
    let links = deskbell::links::Links { public_url: String::new(), secret: "link-key".into() };
    links.refresh_page(TicketRef::from(t))
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let resp = client().get(format!("{}{path}", app.address)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body = serde_html_form::to_string(form).unwrap();
    let resp = client()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Delivers what is due; every mail sent so far.
async fn mail(app: &TestApp) -> String {
    app.deliver_outbox().await;
    app.mail().concat()
}

async fn status(app: &TestApp, t: RefreshTicketId) -> RefreshStatus {
    app.res.store.load_refresh(t).await.unwrap().value.status
}

#[tokio::test]
async fn the_invite_links_to_the_page_and_an_on_prem_customer_walks_it() {
    let app = TestApp::builder().open_all_hours().start().await;
    let f = fixture(&app.res.store).await;
    let t = app.create(&f, "WIZ1").await;
    let invite = RefreshEvent::TimerFired { kind: TimerKind::CustomerBegin, step: 0 };
    app.workflow().refresh(t, &Actor::System, invite).await.unwrap();
    let mail = mail(&app).await;
    let invite = mail_parser::MessageParser::default().parse(mail.as_bytes()).unwrap();
    let text = invite.body_text(0).unwrap();
    assert!(text.contains(&format!("http://deskbell.test{}", link(t))), "{text}");

    let page = link(t);
    let (code, form) = get(&app, &page).await;
    assert_eq!(code, 200);
    assert!(form.contains(r#"<label for="location">"#) && form.contains("5. Review my answers"), "{form}");
    // Nothing typed: the form comes back with the problem next to its field.
    let (code, again) = post(&app, &page, &[("step", "review"), ("location", "  ")]).await;
    assert_eq!(code, 200);
    assert!(again.contains(r#"<p class="error" id="location-error">Please fill this in.</p>"#), "{again}");
    assert!(again.contains(r#"aria-describedby="location-error""#));
    // Hostile text is kept, as text.
    let (_, review) = post(&app, &page, &[("step", "review"), ("location", "<b>Angell</b> Hall 1010")]).await;
    assert!(review.contains("&lt;b&gt;Angell&lt;&#x2f;b&gt; Hall 1010") && !review.contains("<b>Angell"), "{review}");
    assert!(review.contains("Please check your answers") && !review.contains("approvers will be asked"));
    assert_eq!(status(&app, t).await, RefreshStatus::PendingWizard, "a review changes nothing");

    let submit = [("step", "submit"), ("location", "Angell Hall 1010"), ("device", "proposed")];
    let (code, done) = post(&app, &page, &submit).await;
    assert_eq!(code, 200);
    assert!(done.contains("being ordered"), "{done}");
    assert_eq!(status(&app, t).await, RefreshStatus::PendingOrdering);
    let ticket = app.res.store.load_refresh(t).await.unwrap().value;
    assert_eq!(ticket.location.as_deref(), Some("Angell Hall 1010"));
    assert_eq!(ticket.answers.unwrap().location.as_deref(), Some("Angell Hall 1010"));
    // A second submit (another tab) is shown the result: one transition.
    let (code, twice) = post(&app, &page, &submit).await;
    assert_eq!(code, 200);
    assert!(twice.contains("Angell Hall 1010") && twice.contains("being ordered"), "{twice}");
    let walked = app.res.store.audits(t.into()).await.unwrap();
    let left_wizard = walked
        .iter()
        .filter(|a| a.change.what == AuditField::Status && a.change.from.as_deref() == Some("pending_wizard"));
    assert_eq!(left_wizard.count(), 1);
}

#[tokio::test]
async fn a_forged_or_other_tickets_link_is_refused_and_changes_nothing() {
    let app = TestApp::builder().open_all_hours().start().await;
    let f = fixture(&app.res.store).await;
    let (t1, t2) = (app.create(&f, "WIZ1").await, app.create(&f, "WIZ2").await);
    let others = link(t2).replace("R-2", "R-1");
    for bad in [format!("/refresh/R-{t1}?token=0000"), others, "/refresh/R-1".into(), "/refresh/S-1?token=x".into()] {
        let (code, page) = get(&app, &bad).await;
        assert_eq!(code, 403, "{bad}");
        assert!(page.contains("This link is not valid"), "{page}");
        let (code, _) = post(&app, &bad, &[("step", "submit"), ("location", "X")]).await;
        assert_eq!(code, 403);
    }
    assert_eq!(status(&app, t1).await, RefreshStatus::PendingWizard);
    // A loaner without a customer has no page, even with a valid token.
    let mut loaner = new_refresh(&f, "LOANER1");
    (loaner.customer, loaner.no_customer) = (None, true);
    let l = app.workflow().create_refresh(loaner, &Actor::System).await.unwrap().id;
    assert_eq!(get(&app, &link(l)).await.0, 403);
}

#[tokio::test]
async fn a_remote_customer_gives_an_address_and_a_custom_request_goes_to_the_approvers() {
    let app = TestApp::builder().open_all_hours().start().await;
    let store = &app.res.store;
    let f = fixture(store).await;
    let options = ConfigOptions { can_customize_computer: true, ..ConfigOptions::default() };
    let custom = store.upsert_config("LSA custom", &f.approvers, options).await.unwrap();
    let mut new = new_refresh(&f, "HOME1");
    (new.style, new.config) = (Style::RemoteCustomer, custom);
    let t = app.workflow().create_refresh(new, &Actor::System).await.unwrap().id;
    let page = link(t);
    let (_, form) = get(&app, &page).await;
    assert!(form.contains("None of these is adequate") && form.contains(r#"id="postal_code""#), "{form}");

    let partial = [("step", "review"), ("street", "1 Main St"), ("postal_code", "48109"), ("device", "none")];
    let (_, again) = post(&app, &page, &partial).await;
    for field in ["city", "state", "reason"] {
        assert!(again.contains(&format!(r#"id="{field}-error""#)), "{field}: {again}");
    }
    assert!(again.contains(r#"value="1 Main St""#), "what was typed is kept");
    let full = [
        ("step", "submit"),
        ("street", "1 Main St"),
        ("city", "Ann Arbor"),
        ("state", "MI"),
        ("postal_code", "48109"),
        ("device", "none"),
        ("reason", "I edit video"),
    ];
    let (_, done) = post(&app, &page, &full).await;
    assert!(done.contains("approvers have been asked"), "{done}");
    assert_eq!(status(&app, t).await, RefreshStatus::RequiresApproval);
    let ticket = store.load_refresh(t).await.unwrap().value;
    assert_eq!(ticket.shipping_address.as_deref(), Some("1 Main St, Ann Arbor, MI 48109"));
    let requests = store.outbox_of(t.into()).await.unwrap();
    assert_eq!(requests.iter().filter(|m| m.template == "approval_request").count(), 2, "each approver asked");
    // The approver reads what was asked; so do staff in `show` and `/ticket`.
    let mail = mail(&app).await;
    let request = mail_parser::MessageParser::default().parse(mail.as_bytes()).unwrap();
    let text = request.body_text(0).unwrap();
    assert!(text.contains("none of the approved models is adequate") && text.contains("I edit video"), "{text}");
    // The Friday digest says it too, under the ticket that needs them.
    app.workflow().send_digests().await.unwrap();
    app.deliver_outbox().await;
    let texts: Vec<String> = app
        .mail()
        .iter()
        .map(|m| mail_parser::MessageParser::default().parse(m.as_bytes()).unwrap().body_text(0).unwrap().into_owned())
        .collect();
    let digest = texts.iter().find(|t| t.contains("These refresh tickets of your unit are open")).expect("a digest");
    assert!(digest.contains("Asked for: Device: none of the approved models is adequate"), "{digest}");
    let card = deskbell::ticket_view::show(store, &app.res.calendars, t.into(), chrono::Utc::now()).await.unwrap();
    assert!(card.contains("asked       Ship to: 1 Main St, Ann Arbor, MI 48109"), "{card}");
}

#[tokio::test]
async fn a_ticket_past_the_wizard_shows_where_it_is() {
    let app = TestApp::builder().open_all_hours().start().await;
    let f: Fixture = fixture(&app.res.store).await;
    let t = app.create(&f, "WIZ1").await;
    let cancel = RefreshEvent::Cancelled { reason: "left the university".into() };
    app.workflow().refresh(t, &Actor::System, cancel).await.unwrap();
    let (code, page) = get(&app, &link(t)).await;
    assert_eq!(code, 200);
    assert!(page.contains("has been cancelled") && !page.contains("<form"), "{page}");
    let (_, after) = post(&app, &link(t), &[("step", "submit"), ("location", "Room 1")]).await;
    assert!(after.contains("has been cancelled"), "{after}");
    assert_eq!(status(&app, t).await, RefreshStatus::Cancelled);
}

#[tokio::test]
async fn without_a_location_from_the_batch_the_page_asks_tdx_where_the_system_is() {
    let tdx = crate::support::fake_tdx::FakeTdx::start().await;
    tdx.add_asset_at("WIZ1", "Angell Hall", "1010");
    let app = TestApp::builder().tdx(&tdx).open_all_hours().start().await;
    let f = fixture(&app.res.store).await;
    let t = app.create(&f, "WIZ1").await;
    let (_, form) = get(&app, &link(t)).await;
    assert!(form.contains(r#"value="Angell Hall 1010""#), "TDX's location, to confirm: {form}");
    let (_, again) = get(&app, &link(t)).await;
    assert!(again.contains(r#"value="Angell Hall 1010""#));
    let submit = [("step", "submit"), ("location", "Mason Hall 2200"), ("device", "proposed")];
    post(&app, &link(t), &submit).await;
    let audits = app.res.store.audits(t.into()).await.unwrap();
    let moves: Vec<_> =
        audits.iter().filter(|a| a.change.what == AuditField::Location).map(|a| a.change.to.clone()).collect();
    assert_eq!(moves, [Some("Angell Hall 1010".into()), Some("Mason Hall 2200".into())], "reported once, then changed");
    let calls = app.res.store.outbox_of(t.into()).await.unwrap();
    assert!(calls.iter().any(|m| m.template == "confirm_location"), "the team confirms TDX's data: {calls:?}");
}
