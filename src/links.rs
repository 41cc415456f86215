//! Signed links deskbell puts in messages: the customer's refresh page and
//! slot-picking page, signed alike.
//! Only deskbell can make a link's token, so a guessed ticket number does
//! not open someone else's booking.

use secrecy::SecretString;

use crate::domain::TicketRef;
use crate::signing::{same, tag};

#[derive(Debug, Clone)]
pub struct Links {
    pub public_url: String,
    pub secret: SecretString,
}

impl Links {
    fn token(&self, ticket: TicketRef) -> String {
        tag(&self.secret, &format!("pick:{ticket}"), 16)
    }

    /// Where the customer of `ticket` picks a delivery slot.
    pub fn pick_slot(&self, ticket: TicketRef) -> String {
        format!("{}/pick/{ticket}?token={}", self.public_url.trim_end_matches('/'), self.token(ticket))
    }

    /// Where the customer of `ticket` answers the refresh wizard.
    pub fn refresh_page(&self, ticket: TicketRef) -> String {
        format!("{}/refresh/{ticket}?token={}", self.public_url.trim_end_matches('/'), self.token(ticket))
    }

    pub fn verify(&self, ticket: TicketRef, token: &str) -> bool {
        same(&self.token(ticket), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RefreshTicketId;

    #[test]
    fn a_pick_link_opens_its_own_ticket_only() {
        let links = Links { public_url: "https://deskbell.example.edu/".into(), secret: "k".into() };
        let r1 = TicketRef::Refresh(RefreshTicketId(1));
        let url = links.pick_slot(r1);
        let token = url.split("token=").nth(1).unwrap();
        assert!(url.starts_with("https://deskbell.example.edu/pick/R-1?token="));
        assert!(links.verify(r1, token));
        assert!(!links.verify(TicketRef::Refresh(RefreshTicketId(2)), token));
    }
}
