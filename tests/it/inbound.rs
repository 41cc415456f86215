//! Customers' replies over a real SMTP connection to the listener (lettre
//! as the client) and as raw messages to the webhook: threaded by reply
//! address, In-Reply-To and subject; forged addresses, auto-replies,
//! bounces, HTML-only and ISO-8859-1 mail, an oversized attachment and a
//! broken message. Every case ends with the raw message stored.

use deskbell::channels::reply_token::reply_address;
use deskbell::domain::service::{Priority, ServiceEvent, ServiceStatus};
use deskbell::domain::{Actor, Email, RefreshTicketId, ServiceTicketId, TicketRef};
use deskbell::store::Store;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::support::app::TestApp;
use crate::support::{Fixture, fixture};

/// A refresh ticket R-1 of Cara's, and S-1, Cara's incident assigned to
/// Eve and waiting on Cara.
async fn tickets(app: &TestApp) -> (Fixture, RefreshTicketId, ServiceTicketId) {
    let f = fixture(&app.res.store).await;
    let r = app.create(&f, "5CG1").await;
    let workflow = app.workflow();
    let s = workflow.create_service(crate::support::incident(&f, Priority::P2), &Actor::System).await.unwrap().id;
    for event in [
        ServiceEvent::Assign { engineer: f.engineer },
        ServiceEvent::Acknowledge { by: f.engineer },
        ServiceEvent::WaitOnClient,
    ] {
        workflow.service(s, &Actor::Person(f.engineer), event).await.unwrap();
    }
    (f, r, s)
}

fn token_address(t: TicketRef) -> String {
    let base = Email::parse("support@example.edu").unwrap();
    reply_address(&base, &"reply-key".into(), t).to_string()
}

/// A message from Cara, with a Message-ID of its own.
fn mail(to: &str, headers: &str, body: &str) -> String {
    static SENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "From: Cara Customer <cara@example.edu>\r\nTo: {to}\r\nDate: Mon, 23 Nov 2026 09:00:00 -0500\r\n\
         Message-ID: <reply{n}@mail.example.edu>\r\n{headers}MIME-Version: 1.0\r\n\r\n{body}"
    )
}

async fn by_smtp(app: &TestApp, to: &str, raw: &str) {
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(app.smtp_port).build();
    let envelope = Envelope::new(Some("cara@example.edu".parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    smtp.send_raw(&envelope, raw.as_bytes()).await.unwrap();
}

/// Queues a mail to Cara about `r` and delivers it; returns its Message-ID.
async fn sent_mail(app: &TestApp, r: RefreshTicketId, key: &str) -> String {
    let store = &app.res.store;
    let payload =
        serde_json::json!({ "ticket": store.ticket_context(r.into()).await.unwrap(), "recipient": { "name": "Cara" } });
    let sent = deskbell::store::NewMessage {
        dedupe_key: key,
        ticket: Some(r.into()),
        channel: deskbell::domain::Channel::Email,
        recipient: "cara@example.edu",
        content: deskbell::domain::Template::CustomerBegin.into(),
        payload: &payload.to_string(),
        hours: None,
    };
    store.enqueue(&sent, chrono::Utc::now()).await.unwrap();
    app.deliver_outbox().await;
    let deliveries = store.deliveries(r.into()).await.unwrap();
    deliveries
        .iter()
        .find(|d| d.dedupe_key == key)
        .and_then(|d| d.external_id.clone())
        .expect("sent, with its Message-ID")
}

async fn notes(store: &Store, t: TicketRef) -> Vec<String> {
    let audits = store.audits(t).await.unwrap();
    audits
        .into_iter()
        .filter(|a| a.change.what == deskbell::domain::AuditField::CustomerNote)
        .filter_map(|a| a.change.to)
        .collect()
}

async fn last_inbound(store: &Store) -> deskbell::store::InboundRow {
    let id = store.inbound_list(None, 1).await.unwrap()[0].id;
    store.inbound(id).await.unwrap()
}

#[tokio::test]
async fn replies_are_threaded_by_address_message_id_and_subject() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, s) = tickets(&app).await;

    // By the signed reply address, over SMTP: S-1 is back in progress and
    // Eve, its engineer, is told in Slack.
    let to = token_address(s.into());
    let raw = mail(
        &to,
        "Subject: Re: VPN down\r\n",
        "It works again after the restart.\r\n\r\nOn Mon, Nov 23, 2026 Service Desk wrote:\r\n> Did you restart?\r\n",
    );
    by_smtp(&app, &to, &raw).await;
    let row = last_inbound(store).await;
    assert_eq!((row.status.as_str(), row.ticket, row.source.as_str()), ("threaded", Some(s.into()), "smtp"));
    assert_eq!(String::from_utf8(row.raw).unwrap().trim_end(), raw.trim_end(), "kept as received");
    assert_eq!(notes(store, s.into()).await, ["It works again after the restart."]);
    assert_eq!(store.load_service(s).await.unwrap().value.status, ServiceStatus::InProgress);
    let told = store.outbox_of(s.into()).await.unwrap().into_iter().find(|m| m.template == "customer_reply").unwrap();
    assert_eq!(told.recipient, "UEVE00001");

    // By In-Reply-To: the Message-ID of a mail deskbell sent about R-1.
    let message_id = sent_mail(&app, r, "R-1/test_mail").await;
    let raw = mail(
        "support@example.edu",
        &format!("Subject: Re: your computer\r\nIn-Reply-To: {message_id}\r\n"),
        "Tuesday at 9 please.\r\n",
    );
    let answer = app.mail_in(raw).await;
    assert_eq!((answer["status"].as_str(), answer["ticket"].as_str()), (Some("threaded"), Some("R-1")), "{answer}");

    // By the subject, from the ticket's own customer.
    let raw = mail("support@example.edu", "Subject: Re: [R-1] Your new computer\r\n", "Thanks!\r\n");
    assert_eq!(app.mail_in(raw).await["ticket"], "R-1");
    assert_eq!(notes(store, r.into()).await, ["Tuesday at 9 please.", "Thanks!"]);
    // The team hears of it in its channel (R-1 has no single engineer).
    let told: Vec<_> =
        store.outbox_of(r.into()).await.unwrap().into_iter().filter(|m| m.template == "customer_reply").collect();
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|m| m.recipient == "CNORTH001"));
}

