//! Reading an inbound email (with mail-parser: MIME, transfer encodings,
//! charsets, HTML-only mail) into what threading and effects need. Pure:
//! bytes in, facts out; no ticket or database is looked at here.

use mail_parser::{MessageParser, MimeHeaders};

use crate::domain::TicketRef;

/// A delivery status notification (RFC 3464): which mail bounced, for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub original_message_id: Option<String>,
    pub recipient: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Lower-case address of the sender.
    pub from: Option<String>,
    /// To, Cc, Delivered-To and X-Original-To, lower case.
    pub recipients: Vec<String>,
    /// `<id>`, angle brackets included, as deskbell stores them.
    pub message_id: Option<String>,
    /// In-Reply-To then References, `<id>` each.
    pub replies_to: Vec<String>,
    pub subject: String,
    /// Why this is an automatic message (out of office, list, bulk), if it is.
    pub automatic: Option<String>,
    pub bounce: Option<Bounce>,
    /// The whole text (HTML-only mail converted), nothing stripped.
    pub text: String,
    /// (file name, bytes) of each attachment.
    pub attachments: Vec<(String, usize)>,
}

fn bracket(id: &str) -> String {
    format!("<{}>", id.trim().trim_start_matches('<').trim_end_matches('>'))
}

fn header_text(m: &mail_parser::Message, name: &str) -> Option<String> {
    m.header_raw(name).map(|v| v.trim().to_owned())
}

/// Auto-Submitted other than `no`, X-Autoreply, X-Autorespond, Precedence
/// bulk / junk / list, List-Id, or an empty return path.
fn automatic(m: &mail_parser::Message) -> Option<String> {
    if let Some(v) = header_text(m, "Auto-Submitted").filter(|v| !v.eq_ignore_ascii_case("no")) {
        return Some(format!("Auto-Submitted: {v}"));
    }
    for h in ["X-Autoreply", "X-Autorespond", "List-Id"] {
        if m.header_raw(h).is_some() {
            return Some(format!("{h} present"));
        }
    }
    if let Some(p) = header_text(m, "Precedence")
        && ["bulk", "junk", "list"].contains(&p.to_ascii_lowercase().as_str())
    {
        return Some(format!("Precedence: {p}"));
    }
    let return_path = header_text(m, "Return-Path");
    if return_path.as_deref() == Some("<>") {
        return Some("empty Return-Path".into());
    }
    if return_path.is_some_and(|r| r.to_ascii_lowercase().contains("mailer-daemon")) {
        return Some("Return-Path is MAILER-DAEMON".into());
    }
    None
}

/// `Field: value` of a DSN's per-recipient block.
fn dsn_field(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case(field).then(|| value.trim().to_owned())
    })
}

fn bounce(m: &mail_parser::Message) -> Option<Bounce> {
    let report = m.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && c.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    if !report {
        return None;
    }
    let mut b = Bounce { original_message_id: None, recipient: None, status: "unknown".into() };
    for part in m.parts.iter() {
        let Some(ct) = part.content_type() else { continue };
        let kind = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase();
        let text = String::from_utf8_lossy(part.contents());
        match kind.as_str() {
            "message/delivery-status" => {
                b.recipient = dsn_field(&text, "Final-Recipient")
                    .or_else(|| dsn_field(&text, "Original-Recipient"))
                    .map(|r| r.rsplit(';').next().unwrap_or_default().trim().to_lowercase());
                b.status = dsn_field(&text, "Status").unwrap_or(b.status);
            }
            "message/rfc822" | "text/rfc822-headers" => {
                let nested = part.message().and_then(|n| n.message_id().map(bracket));
                b.original_message_id = nested.or_else(|| dsn_field(&text, "Message-ID").map(|id| bracket(&id)));
            }
            _ => {}
        }
    }
    Some(b)
}

