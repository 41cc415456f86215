//! SMTP connections deskbell opens itself and keeps for reuse. lettre
//! speaks SMTP on them; the connections are ours so TCP_NODELAY can be set:
//! lettre writes a message's closing `\r\n.\r\n` as a small write of its
//! own, which Nagle's algorithm holds until the server's delayed ACK (about
//! 40 ms a message) — and each recipient's mail goes one message at a time.
//! lettre's own pool opens its sockets without that option.

use std::sync::Mutex;

use lettre::Message;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::SendError;

/// How the connection is secured, from the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtp://host` (a local relay).
    Plain,
    /// `smtp://host?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtp://host?tls=required`: STARTTLS or nothing.
    Required,
    /// `smtps://host`: TLS from the first byte.
    Implicit,
}

pub struct SmtpPool {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    /// One per connection: at most this many messages in flight.
    slots: Semaphore,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpPool({}:{}, {:?})", self.host, self.port, self.security)
    }
}

impl SmtpPool {
    /// `smtp://[user:password@]host[:port][?tls=required|opportunistic]` or
    /// `smtps://…`, the forms lettre reads; `connections` at most.
    pub fn from_url(url: &str, connections: u32) -> Result<Self, String> {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = url.host_str().ok_or("no host")?.to_owned();
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (security, port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtp", Some("required")) => (Security::Required, 587),
            ("smtps", _) => (Security::Implicit, 465),
            (scheme, tls) => return Err(format!("unsupported: scheme '{scheme}', tls {tls:?}")),
        };
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!url.username().is_empty())
            .then(|| Credentials::new(decode(url.username()), decode(url.password().unwrap_or_default())));
        Ok(Self {
            host,
            port: url.port().unwrap_or(port),
            security,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(connections.max(1) as usize),
        })
    }

    /// Sends one message on a kept connection (or a new one). A kept
    /// connection the server has closed meanwhile fails before any reply:
    /// the message is then sent once more on a fresh connection.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _slot = self.slots.acquire().await.expect("the semaphore is never closed");
        let (envelope, bytes) = (message.envelope(), message.formatted());
        let kept = self.idle.lock().expect("not poisoned").pop();
        let reused = kept.is_some();
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut sent = conn.send(envelope, &bytes).await;
        if let Err(e) = &sent
            && reused
            && !e.is_response()
        {
            conn.abort().await;
            conn = self.connect().await?;
            sent = conn.send(envelope, &bytes).await;
        }
        if sent.is_ok() && !conn.has_broken() {
            self.idle.lock().expect("not poisoned").push(conn);
        } else {
            conn.abort().await;
        }
        sent.map(drop).map_err(|e| classify(&e))
    }

    /// Whether the server answers (a new connection, EHLO, QUIT).
    pub async fn check(&self) -> Result<(), SendError> {
        let mut conn = self.connect().await?;
        conn.quit().await.map(drop).map_err(|e| classify(&e))
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let smtp = |e: SmtpError| classify(&e);
        let tls = || TlsParameters::new(self.host.clone()).map_err(smtp);
        let mut conn = if self.security == Security::Implicit {
            // TLS from the first byte: lettre opens this socket itself.
            let timeout = Some(std::time::Duration::from_secs(30));
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                timeout,
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(smtp)?
        } else {
            let io = |e: std::io::Error| SendError::Transient(format!("{}:{}: {e}", self.host, self.port));
            let tcp = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(io)?;
            tcp.set_nodelay(true).map_err(io)?;
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await.map_err(smtp)?
        };
        let starttls = match self.security {
            Security::Required => true,
            Security::Opportunistic => conn.can_starttls(),
            Security::Plain | Security::Implicit => false,
        };
        if starttls {
            conn.starttls(tls()?, &self.hello).await.map_err(smtp)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await.map_err(smtp)?;
        }
        Ok(conn)
    }
}

/// A 5xx reply is permanent; anything else may pass on a later attempt.
fn classify(e: &SmtpError) -> SendError {
    if e.is_permanent() { SendError::Permanent(e.to_string()) } else { SendError::Transient(e.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_urls_lettre_reads() {
        let p = SmtpPool::from_url("smtp://127.0.0.1:2525", 4).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.security, p.credentials.is_none()),
            ("127.0.0.1", 2525, Security::Plain, true)
        );
        let p = SmtpPool::from_url("smtp://desk%40example.edu:s%3Dcret@mail.example.edu?tls=required", 4).unwrap();
        assert_eq!((p.port, p.security), (587, Security::Required));
        assert_eq!(p.credentials, Some(Credentials::new("desk@example.edu".into(), "s=cret".into())));
        assert_eq!(SmtpPool::from_url("smtps://mail.example.edu", 1).unwrap().port, 465);
        assert_eq!(SmtpPool::from_url("smtp://h?tls=opportunistic", 1).unwrap().security, Security::Opportunistic);
        assert!(SmtpPool::from_url("imap://mail.example.edu", 1).unwrap_err().contains("imap"));
        assert!(SmtpPool::from_url("smtp://h?tls=sometimes", 1).is_err());
        assert!(SmtpPool::from_url("not a url", 1).is_err());
    }
}
