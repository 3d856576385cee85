//! CSV statistics tables as agents have them: `;` or `,` (or tab)
//! separated, UTF-8 or Windows-1252/ISO-8859-1, a header row, codes such as
//! "01001" or "2A004" kept as text. Every cell stays text; numbers are parsed
//! where a map uses a column (French decimal commas accepted there).

use super::ThematicError;
use std::collections::HashSet;
use std::path::Path;

/// Limits on what a table may hold, so that one upload cannot take the
/// server's memory or time; each refusal names the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableLimits {
    pub max_columns: usize,
    pub max_rows: usize,
    /// Bytes of one cell.
    pub max_cell_bytes: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        TableLimits { max_columns: 1_000, max_rows: 2_000_000, max_cell_bytes: 64 * 1024 }
    }
}

/// A parsed CSV table, stored compactly: the text of every cell in one
/// string, with the end of each cell (a few bytes per cell beyond its text,
/// where a `String` per cell cost about 57 times the file).
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it came from (file name or upload name), for messages.
    pub name: String,
    pub columns: Vec<String>,
    /// Every cell's trimmed text, row after row.
    cells: String,
    /// End offset in `cells` of each cell (row-major, `columns.len()` per row).
    ends: Vec<u32>,
    /// The 1-based line number of each row in the file (the header is line 1).
    lines: Vec<u32>,
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

    /// Parses CSV bytes with the default [`TableLimits`].
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Table, ThematicError> {
        Table::parse_with(name, bytes, TableLimits::default())
    }

    /// Number of rows (the header excluded).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The text of row `row`, column `column`.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        let i = row * self.columns.len() + column;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.cells[start..self.ends[i] as usize]
    }

    /// The cells of row `row`.
    pub fn row(&self, row: usize) -> Vec<&str> {
        (0..self.columns.len()).map(|c| self.cell(row, c)).collect()
    }

    /// The 1-based line of row `row` in the file.
    pub fn line(&self, row: usize) -> usize {
        self.lines[row] as usize
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.cells.capacity() + self.ends.capacity() * 4 + self.lines.capacity() * 4
    }

    /// Parses CSV bytes: encoding and delimiter are detected.
    pub fn parse_with(name: &str, bytes: &[u8], limits: TableLimits) -> Result<Table, ThematicError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        // Borrowed when UTF-8: no copy of the whole file.
        let (text, encoding): (std::borrow::Cow<'_, str>, _) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.into(), "UTF-8"),
            // Not UTF-8: the Windows superset of ISO-8859-1 (what Excel writes in France).
            Err(_) => (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0, "windows-1252"),
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
        if columns.len() > limits.max_columns {
            return Err(ThematicError::new(
                "csv",
                format!("{name}: line 1: {} columns, more than the limit of {}", columns.len(), limits.max_columns),
            ));
        }
        let mut seen = HashSet::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(ThematicError::new("csv", format!("{name}: line 1: column {} has no name", i + 1)));
            }
            if !seen.insert(c.as_str()) {
                return Err(ThematicError::new("csv", format!("{name}: line 1: column {c:?} appears twice")));
            }
        }
        // Line numbers from byte offsets (the csv crate's own line count
        // does not follow CRLF files or blank lines). A line ends at LF,
        // CRLF or a lone CR (old Mac files), as the csv reader has it.
        let raw = text.as_bytes();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(raw.iter().enumerate().filter_map(|(i, &b)| {
                let ends = b == b'\n' || (b == b'\r' && raw.get(i + 1) != Some(&b'\n'));
                ends.then_some(i + 1)
            }))
            .collect();
        let line_at = |byte: u64| {
            // A record may be said to start on the previous line's terminator.
            let mut b = byte as usize;
            while b < raw.len() && (raw[b] == b'\r' || raw[b] == b'\n') {
                b += 1;
            }
            line_starts.partition_point(|&s| s <= b)
        };
        // Cell text is at most the file's text: one allocation, no doubling.
        // Rows are at most the lines (within the row limit): sized once, so
        // neither growth by doubling nor the final shrink copies them.
        let cells_bytes = text.len();
        let mut cells = String::with_capacity(cells_bytes);
        let max_rows = line_starts.len().min(limits.max_rows);
        let mut ends: Vec<u32> = Vec::with_capacity(max_rows.saturating_mul(columns.len()));
        let mut lines: Vec<u32> = Vec::with_capacity(max_rows);
        let too_large = || ThematicError::new("csv", format!("{name}: more than 4 GiB of cell text"));
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
            if lines.len() >= limits.max_rows {
                return Err(ThematicError::new(
                    "csv",
                    format!("{name}: line {line}: more than the limit of {} rows", limits.max_rows),
                ));
            }
            for (c, cell) in record.iter().enumerate() {
                let cell = cell.trim();
                if cell.len() > limits.max_cell_bytes {
                    return Err(ThematicError::new(
                        "csv",
                        format!(
                            "{name}: line {line}, column {}: a cell of {} bytes, more than the limit of {}",
                            columns[c],
                            cell.len(),
                            limits.max_cell_bytes
                        ),
                    ));
                }
                cells.push_str(cell);
                ends.push(u32::try_from(cells.len()).map_err(|_| too_large())?);
            }
            // Short rows end with empty cells.
            for _ in record.len()..columns.len() {
                ends.push(u32::try_from(cells.len()).map_err(|_| too_large())?);
            }
            lines.push(u32::try_from(line).map_err(|_| too_large())?);
        }
        if lines.is_empty() {
            return Err(ThematicError::new(
                "csv",
                format!("{name}: a header line ({} columns) but no data row: nothing to join", columns.len()),
            ));
        }
        cells.shrink_to_fit();
        ends.shrink_to_fit();
        lines.shrink_to_fit();
        Ok(Table { name: name.to_string(), columns, cells, ends, lines, delimiter, encoding })
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
        assert_eq!(t.row(0), ["01001", "L'Abergement-Clémenciat", "832"]);
        assert_eq!(t.cell(1, 0), "2A004");
        assert_eq!(t.lines, [2, 3]);
        let t = Table::parse("b.csv", b"a;b\n\n1;2\n\n3;4\n").unwrap();
        assert_eq!(t.lines, [3, 5]);
        // A lone CR ends a line too (found by fuzzing: two rows had line 2).
        let t = Table::parse("c.csv", b"a;b\r\n1;2\r3;4\r\n5;6\n").unwrap();
        assert_eq!(t.lines, [2, 3, 4]);
    }

    #[test]
    fn commas_quotes_and_a_bom_are_understood() {
        let t = Table::parse("a.csv", "\u{feff}code,\"nom, complet\",v\n33001,\"Abzac, Gironde\",\"1,5\"\n".as_bytes())
            .unwrap();
        assert_eq!(t.delimiter, ',');
        assert_eq!(t.encoding, "UTF-8");
        assert_eq!(t.columns, ["code", "nom, complet", "v"]);
        assert_eq!(t.row(0), ["33001", "Abzac, Gironde", "1,5"]);
        assert_eq!(parse_number(t.cell(0, 2)), Some(1.5));
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = Table::parse("x.csv", b"a;b\n1;2;3\n").unwrap_err();
        assert!(e.message.contains("x.csv: line 2"), "{e}");
        let e = Table::parse("x.csv", b"a;;b\n").unwrap_err();
        assert!(e.message.contains("column 2 has no name"), "{e}");
        assert!(Table::parse("x.csv", b"").is_err());
        let e = Table::parse("x.csv", b"a;b\n\n;\n").unwrap_err();
        assert!(e.message.contains("x.csv: a header line (2 columns) but no data row"), "{}", e.message);
        let t = Table::parse("x.csv", b"a;b\n1\n").unwrap();
        assert_eq!(t.row(0), ["1", ""]);
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

    #[test]
    fn limits_refuse_wide_long_or_huge_tables_naming_the_limit() {
        let limits = TableLimits { max_columns: 3, max_rows: 2, max_cell_bytes: 5 };
        let e = Table::parse_with("t.csv", b"a;b;c;d\n1;2;3;4\n", limits).unwrap_err();
        assert!(e.message.contains("4 columns, more than the limit of 3"), "{e}");
        let e = Table::parse_with("t.csv", b"a;b\n1;2\n3;4\n5;6\n", limits).unwrap_err();
        assert!(e.message.contains("line 4: more than the limit of 2 rows"), "{e}");
        let e = Table::parse_with("t.csv", b"a;b\n1;123456\n", limits).unwrap_err();
        assert!(e.message.contains("line 2, column b: a cell of 6 bytes, more than the limit of 5"), "{e}");
        // 100,000 distinct column names are checked for duplicates in one
        // pass (a quadratic check took 25 s here), then refused by the limit.
        let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
        let row: Vec<&str> = vec!["1"; 100_000];
        let wide = format!("{}\n{}\n", header.join(";"), row.join(";"));
        let e = Table::parse("wide.csv", wide.as_bytes()).unwrap_err();
        assert!(e.message.contains("100000 columns, more than the limit of 1000"), "{e}");
        let relaxed = TableLimits { max_columns: 200_000, ..TableLimits::default() };
        assert_eq!(Table::parse_with("wide.csv", wide.as_bytes(), relaxed).unwrap().columns.len(), 100_000);
    }

    #[test]
    fn a_table_holds_at_most_three_times_its_csv_size() {
        use std::fmt::Write;
        // Two short columns, the case that cost 57 times the file with a
        // String per cell.
        let mut csv = String::from("code;n\n");
        for i in 0..200_000 {
            let _ = writeln!(csv, "{:05};{}", i % 99_999, i % 977);
        }
        let t = Table::parse("n.csv", csv.as_bytes()).unwrap();
        assert_eq!(t.len(), 200_000);
        assert_eq!((t.cell(199_999, 0), t.cell(199_999, 1), t.line(199_999)), ("00001", "691", 200_001));
        assert!(t.heap_bytes() <= 3 * csv.len(), "{} bytes for a {}-byte CSV", t.heap_bytes(), csv.len());
    }
}