#[tokio::test]
async fn forgeries_strangers_and_auto_replies_change_nothing() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, s) = tickets(&app).await;

    // A guessed ticket number in a reply address: unmatched, not attached.
    let forged = token_address(s.into()).replace("s-1.", "s-2.");
    by_smtp(&app, &forged, &mail(&forged, "Subject: hi\r\n", "attach me\r\n")).await;
    let row = last_inbound(store).await;
    assert_eq!((row.status.as_str(), row.ticket), ("unmatched", None));
    assert!(row.reason.unwrap().starts_with("forged or damaged reply address"));

    // Once Cara is known by another address, the unmatched mail can be
    // run again; a threaded one cannot, so nothing is noted twice.
    let inbound = deskbell::inbound::Inbound {
        workflow: app.workflow(),
        reply_secret: Some("reply-key".into()),
        max_attachment_bytes: 1024,
        helpdesk_channel: None,
    };
    let again = inbound.process(row.id).await.unwrap();
    assert_eq!(again.status, "unmatched", "still forged");
    let to = token_address(r.into());
    by_smtp(&app, &to, &mail(&to, "Subject: ok\r\n", "fine\r\n")).await;
    let threaded = last_inbound(store).await;
    assert_eq!(threaded.status, "threaded");
    assert!(inbound.process(threaded.id).await.unwrap_err().to_string().contains("already threaded onto R-1"));
    assert_eq!(notes(store, r.into()).await, ["fine"]);

    // A stranger naming R-1 in the subject.
    let stranger = mail("support@example.edu", "Subject: Re: [R-1] x\r\n", "mine now\r\n")
        .replace("cara@example.edu", "eve@evil.example");
    assert_eq!(app.mail_in(stranger).await["status"], "unmatched");

    // Cara's out-of-office, to her reply address: recorded, nothing else.
    let to = token_address(s.into());
    let ooo = mail(&to, "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n", "I am away until Monday.\r\n");
    by_smtp(&app, &to, &ooo).await;
    let row = last_inbound(store).await;
    assert_eq!((row.status.as_str(), row.reason.as_deref()), ("auto_reply", Some("Auto-Submitted: auto-replied")));
    let bulk = mail("support@example.edu", "Subject: [R-1] News\r\nPrecedence: bulk\r\n", "Sale!\r\n");
    assert_eq!(app.mail_in(bulk).await["status"], "auto_reply");

    assert_eq!(notes(store, r.into()).await, ["fine"], "no other note");
    assert!(notes(store, s.into()).await.is_empty());
    assert_eq!(store.load_service(s).await.unwrap().value.status, ServiceStatus::WaitingOnClient);
    assert_eq!(store.inbound_list(None, 100).await.unwrap().len(), 5, "every message kept");
}

/// A delivery status notification (RFC 3464) for the mail with `message_id`
/// to cara@example.edu, from `from` with `headers` added.
fn dsn(from: &str, headers: &str, message_id: &str) -> String {
    format!(
        "From: {from}\r\nTo: deskbell@localhost\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n{headers}MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.edu\r\n\r\n\
         Final-Recipient: rfc822; cara@example.edu\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nSubject: Your new computer\r\n\r\n--B--\r\n"
    )
}

