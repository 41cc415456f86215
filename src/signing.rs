//! Short HMAC-SHA256 tags for values deskbell hands out and must recognise
//! later (reply addresses, calendar links), compared in constant time.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The first `bytes` bytes of HMAC-SHA256(secret, message), in hex.
pub fn tag(secret: &SecretString, message: &str, bytes: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..bytes])
}

/// Equality that takes the same time wherever the strings differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_secret_and_message() {
        let k = SecretString::from("k");
        assert_eq!(tag(&k, "a", 8), tag(&k, "a", 8));
        assert_ne!(tag(&k, "a", 8), tag(&k, "b", 8));
        assert_ne!(tag(&k, "a", 8), tag(&SecretString::from("j"), "a", 8));
        assert_eq!(tag(&k, "a", 8).len(), 16);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
