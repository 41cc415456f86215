//! The SMTP listener a site's mail server relays the support address to.
//! mailin runs the protocol; each complete message is stored before the
//! client hears 250, so an accepted message is never lost (a storage
//! failure answers 451 and the sender's server tries again). The envelope
//! is kept beside the message: bounces and auto-replies are sent with the
//! null reverse-path (`MAIL FROM:<>`) and are known by it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use mailin::{Action, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::Inbound;
use crate::store::Envelope;

/// The longest command or data line accepted (RFC 5321 asks for 1 000).
const MAX_LINE: usize = 64 * 1024;
/// A client silent this long is dropped (RFC 5321's server timeout).
const IDLE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// One message's envelope and bytes as mailin hands them over.
#[derive(Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    limit: usize,
    too_large: bool,
    complete: bool,
    /// The message was over the limit: the client is answered 552.
    refused: bool,
}

/// mailin keeps its handler; the session reads the mail through this share.
struct Collect(Arc<Mutex<Mail>>);

impl Collect {
    fn mail(&self) -> std::sync::MutexGuard<'_, Mail> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Handler for Collect {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        let mut m = Collect::mail(self);
        m.from = from.trim_matches(['<', '>']).to_owned();
        m.to.clear();
        m.data.clear();
        m.too_large = false;
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        Collect::mail(self).to.push(to.trim_matches(['<', '>']).to_lowercase());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut m = Collect::mail(self);
        if m.data.len() + buf.len() > m.limit {
            m.too_large = true;
        } else {
            m.data.extend_from_slice(buf);
        }
        Ok(())
    }

    /// mailin stays in its DATA state after an error answer here, and would
    /// swallow the client's RSET as message text; so it is always told OK
    /// and the session answers 552 for a message over the limit.
    fn data_end(&mut self) -> Response {
        let mut m = Collect::mail(self);
        m.refused = m.too_large;
        m.complete = !m.too_large;
        response::OK
    }
}

/// mailin wants a non-empty reverse-path, but delivery status notifications
/// and RFC 3834 auto-replies come with the null one, `MAIL FROM:<>` (RFC 5321
/// §4.5.5): such a line is handed to mailin with a placeholder path, and the
/// session records the sender as empty.
fn null_reverse_path(line: &[u8]) -> Option<Vec<u8>> {
    const MAIL_FROM: &[u8] = b"mail from:";
    let head = line.get(..MAIL_FROM.len())?;
    if !head.eq_ignore_ascii_case(MAIL_FROM) {
        return None;
    }
    let rest = line[MAIL_FROM.len()..].trim_ascii_start();
    let params = rest.strip_prefix(b"<>")?;
    Some([b"MAIL FROM:<null-sender>".as_slice(), params].concat())
}

/// Serves until `stop` turns true.
pub async fn serve(listener: TcpListener, inbound: Inbound, limit: usize, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let inbound = inbound.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(stream, peer.ip(), inbound, limit).await {
                            tracing::warn!(%peer, error = %e, "SMTP session ended with an error");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "SMTP accept failed"),
            },
        }
    }
}

async fn session(stream: TcpStream, peer: IpAddr, inbound: Inbound, limit: usize) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let shared = Arc::new(Mutex::new(Mail { limit, ..Mail::default() }));
    let mut smtp = SessionBuilder::new("deskbell").build(peer, Collect(shared.clone()));
    write.write_all(&smtp.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut read).take(MAX_LINE as u64);
        let Ok(n) = tokio::time::timeout(IDLE, limited.read_until(b'\n', &mut line)).await else {
            write.write_all(&response::NO_SERVICE.buffer()?).await?;
            return Ok(());
        };
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let null_path = null_reverse_path(&line);
        let mut reply = smtp.process(null_path.as_deref().unwrap_or(&line));
        let done = {
            let mut m = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if null_path.is_some() {
                m.from.clear();
            }
            if std::mem::take(&mut m.refused) {
                reply = response::NO_STORAGE;
            }
            std::mem::take(&mut m.complete).then(|| {
                let envelope = Envelope { from: Some(m.from.clone()), to: m.to.clone() };
                (envelope, std::mem::take(&mut m.data))
            })
        };
        if let Some((envelope, raw)) = done {
            if let Err(e) = inbound.receive("smtp", &envelope, &raw).await {
                tracing::error!(error = %e, "could not store an inbound message; the sender will retry");
                reply = response::INTERNAL_ERROR;
            }
        }
        match reply.action {
            Action::NoReply => {}
            Action::Close => {
                write.write_all(&reply.buffer()?).await?;
                return Ok(());
            }
            _ => write.write_all(&reply.buffer()?).await?,
        }
    }
}
