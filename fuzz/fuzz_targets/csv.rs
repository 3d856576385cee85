//! CSV tables on arbitrary bytes: a table within its limits or an error
//! naming the parameter, never a panic; every row has one cell per column,
//! no cell exceeds the cell limit, and line numbers increase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuilerie_geo::thematic::table::{parse_number, TableLimits};
use tuilerie_geo::thematic::Table;

fuzz_target!(|data: &[u8]| {
    let limits = TableLimits { max_columns: 64, max_rows: 10_000, max_cell_bytes: 1024 };
    match Table::parse_with("fuzz.csv", data, limits) {
        Ok(t) => {
            assert!(t.columns.len() <= limits.max_columns);
            assert!(t.len() <= limits.max_rows);
            let mut last_line = 1;
            for r in 0..t.len() {
                let row = t.row(r);
                assert_eq!(row.len(), t.columns.len());
                assert!(row.iter().all(|c| c.len() <= limits.max_cell_bytes));
                assert!(t.line(r) > last_line, "line numbers must increase");
                last_line = t.line(r);
                for c in row {
                    if let Some(x) = parse_number(c) {
                        assert!(x.is_finite());
                    }
                }
            }
        }
        Err(e) => assert!(!e.parameter.is_empty() && !e.message.is_empty()),
    }
});
