//! Email addresses, parsed once at the edge (import, config, API) so the rest
//! of deskbell never handles an unchecked string as an address.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid email address")]
pub struct BadEmail(pub String);

impl Email {
    /// Accepts `local@domain.tld` with no spaces, one `@`, a dotted domain
    /// and nothing that would let a header be injected. Stored lowercased so
    /// lookups by address match however a person typed it.
    pub fn parse(s: &str) -> Result<Self, BadEmail> {
        let s = s.trim();
        let bad = || BadEmail(s.to_owned());
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if local.is_empty() || local.len() > 64 || !domain_ok || "<>,;\"".chars().any(|c| s.contains(c)) {
            return Err(bad());
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = BadEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases() {
        assert_eq!(Email::parse(" Ann.Lee+x@Umich.EDU ").unwrap().as_str(), "ann.lee+x@umich.edu");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@umich.edu",
            "ann@umich",
            "a b@x.org",
            "ann@x..org",
            "a@b.c\r\nBcc: x@y.z",
            "<a@b.org>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
