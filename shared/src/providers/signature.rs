//! Webhook signatures: an HMAC over a delivery's parts (its body, and for some HR systems a timestamp after it),
//! keyed with one of the connection's secrets (two while one is rotated) and compared in constant time. Each
//! connector reads its own header and decodes its own encoding (hex, Base64) into the bytes checked here.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

/// The HMAC an HR system signs its deliveries with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha512,
}

/// The HMAC of `message` (its parts one after another, as if joined) keyed with `key`.
pub fn sign(algorithm: Algorithm, key: &[u8], message: &[&[u8]]) -> Vec<u8> {
    fn sign_with<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[&[u8]]) -> Vec<u8> {
        // HMAC takes a key of any length; were one refused, an empty signature matches nothing.
        let Ok(mut mac) = <M as Mac>::new_from_slice(key) else { return Vec::new() };
        message.iter().for_each(|part| mac.update(part));
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::HmacSha256 => sign_with::<Hmac<Sha256>>(key, message),
        Algorithm::HmacSha512 => sign_with::<Hmac<Sha512>>(key, message),
    }
}

/// Whether one of `secrets` signs `message` (its parts one after another) as `expected`, the signature a
/// delivery carries, decoded: each secret's HMAC is compared with it in constant time, whole (a prefix of the
/// right signature does not match).
pub fn any_secret_signs(secrets: &[String], algorithm: Algorithm, message: &[&[u8]], expected: &[u8]) -> bool {
    fn signs<M: Mac + hmac::digest::KeyInit>(secret: &str, message: &[&[u8]], expected: &[u8]) -> bool {
        let Ok(mut mac) = <M as Mac>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        message.iter().for_each(|part| mac.update(part));
        mac.verify_slice(expected).is_ok()
    }
    secrets.iter().any(|secret| match algorithm {
        Algorithm::HmacSha256 => signs::<Hmac<Sha256>>(secret, message, expected),
        Algorithm::HmacSha512 => signs::<Hmac<Sha512>>(secret, message, expected),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const SHA256: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    const SHA512: &str = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcae\
                          ab1a34d4a6b4b636e070a38bce737";

    #[test]
    fn signs_as_rfc_4231_says_whichever_way_the_message_is_cut() {
        assert_eq!(hex::encode(sign(Algorithm::HmacSha256, KEY, &[DATA])), SHA256);
        assert_eq!(hex::encode(sign(Algorithm::HmacSha512, KEY, &[DATA])), SHA512);
        let (body, tail) = DATA.split_at(10);
        assert_eq!(hex::encode(sign(Algorithm::HmacSha256, KEY, &[body, tail])), SHA256);
    }

    #[test]
    fn any_of_the_secrets_may_sign_and_none_else() {
        let expected = hex::decode(SHA256).unwrap();
        let rotating = ["old".to_owned(), "Jefe".to_owned()];
        assert!(
            any_secret_signs(&rotating, Algorithm::HmacSha256, &[DATA], &expected),
            "the new secret during a rotation"
        );
        assert!(!any_secret_signs(&rotating[..1], Algorithm::HmacSha256, &[DATA], &expected), "another secret");
        assert!(!any_secret_signs(&[], Algorithm::HmacSha256, &[DATA], &expected), "no secret");
        assert!(!any_secret_signs(&rotating, Algorithm::HmacSha256, &[b"what do ya want"], &expected), "another body");
        assert!(!any_secret_signs(&rotating, Algorithm::HmacSha512, &[DATA], &expected), "another algorithm");
    }

    #[test]
    fn only_the_whole_signature_matches() {
        let expected = hex::decode(SHA512).unwrap();
        let secrets = ["Jefe".to_owned()];
        assert!(any_secret_signs(&secrets, Algorithm::HmacSha512, &[DATA], &expected));
        for cut in [0, 1, 32, expected.len() - 1] {
            assert!(!any_secret_signs(&secrets, Algorithm::HmacSha512, &[DATA], &expected[..cut]), "{cut} bytes");
        }
        let mut longer = expected.clone();
        longer.push(0);
        assert!(!any_secret_signs(&secrets, Algorithm::HmacSha512, &[DATA], &longer));
    }
}
