//! Rules for text people type, shared by the services' domain types: lengths counted in
//! characters (not bytes), and no control characters but tab and line breaks. The error is the
//! message of a 422 that the caller pairs with the field's name.

/// No control characters other than tab, CR and LF.
pub fn no_control_chars(text: &str) -> Result<(), String> {
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// `raw`, trimmed, when it has `min..=max` characters and no control characters.
pub fn bounded(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        });
    }
    no_control_chars(text)?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_in_characters_and_control_characters_are_refused() {
        assert_eq!(bounded("  é  ", 1, 1), Ok("é".to_owned()));
        assert_eq!(bounded("", 1, 5), Err("must be 1 to 5 characters".to_owned()));
        assert_eq!(bounded("abcdef", 0, 5), Err("must be at most 5 characters".to_owned()));
        assert!(bounded("a\u{7}b", 0, 5).is_err());
        assert!(bounded("a\tb\nc", 0, 9).is_ok());
    }
}
