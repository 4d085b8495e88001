//! Admin API keys. A key is shown once when issued; only its SHA-256 is stored. Keys carry 256 random bits, so a
//! fast hash is enough: there is nothing to brute-force that a slow hash would protect.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "ithub_";

/// A new random key and the hash to store for it.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("{PREFIX}{}", hex::encode(bytes));
    let hash = hash(&key);
    (key, hash)
}

/// The key in an `Authorization: Bearer <key>` header value.
pub fn bearer(header: &str) -> Option<&str> {
    header.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty())
}

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_bearer_headers_carry_a_key() {
        assert_eq!(super::bearer("Bearer ithub_abc"), Some("ithub_abc"));
        assert_eq!(super::bearer("Bearer  "), None);
        assert_eq!(super::bearer("Basic ithub_abc"), None);
        assert_eq!(super::bearer("bearer ithub_abc"), None);
    }

    #[test]
    fn keys_are_unique_and_only_their_hash_matches() {
        let (a, ha) = super::generate();
        let (b, hb) = super::generate();
        assert_ne!(a, b);
        assert!(a.starts_with(super::PREFIX) && a.len() == super::PREFIX.len() + 64);
        assert_eq!(super::hash(&a), ha);
        assert_ne!(ha, hb);
        assert!(!ha.contains(&a[super::PREFIX.len()..]));
    }
}
