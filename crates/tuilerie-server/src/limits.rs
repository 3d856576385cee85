//! What one client may make the server hold or do, configurable under
//! `[limits]`; every refusal names the limit it hit.

use serde::Deserialize;
use tuilerie_geo::thematic::table::TableLimits;

/// The limits in force (configuration `[limits]`, defaults below).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Bytes of a request body (413 beyond).
    pub max_body_bytes: usize,
    /// CSV tables kept at once.
    pub max_tables: usize,
    /// Bytes all tables hold together (their compact form).
    pub max_table_bytes: usize,
    /// Columns of a CSV table.
    pub max_columns: usize,
    /// Rows of a CSV table.
    pub max_rows: usize,
    /// Bytes of one CSV cell.
    pub max_cell_bytes: usize,
    /// Thematic maps kept at once.
    pub max_maps: usize,
    /// Export slots: a PNG takes one per 4,000 x 4,000 pixels of area.
    pub export_slots: usize,
    /// CSV uploads and map builds at once.
    pub build_slots: usize,
    /// Seconds a heavy request waits for a slot before a 503.
    pub queue_wait: f64,
}

impl Default for Limits {
    fn default() -> Self {
        let t = TableLimits::default();
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_tables: 64,
            max_table_bytes: 256 * 1024 * 1024,
            max_columns: t.max_columns,
            max_rows: t.max_rows,
            max_cell_bytes: t.max_cell_bytes,
            max_maps: 256,
            export_slots: 4,
            build_slots: 2,
            queue_wait: 10.0,
        }
    }
}

impl Limits {
    /// The limits of one CSV table.
    pub fn table(&self) -> TableLimits {
        TableLimits { max_columns: self.max_columns, max_rows: self.max_rows, max_cell_bytes: self.max_cell_bytes }
    }

    /// Checks that every limit is usable, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let counts = [
            ("max_body_bytes", self.max_body_bytes),
            ("max_tables", self.max_tables),
            ("max_table_bytes", self.max_table_bytes),
            ("max_columns", self.max_columns),
            ("max_rows", self.max_rows),
            ("max_cell_bytes", self.max_cell_bytes),
            ("max_maps", self.max_maps),
            ("export_slots", self.export_slots),
            ("build_slots", self.build_slots),
        ];
        for (key, v) in counts {
            if v == 0 {
                return Err(format!("limits.{key} must be at least 1"));
            }
        }
        if self.export_slots > 1024 || self.build_slots > 1024 {
            return Err("limits.export_slots and limits.build_slots must be at most 1024".into());
        }
        if !(self.queue_wait > 0.0 && self.queue_wait <= 3600.0) {
            return Err(format!("limits.queue_wait = {} must be a number of seconds in (0, 3600]", self.queue_wait));
        }
        Ok(())
    }
}
