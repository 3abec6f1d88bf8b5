//! Quoting rejected input in error messages: never more than a short prefix, so a 40 MB amount makes a
//! 100-byte reason, not a 40 MB one (reasons are logged and stored with every rejection).

/// Bytes of a bad value an error message quotes at most.
pub const MAX_QUOTED: usize = 64;

/// `text` debug-quoted, cut to [`MAX_QUOTED`] bytes with its full length said when longer.
pub fn quoted(text: &str) -> String {
    if text.len() <= MAX_QUOTED {
        format!("{text:?}")
    } else {
        format!("{:?}… ({} bytes)", prefix(text, MAX_QUOTED), text.len())
    }
}

/// A map key as a field path shows it: whole up to the 66 characters of an account key (`0x` and 64 hex digits, the
/// longest key a batch has), otherwise [`quoted`], because keys are the sender's input as much as values are.
pub fn key_in_path(key: &str) -> std::borrow::Cow<'_, str> {
    const LONGEST_HONEST_KEY: usize = 66;
    if key.len() <= LONGEST_HONEST_KEY { key.into() } else { quoted(key).into() }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn prefix(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_measured() {
        assert_eq!(quoted("12"), "\"12\"");
        let long = "9".repeat(40_000_000);
        let q = quoted(&long);
        assert!(q.len() < 100 && q.ends_with("(40000000 bytes)"), "{q}");
        assert_eq!(prefix("héllo", 2), "h", "never splits a character");
    }
}