/// Everything threading and effects need from a raw message, or why it
/// cannot be read.
pub fn parse(raw: &[u8]) -> Result<Parsed, String> {
    // mail-parser 0.11 has internal assertions that some malformed
    // multiparts trip (found by the fuzz test below): whatever arrives, a
    // message must end as a stored "malformed", never as a crashed task.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| MessageParser::default().parse(raw)));
    let m = parsed.map_err(|_| "the MIME parser gave up on this message".to_owned())?.ok_or("not a MIME message")?;
    if m.headers().is_empty() {
        return Err("no headers".into());
    }
    let lower = |a: &mail_parser::Addr| a.address().map(str::to_lowercase);
    let mut recipients: Vec<String> =
        m.to().into_iter().chain(m.cc()).flat_map(|a| a.iter().filter_map(lower)).collect();
    for h in ["Delivered-To", "X-Original-To"] {
        if let Some(v) = header_text(&m, h) {
            recipients.push(v.trim_matches(['<', '>']).to_lowercase());
        }
    }
    let ids = |v: &mail_parser::HeaderValue| match v {
        mail_parser::HeaderValue::Text(t) => vec![bracket(t)],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| bracket(t)).collect(),
        _ => vec![],
    };
    let mut replies_to = ids(m.in_reply_to());
    replies_to.extend(ids(m.references()));
    let text = match m.body_text(0) {
        Some(t) => t.into_owned(),
        None => m.body_html(0).map(|h| html2text::from_read(h.as_bytes(), 78).unwrap_or_default()).unwrap_or_default(),
    };
    let attachments =
        m.attachments().map(|a| (a.attachment_name().unwrap_or("unnamed").to_owned(), a.contents().len())).collect();
    Ok(Parsed {
        from: m.from().and_then(|f| f.first()).and_then(lower),
        recipients,
        message_id: m.message_id().map(bracket),
        replies_to,
        subject: m.subject().unwrap_or_default().to_owned(),
        automatic: automatic(&m),
        bounce: bounce(&m),
        text,
        attachments,
    })
}

/// The new part of a reply: quoted lines, the "On … wrote:" line and what
/// follows a forwarded original or a signature delimiter are dropped.
pub fn reply_text(full: &str) -> String {
    let mut kept = Vec::new();
    for line in full.lines() {
        let t = line.trim();
        let starts_quote = (t.starts_with("On ") && t.ends_with("wrote:"))
            || t.starts_with("-----Original Message-----")
            || t == "--"
            || t == "-- "
            || line == "-- ";
        if starts_quote {
            break;
        }
        if !t.starts_with('>') {
            kept.push(line.trim_end());
        }
    }
    kept.join("\n").trim().to_owned()
}

