//! Email over SMTP (lettre on our own pooled connections; STARTTLS or TLS
//! from the URL), or into `.eml` files when no SMTP server is configured,
//! as in the demo.

use std::path::PathBuf;

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::SendError;
use super::reply_token::reply_address;
use super::smtp_pool::SmtpPool;
use crate::domain::{Email, Template, TicketRef};
use crate::templates::RenderedEmail;

pub enum Mailer {
    Smtp(SmtpPool),
    /// Writes each message to `DIR/<outbox id>-<template>.eml`.
    Files(PathBuf),
}

pub struct EmailChannel {
    pub mailer: Mailer,
    pub from: Mailbox,
    /// The base reply address and the key of its per-ticket tokens.
    pub reply: Option<(Email, SecretString)>,
}

/// One message as the dispatcher hands it over.
pub struct Outgoing<'a> {
    pub outbox_id: i64,
    pub dedupe_key: &'a str,
    pub ticket: Option<TicketRef>,
    pub template: Template,
    pub to: &'a str,
}

impl Mailer {
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://user:pass@host`
    /// (TLS) or `smtp://127.0.0.1:2525` (plain, for a local relay).
    /// `connections` is the pool size: as many as emails sent at once.
    pub fn smtp(url: &SecretString, connections: u32) -> Result<Self, String> {
        let pool = SmtpPool::from_url(url.expose_secret(), connections).map_err(|e| format!("email.smtp_url: {e}"))?;
        Ok(Self::Smtp(pool))
    }

    /// Whether the SMTP server answers (a connection and EHLO).
    pub async fn check(&self) -> Result<String, SendError> {
        match self {
            Self::Smtp(pool) => pool.check().await.map(|()| "ok".into()),
            Self::Files(dir) => Ok(format!("not configured: mail goes to {}", dir.display())),
        }
    }
}

impl EmailChannel {
    /// The same outbox row always gets the same Message-ID, so a resend is
    /// recognisably the same message and replies thread to the ticket.
    pub fn message_id(&self, dedupe_key: &str) -> String {
        let domain = self.from.email.domain();
        let hash = Sha256::digest(dedupe_key.as_bytes());
        format!("<{}.deskbell@{domain}>", hex::encode(&hash[..12]))
    }

    fn build(&self, m: &Outgoing<'_>, mail: &RenderedEmail) -> Result<Message, SendError> {
        let to: Mailbox = m.to.parse().map_err(|e| SendError::Permanent(format!("bad recipient '{}': {e}", m.to)))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(self.message_id(m.dedupe_key)));
        if let (Some((base, secret)), Some(ticket)) = (&self.reply, m.ticket) {
            let reply: Mailbox =
                reply_address(base, secret, ticket).as_str().parse().expect("a valid email is a mailbox");
            builder = builder.reply_to(reply);
        }
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| SendError::Permanent(format!("cannot build message: {e}")))?;
        // RFC 3834: automatic mail, so well-behaved responders do not answer it.
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
        Ok(message)
    }

    /// Sends and returns the Message-ID.
    pub async fn send(&self, m: &Outgoing<'_>, mail: &RenderedEmail) -> Result<String, SendError> {
        let message = self.build(m, mail)?;
        match &self.mailer {
            Mailer::Smtp(pool) => pool.send(&message).await?,
            Mailer::Files(dir) => {
                let path = dir.join(format!("{}-{}.eml", m.outbox_id, m.template));
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::Transient(format!("{}: {e}", dir.display())))?;
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| SendError::Transient(format!("{}: {e}", path.display())))?;
            }
        }
        Ok(self.message_id(m.dedupe_key))
    }
}