#[tokio::test]
async fn a_bounce_marks_the_message_and_the_address() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, _) = tickets(&app).await;
    let message_id = sent_mail(&app, r, "R-1/bouncing").await;
    let dsn =
        dsn("Mail Delivery System <MAILER-DAEMON@mx.example.edu>", "Auto-Submitted: auto-replied\r\n", &message_id);
    let answer = app.mail_in(dsn).await;
    assert_eq!(answer["status"], "bounce", "{answer}");
    let row = store.outbox_of(r.into()).await.unwrap().into_iter().find(|m| m.dedupe_key == "R-1/bouncing").unwrap();
    assert_eq!(row.status, "bounced");
    assert!(store.is_bouncing("Cara@example.edu").await.unwrap());
    assert!(notes(store, r.into()).await.is_empty());
}

#[tokio::test]
async fn html_latin1_huge_and_broken_mail_is_read_or_kept_with_a_reason() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, _) = tickets(&app).await;
    let subject = "Subject: Re: [R-1] Your new computer\r\n";

    let html = mail(
        "support@example.edu",
        &format!("{subject}Content-Type: text/html; charset=utf-8\r\n"),
        "<html><body><p>Wednesday <b>afternoon</b> suits me.</p></body></html>\r\n",
    );
    assert_eq!(app.mail_in(html).await["status"], "threaded");

    let mut latin1 = mail(
        "support@example.edu",
        &format!("{subject}Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n"),
        "Tr\u{e8}s bien, merci.\r\n",
    )
    .into_bytes();
    let at = latin1.windows(2).position(|w| w == "è".as_bytes()).unwrap();
    latin1.splice(at..at + 2, [0xE8]);
    assert_eq!(app.mail_in(latin1.clone()).await["status"], "threaded");
    assert_eq!(last_inbound(store).await.raw, latin1, "the original bytes are kept");

    let big = "A".repeat(20 * 1024 * 1024);
    let attached = format!("{subject}Content-Type: multipart/mixed; boundary=\"M\"\r\n");
    let body = format!(
        "--M\r\nContent-Type: text/plain\r\n\r\nThe photo of the label.\r\n--M\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"label.raw\"\r\n\r\n{big}\r\n--M--\r\n"
    );
    let huge = mail("support@example.edu", &attached, &body);
    assert_eq!(app.mail_in(huge.clone()).await["status"], "threaded");
    assert_eq!(last_inbound(store).await.raw.len(), huge.len(), "stored whole");

    let broken = b"\x00\xff\xfe not a message at all".to_vec();
    let answer = app.mail_in(broken.clone()).await;
    assert_eq!(answer["status"], "malformed", "{answer}");
    assert_eq!(last_inbound(store).await.raw, broken);

    let notes = notes(store, r.into()).await;
    assert_eq!(notes[0], "Wednesday afternoon suits me.");
    assert_eq!(notes[1], "Très bien, merci.");
    assert!(
        notes[2].starts_with("The photo of the label.\n[attachment label.raw, 20480 KB, over the attachment limit]"),
        "{}",
        notes[2]
    );
}

#[tokio::test]
async fn the_webhook_wants_its_secret() {
    let app = TestApp::start().await;
    let client = deskbell::net::http_client(std::time::Duration::from_secs(10));
    let url = format!("{}/inbound/email", app.address);
    assert_eq!(client.post(&url).body("x").send().await.unwrap().status(), 401);
    assert_eq!(client.post(&url).bearer_auth("guess").body("x").send().await.unwrap().status(), 401);
    assert!(app.res.store.inbound_list(None, 10).await.unwrap().is_empty());
}

/// One SMTP command or message body over a raw connection; the reply line.
async fn say(conn: &mut tokio::io::BufReader<tokio::net::TcpStream>, line: &[u8]) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    conn.get_mut().write_all(line).await.unwrap();
    let mut reply = String::new();
    loop {
        let mut l = String::new();
        conn.read_line(&mut l).await.unwrap();
        reply.push_str(&l);
        if l.len() < 4 || l.as_bytes()[3] != b'-' {
            return reply;
        }
    }
}

async fn smtp_session(app: &TestApp) -> tokio::io::BufReader<tokio::net::TcpStream> {
    use tokio::io::AsyncBufReadExt;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", app.smtp_port)).await.unwrap();
    let mut conn = tokio::io::BufReader::new(stream);
    let mut greeting = String::new();
    conn.read_line(&mut greeting).await.unwrap();
    assert!(greeting.starts_with("220"), "{greeting}");
    assert!(say(&mut conn, b"EHLO mx.example.edu\r\n").await.starts_with("250"));
    conn
}

