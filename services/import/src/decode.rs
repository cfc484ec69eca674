//! Bytes → text. Owns the decision whether a file is a text letter at all, before any parsing:
//! binary files, empty files and text in another encoding are refused with a message that
//! says which, instead of being parsed into nonsense.

use crate::error::ImportError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How much of the file the control-character check looks at.
const SNIFF_LEN: usize = 64 * 1024;

/// Decode a letter file. Accepts UTF-8 with or without a byte-order mark; refuses binary
/// content (NUL bytes, or more than 1 % control characters), UTF-16, other encodings (naming
/// the byte offset of the first invalid byte) and files that are empty or only whitespace.
pub fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::WrongEncoding {
            offset: 0,
            byte: bytes[0],
            hint: " (the file starts with a UTF-16 byte-order mark)".into(),
        });
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(ImportError::Binary {
            reason: format!("it contains a NUL byte at offset {offset}"),
        });
    }
    let sniff = &bytes[..bytes.len().min(SNIFF_LEN)];
    let controls = sniff.iter().filter(|&&b| is_odd_control(b)).count();
    if controls * 100 > sniff.len() {
        return Err(ImportError::Binary {
            reason: format!(
                "{controls} of its first {} bytes are control characters",
                sniff.len()
            ),
        });
    }
    let (body, skipped) = match bytes.strip_prefix(BOM) {
        Some(rest) => (rest, BOM.len()),
        None => (bytes, 0),
    };
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        ImportError::WrongEncoding {
            offset: at + skipped,
            byte: body[at],
            hint: encoding_hint(&body[at..]),
        }
    })?;
    if text.trim().is_empty() {
        return Err(ImportError::Blank);
    }
    Ok(text.to_string())
}

/// Control characters that do not occur in text. Tab, line feed, carriage return and form
/// feed (PDF converters put one at each page break) do.
fn is_odd_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F
}

/// Latin-1 / Windows-1252 put æ, ø, å as single bytes 0xC0–0xFF followed by plain ASCII,
/// which UTF-8 never does.
fn encoding_hint(rest: &[u8]) -> String {
    match rest {
        [first, next, ..] if *first >= 0xC0 && next.is_ascii() => {
            " (the file looks like Latin-1 or Windows-1252)".into()
        }
        [first] if *first >= 0xC0 => " (the file looks like Latin-1 or Windows-1252)".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_and_bom() {
        assert_eq!(
            decode("Tildelingsbrev 2024 – æøå".as_bytes()).unwrap(),
            "Tildelingsbrev 2024 – æøå"
        );
        let mut with_bom = BOM.to_vec();
        with_bom.extend_from_slice("Tillegg nr. 1".as_bytes());
        assert_eq!(decode(&with_bom).unwrap(), "Tillegg nr. 1");
    }

    #[test]
    fn form_feeds_and_tabs_are_text() {
        assert!(decode(b"Side 1\x0c\tSide 2\r\n").is_ok());
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(decode(b""), Err(ImportError::Empty));
        assert_eq!(decode(b" \n\t\r\n "), Err(ImportError::Blank));
        assert_eq!(decode(b"\xEF\xBB\xBF\n"), Err(ImportError::Blank));
    }

    #[test]
    fn nul_byte_is_binary() {
        let err = decode(b"%PDF-1.7\n\x00\x01\x02").unwrap_err();
        assert_eq!(
            err,
            ImportError::Binary {
                reason: "it contains a NUL byte at offset 9".into()
            }
        );
    }

    #[test]
    fn many_control_characters_are_binary() {
        let mut bytes = b"abc".repeat(30);
        bytes.extend_from_slice(&[0x01, 0x02, 0x03, 0x1B]);
        assert!(matches!(decode(&bytes), Err(ImportError::Binary { .. })));
    }

    #[test]
    fn latin1_names_the_offset() {
        // "Bærekraftig" in Latin-1: æ is the single byte 0xE6 at offset 1.
        let err = decode(b"B\xE6rekraftig").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong encoding: byte 0xE6 at offset 1 is not valid UTF-8 (the file looks like \
             Latin-1 or Windows-1252); save the letter as UTF-8 text and try again"
        );
    }

    #[test]
    fn offset_counts_the_bom() {
        let err = decode(b"\xEF\xBB\xBFab\xF8").unwrap_err();
        assert!(matches!(
            err,
            ImportError::WrongEncoding {
                offset: 5,
                byte: 0xF8,
                ..
            }
        ));
    }

    #[test]
    fn utf16_is_wrong_encoding() {
        let err = decode(b"\xFF\xFEa\x00b\x00").unwrap_err();
        assert!(matches!(err, ImportError::WrongEncoding { offset: 0, .. }));
    }
}
