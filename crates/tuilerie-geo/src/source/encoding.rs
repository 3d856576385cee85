//! Text encoding of DBF attribute tables: from a configuration override, the
//! `.cpg` file, or the DBF language-driver byte, in that order; ISO-8859-1
//! when nothing says otherwise (as GDAL does).

use dbase::encoding::{DynEncoding, EncodingRs};
use dbase::CodePageMark;

/// A resolved attribute encoding and how it was found.
pub struct DbfEncoding {
    pub encoding: DynEncoding,
    /// Canonical name, e.g. `UTF-8`, `ISO-8859-1`, `windows-1252`, `CP850`.
    pub name: String,
    /// `configuration`, `.cpg file`, `DBF language driver 0x57` or `default`.
    pub origin: String,
}

impl DbfEncoding {
    /// Describes the encoding for reports: `ISO-8859-1 (from .cpg file)`.
    pub fn describe(&self) -> String {
        format!("{} (from {})", self.name, self.origin)
    }
}

/// Resolves an encoding label as found in `.cpg` files and configurations:
/// WHATWG labels (`UTF-8`, `latin1`, `ISO-8859-15`, `windows-1252`), Windows
/// code page numbers (`1252`, `65001`, `28591`), ESRI forms (`ANSI 1252`,
/// `CP1252`) and DOS code pages (`437`, `850`). `None` for unknown labels
/// and for encodings whose ASCII is not ASCII (UTF-16, ISO-2022-JP...).
pub fn from_label(label: &str, origin: &str) -> Option<DbfEncoding> {
    let clean = label.trim().trim_start_matches('\u{feff}').trim();
    let upper = clean.to_ascii_uppercase();
    let number = upper
        .trim_start_matches("ANSI")
        .trim_start_matches("OEM")
        .trim()
        .trim_start_matches("CP")
        .trim_start_matches("WINDOWS-")
        .trim();
    let by_code: Option<&'static encoding_rs::Encoding> = match number.parse::<u32>() {
        Ok(65001) => Some(encoding_rs::UTF_8),
        Ok(20127) | Ok(1252) => Some(encoding_rs::WINDOWS_1252),
        Ok(n @ 1250..=1258) => encoding_rs::Encoding::for_label(format!("windows-{n}").as_bytes()),
        Ok(n @ 28591..=28605) => encoding_rs::Encoding::for_label(format!("iso-8859-{}", n - 28590).as_bytes()),
        Ok(866) => Some(encoding_rs::IBM866),
        Ok(874) => Some(encoding_rs::WINDOWS_874),
        Ok(932) => Some(encoding_rs::SHIFT_JIS),
        Ok(936) => Some(encoding_rs::GBK),
        Ok(949) => Some(encoding_rs::EUC_KR),
        Ok(950) => Some(encoding_rs::BIG5),
        Ok(437) => return dos(CodePageMark::CP437, "CP437", origin),
        Ok(850) => return dos(CodePageMark::CP850, "CP850", origin),
        Ok(852) => return dos(CodePageMark::CP852, "CP852", origin),
        Ok(_) => None,
        Err(_) => None,
    };
    let enc = by_code.or_else(|| match upper.as_str() {
        // WHATWG maps these to windows-1252, a superset for printable text.
        "ISO-8859-1" | "ISO8859-1" | "ISO88591" | "ISO_8859-1" | "LATIN1" | "LATIN-1" | "8859-1" | "88591" => {
            Some(encoding_rs::WINDOWS_1252)
        }
        "UTF8" => Some(encoding_rs::UTF_8),
        _ => encoding_rs::Encoding::for_label(clean.as_bytes()),
    })?;
    // DBF text is bytes with ASCII as ASCII: UTF-16, ISO-2022-JP (stateful),
    // WHATWG's "replacement" and x-user-defined would turn every value into
    // garbage, so such labels are refused like unknown ones.
    if !enc.is_ascii_compatible() || enc == encoding_rs::X_USER_DEFINED || enc == encoding_rs::REPLACEMENT {
        return None;
    }
    let name = if matches!(
        upper.as_str(),
        "ISO-8859-1" | "ISO8859-1" | "ISO88591" | "ISO_8859-1" | "LATIN1" | "LATIN-1" | "8859-1" | "88591"
    ) || number == "28591"
    {
        "ISO-8859-1".to_string()
    } else {
        enc.name().to_string()
    };
    Some(DbfEncoding { encoding: DynEncoding::from(EncodingRs::from(enc)), name, origin: origin.to_string() })
}