#[tokio::test]
async fn bounces_and_vacation_replies_arrive_over_smtp_with_the_null_sender() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, _) = tickets(&app).await;
    let message_id = sent_mail(&app, r, "R-1/bouncing").await;
    // A delivery status notification, as an MTA sends it: MAIL FROM:<> (RFC 5321 §4.5.5).
    let dsn = dsn("Mail Delivery System <postmaster@mx.example.edu>", "", &message_id);
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(app.smtp_port).build();
    let null = Envelope::new(None, vec!["support@example.edu".parse().unwrap()]).unwrap();
    smtp.send_raw(&null, dsn.as_bytes()).await.unwrap();
    let row = last_inbound(store).await;
    assert_eq!(row.status, "bounce", "{:?}", row.reason);
    assert_eq!(row.envelope_from.as_deref(), Some(""), "the null sender is kept beside the message");
    assert_eq!(String::from_utf8(row.raw).unwrap().trim_end(), dsn.trim_end(), "kept as received");
    let sent = store.outbox_of(r.into()).await.unwrap().into_iter().find(|m| m.dedupe_key == "R-1/bouncing").unwrap();
    assert_eq!(sent.status, "bounced");

    // A vacation reply (RFC 3834) with no Auto-Submitted header, only the null sender.
    let to = token_address(r.into());
    let away = mail(&to, "Subject: Away\r\n", "I am away until Monday.\r\n");
    let mut conn = smtp_session(&app).await;
    assert!(say(&mut conn, b"MAIL FROM:<>\r\n").await.starts_with("250"));
    assert!(say(&mut conn, format!("RCPT TO:<{to}>\r\n").as_bytes()).await.starts_with("250"));
    assert!(say(&mut conn, b"DATA\r\n").await.starts_with("354"));
    assert!(say(&mut conn, format!("{away}\r\n.\r\n").as_bytes()).await.starts_with("250"));
    let row = last_inbound(store).await;
    assert_eq!((row.status.as_str(), row.reason.as_deref()), ("auto_reply", Some("null reverse-path (MAIL FROM:<>)")));
    assert!(notes(store, r.into()).await.is_empty(), "no note from an auto-reply");
}

#[tokio::test]
async fn after_a_552_the_same_connection_resets_and_sends_the_next_message() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, r, _) = tickets(&app).await;
    let to = token_address(r.into());
    let mut conn = smtp_session(&app).await;
    assert!(say(&mut conn, b"MAIL FROM:<cara@example.edu>\r\n").await.starts_with("250"));
    assert!(say(&mut conn, format!("RCPT TO:<{to}>\r\n").as_bytes()).await.starts_with("250"));
    assert!(say(&mut conn, b"DATA\r\n").await.starts_with("354"));
    let line = format!("{}\r\n", "A".repeat(998));
    let huge = mail(&to, "Subject: huge\r\n", &line.repeat(31 * 1024 * 1024 / 1000));
    assert!(say(&mut conn, format!("{huge}.\r\n").as_bytes()).await.starts_with("552"), "over the limit");
    assert!(say(&mut conn, b"RSET\r\n").await.starts_with("250"), "the session answers again");
    assert!(say(&mut conn, b"MAIL FROM:<cara@example.edu>\r\n").await.starts_with("250"));
    assert!(say(&mut conn, format!("RCPT TO:<{to}>\r\n").as_bytes()).await.starts_with("250"));
    assert!(say(&mut conn, b"DATA\r\n").await.starts_with("354"));
    let small = mail(&to, "Subject: small\r\n", "Tuesday works.\r\n");
    assert!(say(&mut conn, format!("{small}\r\n.\r\n").as_bytes()).await.starts_with("250"));
    assert!(say(&mut conn, b"QUIT\r\n").await.starts_with("221"));
    assert_eq!(notes(store, r.into()).await, ["Tuesday works."]);
    assert_eq!(store.inbound_list(None, 10).await.unwrap().len(), 1, "the refused message is not kept");
}

#[tokio::test]
async fn a_new_mail_quoting_the_reference_threads_from_its_own_contact_only() {
    let app = TestApp::start().await;
    let store = &app.res.store;
    let (_, _, s) = tickets(&app).await;
    // As "We received your request: S-1" asks: a new mail, no reply address, the bare reference.
    let quoted = mail("support@example.edu", "Subject: Re: We received your request: S-1\r\n", "Still broken.\r\n");
    assert_eq!(app.mail_in(quoted.clone()).await["status"], "threaded");
    assert_eq!(notes(store, s.into()).await, ["Still broken."]);
    let stranger = quoted.replace("cara@example.edu", "eve@evil.example");
    assert_eq!(app.mail_in(stranger).await["status"], "unmatched", "only the ticket's own contact");
}
