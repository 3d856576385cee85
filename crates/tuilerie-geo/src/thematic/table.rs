//! CSV statistics tables as agents have them: `;` or `,` (or tab)
//! separated, UTF-8 or Windows-1252/ISO-8859-1, a header row, codes such as
//! "01001" or "2A004" kept as text. Every cell stays text; numbers are parsed
//! where a map uses a column (French decimal commas accepted there).

use super::ThematicError;
use std::path::Path;

/// A parsed CSV table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it came from (file name or upload name), for messages.
    pub name: String,
    pub columns: Vec<String>,
    /// Cells by row; every row has `columns.len()` cells.
    pub rows: Vec<Vec<String>>,
    /// The 1-based line number of each row in the file (the header is line 1).
    pub lines: Vec<usize>,
    /// `;`, `,` or `\t`.
    pub delimiter: char,
    /// `UTF-8` or `windows-1252`.
    pub encoding: &'static str,
}

impl Table {
    /// Reads a CSV file.
    pub fn read(path: &Path) -> Result<Table, ThematicError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ThematicError::new("path", format!("{}: cannot read: {e}", path.display())))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Table::parse(&name, &bytes)
    }

    /// Parses CSV bytes: encoding and delimiter are detected.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Table, ThematicError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (text, encoding) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), "UTF-8"),
            // Not UTF-8: the Windows superset of ISO-8859-1 (what Excel writes in France).
            Err(_) => (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(), "windows-1252"),
        };
        let header = text.lines().next().unwrap_or("");
        if header.trim().is_empty() {
            return Err(ThematicError::new("csv", format!("{name}: empty file or empty header line")));
        }
        let delimiter = detect_delimiter(header);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter as u8)
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| ThematicError::new("csv", format!("{name}: line 1: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(ThematicError::new("csv", format!("{name}: line 1: column {} has no name", i + 1)));
            }
            if columns[..i].contains(c) {
                return Err(ThematicError::new("csv", format!("{name}: line 1: column {c:?} appears twice")));
            }
        }
        // Line numbers from byte offsets (the csv crate's own line count
        // does not follow CRLF files or blank lines).
        let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let raw = text.as_bytes();
        let line_at = |byte: u64| {
            // A record may be said to start on the previous line's terminator.
            let mut b = byte as usize;
            while b < raw.len() && (raw[b] == b'\r' || raw[b] == b'\n') {
                b += 1;
            }
            line_starts.partition_point(|&s| s <= b)
        };
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
                ThematicError::new("csv", format!("{name}: line {line}: {e}"))
            })?;
            let line = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if record.len() > columns.len() {
                return Err(ThematicError::new(
                    "csv",
                    format!(
                        "{name}: line {line}: {} cells for {} columns (delimiter {delimiter:?})",
                        record.len(),
                        columns.len()
                    ),
                ));
            }
            let mut row: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
            row.resize(columns.len(), String::new());
            rows.push(row);
            lines.push(line);
        }
        Ok(Table { name: name.to_string(), columns, rows, lines, delimiter, encoding })
    }

    /// The index of `column`, or an error listing the columns.
    pub fn column(&self, column: &str, parameter: &str) -> Result<usize, ThematicError> {
        self.columns.iter().position(|c| c == column).ok_or_else(|| {
            ThematicError::new(
                parameter,
                format!("{}: no column {column:?}; columns are {}", self.name, self.columns.join(", ")),
            )
        })
    }
}

/// The delimiter of a header line: the most frequent of `;`, tab and `,`
/// outside quotes (ties prefer `;`, the French spreadsheet default).
fn detect_delimiter(header: &str) -> char {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for ch in header.chars() {
        match ch {
            '"' => quoted = !quoted,
            ';' if !quoted => counts[0] += 1,
            '\t' if !quoted => counts[1] += 1,
            ',' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    [';', '\t', ','][best]
}

/// Parses a number as written in French or English spreadsheets: `1234.5`,
/// `1234,5`, `1 234,5` (spaces, including no-break spaces, as thousands).
pub fn parse_number(cell: &str) -> Option<f64> {
    let s: String = cell.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if s.is_empty() {
        return None;
    }
    let s = if s.contains(',') && !s.contains('.') { s.replace(',', ".") } else { s };
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_latin1_and_leading_zeros_are_kept() {
        let bytes = b"code;nom;pop\r\n01001;L'Abergement-Cl\xe9menciat;832\r\n2A004;Ajaccio;71361\r\n\r\n";
        let t = Table::parse("stats.csv", bytes).unwrap();
        assert_eq!(t.delimiter, ';');
        assert_eq!(t.encoding, "windows-1252");
        assert_eq!(t.columns, ["code", "nom", "pop"]);
        assert_eq!(t.rows[0], ["01001", "L'Abergement-Clémenciat", "832"]);
        assert_eq!(t.rows[1][0], "2A004");
        assert_eq!(t.lines, [2, 3]);
        let t = Table::parse("b.csv", b"a;b\n\n1;2\n\n3;4\n").unwrap();
        assert_eq!(t.lines, [3, 5]);
    }

    #[test]
    fn commas_quotes_and_a_bom_are_understood() {
        let t = Table::parse("a.csv", "\u{feff}code,\"nom, complet\",v\n33001,\"Abzac, Gironde\",\"1,5\"\n".as_bytes())
            .unwrap();
        assert_eq!(t.delimiter, ',');
        assert_eq!(t.encoding, "UTF-8");
        assert_eq!(t.columns, ["code", "nom, complet", "v"]);
        assert_eq!(t.rows[0], ["33001", "Abzac, Gironde", "1,5"]);
        assert_eq!(parse_number(&t.rows[0][2]), Some(1.5));
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = Table::parse("x.csv", b"a;b\n1;2;3\n").unwrap_err();
        assert!(e.message.contains("x.csv: line 2"), "{e}");
        let e = Table::parse("x.csv", b"a;;b\n").unwrap_err();
        assert!(e.message.contains("column 2 has no name"), "{e}");
        assert!(Table::parse("x.csv", b"").is_err());
        let t = Table::parse("x.csv", b"a;b\n1\n").unwrap();
        assert_eq!(t.rows[0], ["1", ""]);
        let e = t.column("c", "value").unwrap_err();
        assert!(e.message.contains("columns are a, b"), "{e}");
    }

    #[test]
    fn numbers_in_french_and_english() {
        assert_eq!(parse_number("1 234,5"), Some(1234.5));
        assert_eq!(parse_number("1\u{202f}234"), Some(1234.0));
        assert_eq!(parse_number("-3.25"), Some(-3.25));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("n/a"), None);
        assert_eq!(parse_number("NaN"), None);
    }
}