fn dos(mark: CodePageMark, name: &str, origin: &str) -> Option<DbfEncoding> {
    Some(DbfEncoding { encoding: mark.to_encoding()?, name: name.to_string(), origin: origin.to_string() })
}

/// The encoding named by a DBF language-driver id (header byte 29), if any.
pub fn from_language_driver(ldid: u8) -> Option<DbfEncoding> {
    let origin = format!("DBF language driver 0x{ldid:02X}");
    match ldid {
        0x00 => None,
        // ESRI writes 0x57 for ANSI (Windows-1252).
        0x57 => from_label("1252", &origin),
        0xF0 => from_label("UTF-8", &origin),
        other => {
            let mark = CodePageMark::from(other);
            match mark {
                CodePageMark::CP1252 => from_label("1252", &origin),
                CodePageMark::CP1250 => from_label("1250", &origin),
                CodePageMark::CP1251 => from_label("1251", &origin),
                CodePageMark::CP1253 => from_label("1253", &origin),
                CodePageMark::CP1254 => from_label("1254", &origin),
                CodePageMark::CP1255 => from_label("1255", &origin),
                CodePageMark::CP1256 => from_label("1256", &origin),
                CodePageMark::CP866 => from_label("866", &origin),
                CodePageMark::CP874 => from_label("874", &origin),
                CodePageMark::CP932 => from_label("932", &origin),
                CodePageMark::CP936 => from_label("936", &origin),
                CodePageMark::CP949 => from_label("949", &origin),
                CodePageMark::CP950 => from_label("950", &origin),
                CodePageMark::Invalid | CodePageMark::Undefined => None,
                m => {
                    let name = format!("{m:?}");
                    Some(DbfEncoding { encoding: m.to_encoding()?, name, origin })
                }
            }
        }
    }
}

/// GDAL's default when neither `.cpg` nor language driver tells.
pub fn default_encoding() -> DbfEncoding {
    let mut e = from_label("ISO-8859-1", "default").unwrap_or_else(|| DbfEncoding {
        encoding: DynEncoding::from(EncodingRs::from(encoding_rs::WINDOWS_1252)),
        name: "ISO-8859-1".into(),
        origin: String::new(),
    });
    e.origin = "default: no .cpg and no language driver".into();
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbase::encoding::Encoding;

    #[test]
    fn cpg_labels_resolve_to_encodings() {
        for (label, name) in [
            ("UTF-8", "UTF-8"),
            ("utf8", "UTF-8"),
            ("65001", "UTF-8"),
            ("ISO-8859-1", "ISO-8859-1"),
            ("LATIN1", "ISO-8859-1"),
            ("88591", "ISO-8859-1"),
            ("1252", "windows-1252"),
            ("ANSI 1252", "windows-1252"),
            ("CP1252", "windows-1252"),
            ("ISO-8859-15", "ISO-8859-15"),
            ("28605", "ISO-8859-15"),
            ("850", "CP850"),
        ] {
            let e = from_label(label, "test").unwrap_or_else(|| panic!("{label}"));
            assert_eq!(e.name, name, "{label}");
        }
        assert!(from_label("KLINGON-1", "test").is_none());
    }

    #[test]
    fn latin1_bytes_decode_to_french_names() {
        let e = from_label("ISO-8859-1", "test").unwrap();
        let bytes = b"M\xe9rignac";
        assert_eq!(e.encoding.decode(bytes).unwrap(), "Mérignac");
        let dos = from_label("850", "test").unwrap();
        assert_eq!(dos.encoding.decode(b"M\x82rignac").unwrap(), "Mérignac");
    }

    #[test]
    fn language_driver_bytes_are_honoured() {
        assert_eq!(from_language_driver(0x57).unwrap().name, "windows-1252");
        assert_eq!(from_language_driver(0x02).unwrap().name, "CP850");
        assert!(from_language_driver(0x00).is_none());
    }

    #[test]
    fn encodings_that_do_not_keep_ascii_are_refused() {
        for label in ["UTF-16", "UTF-16LE", "utf-16be", "ISO-2022-JP", "iso-2022-kr", "x-user-defined"] {
            assert!(from_label(label, ".cpg file").is_none(), "{label}");
        }
        for label in ["UTF-8", "LATIN1", "1252", "Shift_JIS", "850"] {
            assert!(from_label(label, ".cpg file").is_some(), "{label}");
        }
    }
}
