//! Uploaded files: the one check of what a file claims to be (its declared type against its
//! bytes, its size) and of its name. KYC evidence and case attachments both go through it, each
//! with its own allow-list of types.

use std::fmt;

/// The kinds of file benteng takes. Each use names the kinds it accepts ([`DocumentType::KYC`],
/// [`DocumentType::CASE_ATTACHMENT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    Pdf,
    Png,
    Jpeg,
    /// UTF-8 text without control characters other than tab, line feed and carriage return.
    PlainText,
    /// Comma-separated values: checked as text.
    Csv,
}

/// Why a document is refused before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentRefusal {
    #[error("content type must be one of: {}", names(allowed))]
    UnsupportedType { allowed: &'static [DocumentType] },
    #[error("the document is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the document is empty")]
    Empty,
    #[error("the document's content is not a {declared} file")]
    ContentMismatch { declared: &'static str },
}

fn names(types: &[DocumentType]) -> String {
    types
        .iter()
        .map(|t| t.mime())
        .collect::<Vec<_>>()
        .join(", ")
}

impl DocumentType {
    pub const ALL: [DocumentType; 5] = [
        DocumentType::Pdf,
        DocumentType::Png,
        DocumentType::Jpeg,
        DocumentType::PlainText,
        DocumentType::Csv,
    ];
    /// What a tenant may upload as KYC evidence.
    pub const KYC: &'static [DocumentType] =
        &[DocumentType::Pdf, DocumentType::Png, DocumentType::Jpeg];
    /// What staff may attach to a case.
    pub const CASE_ATTACHMENT: &'static [DocumentType] = &DocumentType::ALL;

    pub const fn mime(self) -> &'static str {
        match self {
            DocumentType::Pdf => "application/pdf",
            DocumentType::Png => "image/png",
            DocumentType::Jpeg => "image/jpeg",
            DocumentType::PlainText => "text/plain",
            DocumentType::Csv => "text/csv",
        }
    }

    /// The `Content-Type` a download is served with: text is declared UTF-8 (it was checked to
    /// be), so no reader guesses another charset.
    pub const fn served_as(self) -> &'static str {
        match self {
            DocumentType::PlainText => "text/plain; charset=utf-8",
            DocumentType::Csv => "text/csv; charset=utf-8",
            other => other.mime(),
        }
    }

    /// The type a `Content-Type` header declares, among `allowed`: the media type only
    /// (parameters such as `charset` are ignored), compared without regard to case.
    pub fn from_content_type(
        header: &str,
        allowed: &'static [DocumentType],
    ) -> Result<Self, DocumentRefusal> {
        let media = header.split(';').next().unwrap_or("").trim();
        allowed
            .iter()
            .copied()
            .find(|t| t.mime().eq_ignore_ascii_case(media))
            .ok_or(DocumentRefusal::UnsupportedType { allowed })
    }

    /// The type named by its stored MIME text.
    pub fn from_mime(mime: &str) -> Option<Self> {
        DocumentType::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// Whether `bytes` are a file of this type: its magic bytes, or for text, UTF-8 without
    /// control characters (so no binary passes as text).
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            DocumentType::Pdf => bytes.starts_with(b"%PDF-"),
            DocumentType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            DocumentType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            DocumentType::PlainText | DocumentType::Csv => {
                std::str::from_utf8(bytes).is_ok_and(|text| {
                    text.chars()
                        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
                })
            }
        }
    }

    /// Checks a whole document of this declared type against the size cap and its content.
    pub fn check(self, bytes: &[u8], limit: usize) -> Result<(), DocumentRefusal> {
        if bytes.is_empty() {
            return Err(DocumentRefusal::Empty);
        }
        if bytes.len() > limit {
            return Err(DocumentRefusal::TooLarge { limit });
        }
        if !self.matches(bytes) {
            return Err(DocumentRefusal::ContentMismatch {
                declared: self.mime(),
            });
        }
        Ok(())
    }
}

/// The longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// A file's name as an uploader gives it, kept only to be shown and offered back on download:
/// 1 to 200 characters, no path (`/`, `\`), not `.` or `..`, none of the characters Windows
/// refuses in names (`< > : " | ? *`), no control or bidirectional-override characters (so a
/// name cannot hide its real extension). Surrounding spaces are trimmed.
#[derive(Clone, PartialEq, Eq)]
pub struct FileName(String);

/// Why a file name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileNameRefusal {
    #[error("the file name is empty")]
    Empty,
    #[error("the file name is longer than {MAX_FILE_NAME_CHARS} characters")]
    TooLong,
    #[error("the file name may not contain a path, control characters or < > : \" | ? *")]
    Forbidden,
}

impl FileNameRefusal {
    /// The field error code, like other fields' (`required`, `too_long`, `invalid_value`).
    pub fn code(self) -> &'static str {
        match self {
            FileNameRefusal::Empty => "required",
            FileNameRefusal::TooLong => "too_long",
            FileNameRefusal::Forbidden => "invalid_value",
        }
    }
}

