//! The opaque list cursor: the last key of a page, hex-encoded so that it uses only
//! `[A-Za-z0-9_-]`. Paging by "keys after this one" is what keeps a walk stable while
//! other keys are inserted or deleted.

use crate::error::{Error, Result};
use crate::model::Key;

/// The cursor that resumes a listing after `last_key`.
pub fn encode(last_key: &str) -> String {
    let mut out = String::with_capacity(last_key.len() * 2);
    for b in last_key.bytes() {
        out.push(char::from(HEX[(b >> 4) as usize]));
        out.push(char::from(HEX[(b & 15) as usize]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The last key a cursor stands for; anything else is `INVALID_INPUT`.
pub fn decode(cursor: &str) -> Result<String> {
    let bad =
        || Error::invalid("invalid cursor: pass back a cursor exactly as a listing returned it");
    if !cursor.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = cursor
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let key = String::from_utf8(bytes).map_err(|_| bad())?;
    Key::parse(&key).map_err(|_| bad())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_uses_only_safe_characters() {
        let c = encode("a.B_c-9");
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(decode(&c).unwrap(), "a.B_c-9");
    }

    #[test]
    fn garbage_is_invalid_input() {
        for bad in ["", "0", "zz", "2f", "%%", "ff00"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in "\\PC{0,40}") {
            let _ = decode(&s);
        }

        #[test]
        fn every_key_round_trips(k in "[a-zA-Z0-9][a-zA-Z0-9._-]{0,60}") {
            prop_assert_eq!(decode(&encode(&k)).unwrap(), k);
        }
    }
}