/// `[R-123]` or `[S-45]` in a subject, else a bare `R-123` / `S-45` word
/// (people quote the reference as the "We received your request" mail asks).
pub fn subject_ticket(subject: &str) -> Option<TicketRef> {
    let bracketed = subject.split('[').skip(1).find_map(|s| TicketRef::parse(s.split(']').next()?).ok());
    let word = |w: &str| w.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("r-") || p.eq_ignore_ascii_case("s-"));
    bracketed.or_else(|| {
        subject
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| word(w))
            .find_map(|w| TicketRef::parse(w).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_keeps_only_what_is_new() {
        let full =
            "Tuesday works.\nThanks!\n\nOn Mon, Nov 2, 2026 at 10:05 AM Service Desk wrote:\n> Pick a time\n> here";
        assert_eq!(reply_text(full), "Tuesday works.\nThanks!");
        assert_eq!(reply_text("Yes\n> quoted\nstill mine\n-- \nCara\nDept"), "Yes\nstill mine");
        assert_eq!(reply_text("ok\n-----Original Message-----\nFrom: x"), "ok");
    }

    #[test]
    fn subjects_name_tickets_in_brackets() {
        assert_eq!(subject_ticket("Re: [R-12] Your new computer").map(|t| t.to_string()), Some("R-12".into()));
        assert_eq!(subject_ticket("Re: [S-45] VPN").map(|t| t.to_string()), Some("S-45".into()));
        assert_eq!(subject_ticket("Re: [urgent] R-12").map(|t| t.to_string()), Some("R-12".into()), "a bare word");
        assert_eq!(subject_ticket("Question about S-1, as you asked").map(|t| t.to_string()), Some("S-1".into()));
        assert_eq!(subject_ticket("Re: [S-2] about R-7").map(|t| t.to_string()), Some("S-2".into()), "brackets first");
        for none in ["FR-12 order", "R-12x", "R-", "R-0", "CR-1-2", "Re: lunch"] {
            assert_eq!(subject_ticket(none), None, "{none}");
        }
    }

    #[test]
    fn a_multipart_that_trips_the_parser_is_malformed_not_a_crash() {
        // Found by the fuzz test: nested parts reusing one boundary around
        // message/rfc822 parts.
        let raw = concat!(
            "Content-Type: multipart/mixed; boundary=\"0\"\r\n\r\n--0\r\n",
            "Content-Type: multipart/mixed; boundary=\"0\"\r\n\r\n--0\r\n",
            "Content-Type: message/rfc822\r\n\r\n\0\r\n--0\r\nContent-Type: message/rfc822\r\n\r\n\u{e}\r\n",
            "--0\r\nContent-Type: text/plain\r\n\r\n\r\n--0--\r\n"
        );
        // Read or refused depending on the parser's build; never a panic.
        let _ = parse(raw.as_bytes());
    }

    #[test]
    fn auto_replies_and_bounces_are_recognised() {
        let ooo = b"From: cara@example.edu\r\nTo: support@example.edu\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n";
        assert_eq!(parse(ooo).unwrap().automatic.as_deref(), Some("Auto-Submitted: auto-replied"));
        let no = b"From: cara@example.edu\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n";
        assert_eq!(parse(no).unwrap().automatic, None);
        let dsn = concat!(
            "From: MAILER-DAEMON@example.edu\r\nTo: support@example.edu\r\nSubject: Undelivered\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n",
            "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.edu\r\n\r\n",
            "Final-Recipient: rfc822; Gone@Example.edu\r\nAction: failed\r\nStatus: 5.1.1\r\n",
            "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <abc.deskbell@example.edu>\r\nSubject: x\r\n",
            "--b--\r\n"
        );
        let b = parse(dsn.as_bytes()).unwrap().bounce.unwrap();
        assert_eq!(b.original_message_id.as_deref(), Some("<abc.deskbell@example.edu>"));
        assert_eq!((b.recipient.as_deref(), b.status.as_str()), (Some("gone@example.edu"), "5.1.1"));
    }
}

/// Generated MIME, broken and whole, through the parser and the reply and
/// subject readers: nothing panics, whatever arrives. Bounded (256 cases
/// each), so it runs in every `cargo test`.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::channels::reply_token::verify;

    fn header() -> impl Strategy<Value = String> {
        const KNOWN: [&str; 10] = [
            "Subject",
            "From",
            "To",
            "In-Reply-To",
            "References",
            "Auto-Submitted",
            "Precedence",
            "Content-Type",
            "Content-Transfer-Encoding",
            "Return-Path",
        ];
        let name = prop_oneof![proptest::sample::select(&KNOWN[..]).prop_map(str::to_owned), "[A-Za-z-]{1,20}"];
        (name, "[ -~\u{80}-\u{2FF}]{0,60}").prop_map(|(n, v)| format!("{n}: {v}\r\n"))
    }

    fn part(depth: u32) -> BoxedStrategy<String> {
        let leaf = (
            prop_oneof![
                Just("text/plain"),
                Just("text/html"),
                Just("application/octet-stream"),
                Just("message/rfc822")
            ],
            prop_oneof![Just("utf-8"), Just("iso-8859-1"), Just("x-unknown-charset"), Just("")],
            prop_oneof![Just("7bit"), Just("base64"), Just("quoted-printable"), Just("8bit")],
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(ct, cs, cte, body)| {
                format!(
                    "Content-Type: {ct}; charset={cs}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{}\r\n",
                    String::from_utf8_lossy(&body)
                )
            });
        if depth == 0 {
            return leaf.boxed();
        }
        (proptest::collection::vec(part(depth - 1), 0..4), "[a-zA-Z0-9]{0,12}", any::<bool>())
            .prop_map(|(parts, boundary, close)| {
                let mut s = format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n");
                for p in parts {
                    s.push_str(&format!("--{boundary}\r\n{p}"));
                }
                if close {
                    s.push_str(&format!("--{boundary}--\r\n"));
                }
                s
            })
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_are_read_or_refused_without_panic(raw in proptest::collection::vec(any::<u8>(), 0..2_000)) {
            if let Ok(p) = parse(&raw) {
                let _ = (reply_text(&p.text), subject_ticket(&p.subject));
            }
        }

        #[test]
        fn generated_mime_is_read_without_panic(headers in proptest::collection::vec(header(), 0..8), body in part(2)) {
            let raw = format!("{}{body}", headers.concat());
            if let Ok(p) = parse(raw.as_bytes()) {
                let _ = (reply_text(&p.text), subject_ticket(&p.subject));
                for r in &p.recipients {
                    if let Ok(e) = crate::domain::Email::parse(r) {
                        let _ = verify(&e, &"key".into());
                    }
                }
            }
        }
    }
}