/// Unicode's explicit direction controls: they can make `evil\u{202E}fdp.exe` read as
/// `evilexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl FileName {
    pub fn parse(text: &str) -> Result<Self, FileNameRefusal> {
        let text = text.trim_matches(' ');
        if text.is_empty() {
            return Err(FileNameRefusal::Empty);
        }
        if text.chars().count() > MAX_FILE_NAME_CHARS {
            return Err(FileNameRefusal::TooLong);
        }
        let forbidden = |c: char| {
            c.is_control()
                || is_bidi_control(c)
                || matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
        };
        if text.chars().any(forbidden) || text == "." || text == ".." {
            return Err(FileNameRefusal::Forbidden);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A `Content-Disposition: attachment` value offering this name: an ASCII fallback
    /// (`filename`, other characters as `_`) and the exact name (`filename*`, RFC 8187).
    pub fn content_disposition(&self) -> String {
        let fallback: String = self
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut exact = String::new();
        for byte in self.0.bytes() {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                exact.push(char::from(byte));
            } else {
                exact.push_str(&format!("%{byte:02X}"));
            }
        }
        format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn documents_are_checked_by_type_size_and_content() {
        let kyc = DocumentType::KYC;
        let pdf = DocumentType::from_content_type("Application/PDF; charset=binary", kyc).unwrap();
        assert_eq!(pdf, DocumentType::Pdf);
        assert!(matches!(
            DocumentType::from_content_type("image/gif", kyc),
            Err(DocumentRefusal::UnsupportedType { .. })
        ));
        // Text is a case attachment, not KYC evidence.
        assert!(DocumentType::from_content_type("text/plain", kyc).is_err());
        assert_eq!(
            DocumentType::from_content_type(
                "text/csv; charset=utf-8",
                DocumentType::CASE_ATTACHMENT
            ),
            Ok(DocumentType::Csv)
        );
        assert_eq!(pdf.check(b"%PDF-1.7 ...", 100), Ok(()));
        assert!(matches!(
            pdf.check(b"\x89PNG\r\n\x1a\n", 100),
            Err(DocumentRefusal::ContentMismatch { .. })
        ));
        assert_eq!(
            pdf.check(b"%PDF-1.7 ...", 5),
            Err(DocumentRefusal::TooLarge { limit: 5 })
        );
        assert_eq!(pdf.check(b"", 5), Err(DocumentRefusal::Empty));
        assert_eq!(
            DocumentType::Png.check(b"\x89PNG\r\n\x1a\nIHDR", 100),
            Ok(())
        );
        assert_eq!(
            DocumentType::Jpeg.check(&[0xFF, 0xD8, 0xFF, 0xE0], 100),
            Ok(())
        );
        assert!(DocumentType::Jpeg.check(b"%PDF-", 100).is_err());
        let text = DocumentType::PlainText;
        assert_eq!(
            text.check("name,amount\r\nBudi,10\tü\n".as_bytes(), 100),
            Ok(())
        );
        assert!(text.check(b"\x89PNG\r\n\x1a\n", 100).is_err());
        assert!(text.check(b"a\0b", 100).is_err());
        assert!(text.check(b"\xff\xfe", 100).is_err());
        assert!(DocumentType::Csv.check(b"a,\x1b[31m", 100).is_err());
    }

    #[test]
    fn file_names_refuse_paths_markup_and_hidden_characters() {
        assert_eq!(
            FileName::parse("  bank statement 2026-03.pdf ")
                .unwrap()
                .as_str(),
            "bank statement 2026-03.pdf"
        );
        assert_eq!(
            FileName::parse("Überweisung.pdf").unwrap().as_str(),
            "Überweisung.pdf"
        );
        for bad in [
            "../../etc/passwd",
            "..\\boot.ini",
            "<script>alert(1)</script>.pdf",
            // Markup without a slash: refused for its `<` and `>` alone.
            "<script>.pdf",
            "<img src=x onerror=alert(1)>.png",
            "a\"b.pdf",
            "c:evil",
            "line\nbreak.pdf",
            "nul\0.pdf",
            "evil\u{202E}fdp.exe",
            "..",
            ".",
        ] {
            assert_eq!(
                FileName::parse(bad),
                Err(FileNameRefusal::Forbidden),
                "{bad:?}"
            );
        }
        assert_eq!(FileName::parse("   "), Err(FileNameRefusal::Empty));
        assert_eq!(
            FileName::parse(&"a".repeat(201)),
            Err(FileNameRefusal::TooLong)
        );
        assert!(FileName::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn the_download_name_is_quoted_safely() {
        let name = FileName::parse("Laporan Ü 100%.pdf").unwrap();
        assert_eq!(
            name.content_disposition(),
            "attachment; filename=\"Laporan _ 100%.pdf\"; \
             filename*=UTF-8''Laporan%20%C3%9C%20100%25.pdf"
        );
    }
}
