//! The per-ticket reply address: `support+R-12.<token>@example.edu`, where
//! the token is an HMAC of the ticket reference. Replies carry it back, and
//! only deskbell can make a token, so a guessed ticket number cannot attach
//! mail to someone else's ticket.

use secrecy::SecretString;

use crate::domain::{Email, TicketRef};
use crate::signing::{same, tag};

fn token(secret: &SecretString, ticket: TicketRef) -> String {
    tag(secret, &ticket.to_string(), 8)
}

/// `base` with `+<ticket>.<token>` added to its local part.
pub fn reply_address(base: &Email, secret: &SecretString, ticket: TicketRef) -> Email {
    let (local, domain) = base.as_str().split_once('@').expect("a parsed email has an @");
    let address = format!("{local}+{}.{}@{domain}", ticket.to_string().to_lowercase(), token(secret, ticket));
    Email::parse(&address).expect("a plus-address of a valid email is valid")
}

/// The ticket a reply address names, if its token is genuine.
pub fn verify(address: &Email, secret: &SecretString) -> Option<TicketRef> {
    let local = address.as_str().split_once('@')?.0;
    let (ticket, tok) = local.split_once('+')?.1.split_once('.')?;
    let ticket = TicketRef::parse(ticket).ok()?;
    same(&token(secret, ticket), tok).then_some(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RefreshTicketId;

    #[test]
    fn a_reply_address_verifies_and_a_forged_one_does_not() {
        let secret = SecretString::from("k3y");
        let base = Email::parse("support@example.edu").unwrap();
        let r12 = TicketRef::Refresh(RefreshTicketId(12));
        let addr = reply_address(&base, &secret, r12);
        assert!(addr.as_str().starts_with("support+r-12.") && addr.as_str().ends_with("@example.edu"));
        assert_eq!(verify(&addr, &secret), Some(r12));
        let forged = Email::parse(&addr.as_str().replace("r-12", "r-13")).unwrap();
        assert_eq!(verify(&forged, &secret), None);
        assert_eq!(verify(&addr, &SecretString::from("other")), None);
        assert_eq!(verify(&base, &secret), None);
    }
}
