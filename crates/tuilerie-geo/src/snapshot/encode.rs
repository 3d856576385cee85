//! Writing snapshot sections ([`Enc`]): the layout [`super::codec`]
//! reads, little-endian numbers, lengths as `u64`, strings as UTF-8
//! bytes.

use super::codec::{block_sums, checksum, BLOCK};
use geo::{Coord, Geometry, LineString, Polygon};
use std::fs::File;
use std::io::Write;
use xxhash_rust::xxh3::xxh3_64;

/// Writes a section: into memory ([`Enc::default`]), or into a file
/// ([`Enc::to_file`]) in whole 64 KiB blocks as it grows past a few MiB,
/// so that writing a snapshot holds one short buffer, not a copy of the
/// layer.
#[derive(Default)]
pub struct Enc {
    /// What is not written yet (all of it in memory).
    pub buf: Vec<u8>,
    sink: Option<Sink>,
}

/// Where a streamed section goes, with what is already there.
struct Sink {
    file: File,
    /// Bytes of the section already written (whole blocks).
    written: u64,
    /// The xxh3-64 of each written block (see [`checksum`]).
    sums: Vec<u8>,
    /// The first write error; later writes are skipped and
    /// [`Enc::finish`] returns it.
    error: Option<std::io::Error>,
}

/// A streamed section writes its buffer once it holds this many bytes.
const SPILL: usize = 4 << 20;

impl Enc {
    /// A section written to `file` (at its current offset) as it grows.
    pub fn to_file(file: File) -> Enc {
        let sink = Sink { file, written: 0, sums: Vec::new(), error: None };
        Enc { buf: Vec::with_capacity(SPILL + BLOCK), sink: Some(sink) }
    }

    /// The section's length so far.
    pub fn position(&self) -> u64 {
        self.sink.as_ref().map_or(0, |s| s.written) + self.buf.len() as u64
    }

    #[inline(always)]
    fn grown(&mut self) {
        if self.buf.len() >= SPILL {
            self.spill();
        }
    }

    /// Writes the buffer's whole blocks, keeping the rest (a block's sum
    /// needs the whole block).
    #[cold]
    fn spill(&mut self) {
        let Some(s) = &mut self.sink else { return };
        let whole = self.buf.len() / BLOCK * BLOCK;
        block_sums(&self.buf[..whole], &mut s.sums);
        if s.error.is_none() {
            s.error = s.file.write_all(&self.buf[..whole]).err();
        }
        s.written += whole as u64;
        self.buf.drain(..whole);
    }

    /// Ends the section: what is left is written; its length and checksum
    /// ([`checksum`], the same as over the section whole in memory).
    pub fn finish(mut self) -> std::io::Result<(u64, u64)> {
        let Some(mut s) = self.sink.take() else {
            return Ok((self.buf.len() as u64, checksum(&self.buf)));
        };
        block_sums(&self.buf, &mut s.sums);
        if let Some(e) = s.error {
            return Err(e);
        }
        s.file.write_all(&self.buf)?;
        Ok((s.written + self.buf.len() as u64, xxh3_64(&s.sums)))
    }

    /// Zero bytes up to a multiple of `n` from the section's start (which
    /// the file aligns to [`super::codec::SECTION_ALIGN`]): a column read in place
    /// ([`super::codec::Dec::column`]) starts aligned for its records.
    pub fn align(&mut self, n: usize) {
        while !self.position().is_multiple_of(n as u64) {
            self.buf.push(0);
        }
    }
    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
        self.grown();
    }
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    #[inline]
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    pub fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    pub fn f32(&mut self, v: f32) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes(s.as_bytes());
    }
    /// Bytes as they are (no length); a long run (the text of a layer's
    /// values) goes through the buffer a piece at a time.
    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        for piece in b.chunks(SPILL) {
            self.buf.extend_from_slice(piece);
            self.grown();
        }
    }
    pub fn opt_str(&mut self, s: Option<&str>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }
    pub fn strs<S: AsRef<str>>(&mut self, v: &[S]) {
        self.len(v.len());
        for s in v {
            self.str(s.as_ref());
        }
    }
    /// A column of `u32`, in bulk.
    pub fn u32s(&mut self, v: &[u32]) {
        self.len(v.len());
        for x in v {
            self.u32(*x);
        }
    }
    /// Numbers to be read in place ([`super::codec::Dec::u32_column`]):
    /// the count, then the values aligned for them.
    pub fn u32_column(&mut self, v: &[u32]) {
        self.len(v.len());
        self.align(4);
        for x in v {
            self.u32(*x);
        }
    }
    pub fn u64s(&mut self, v: &[u64]) {
        self.len(v.len());
        for x in v {
            self.u64(*x);
        }
    }
    #[inline]
    pub fn coord(&mut self, c: Coord<f64>) {
        self.f64(c.x);
        self.f64(c.y);
    }
    fn coords(&mut self, l: &LineString<f64>) {
        self.len(l.0.len());
        for c in &l.0 {
            self.coord(*c);
        }
    }
    fn polygon(&mut self, p: &Polygon<f64>) {
        self.coords(p.exterior());
        self.len(p.interiors().len());
        for r in p.interiors() {
            self.coords(r);
        }
    }
    /// A `geo` geometry, recursively.
    pub fn geometry(&mut self, g: &Geometry<f64>) {
        match g {
            Geometry::Point(p) => {
                self.u8(0);
                self.coord(p.0);
            }
            Geometry::Line(l) => {
                self.u8(1);
                self.coord(l.start);
                self.coord(l.end);
            }
            Geometry::LineString(l) => {
                self.u8(2);
                self.coords(l);
            }
            Geometry::Polygon(p) => {
                self.u8(3);
                self.polygon(p);
            }
            Geometry::MultiPoint(m) => {
                self.u8(4);
                self.len(m.0.len());
                for p in &m.0 {
                    self.coord(p.0);
                }
            }
            Geometry::MultiLineString(m) => {
                self.u8(5);
                self.len(m.0.len());
                for l in &m.0 {
                    self.coords(l);
                }
            }
            Geometry::MultiPolygon(m) => {
                self.u8(6);
                self.len(m.0.len());
                for p in &m.0 {
                    self.polygon(p);
                }
            }
            Geometry::GeometryCollection(c) => {
                self.u8(7);
                self.len(c.0.len());
                for g in &c.0 {
                    self.geometry(g);
                }
            }
            Geometry::Rect(r) => {
                self.u8(8);
                self.coord(r.min());
                self.coord(r.max());
            }
            Geometry::Triangle(t) => {
                self.u8(9);
                self.coord(t.v1());
                self.coord(t.v2());
                self.coord(t.v3());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(e: &mut Enc) {
        e.str("en-tête");
        e.str(&"texte des valeurs ".repeat(600_000));
        for i in 0..3_000_000u32 {
            e.u8(i as u8);
            e.align(4);
            e.u32(i);
            e.f64(i as f64 * 0.5);
        }
        e.align(64);
        e.u64s(&[1, 2, 3]);
    }

    #[test]
    fn a_section_streamed_to_a_file_equals_the_section_in_memory() {
        let mut whole = Enc::default();
        fill(&mut whole);
        let bytes = whole.buf.clone();
        let (len, sum) = whole.finish().unwrap();
        assert!(bytes.len() > 4 * SPILL && len == bytes.len() as u64 && sum == checksum(&bytes));

        let path = std::env::temp_dir().join(format!("tuilerie-enc-{}", std::process::id()));
        let mut f = File::create(&path).unwrap();
        f.write_all(b"head").unwrap();
        let mut e = Enc::to_file(f.try_clone().unwrap());
        fill(&mut e);
        assert!(e.buf.len() < SPILL + BLOCK, "the buffer is written as it grows");
        assert_eq!(e.finish().unwrap(), (len, sum));
        let written = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(&written[..4], b"head");
        assert!(written[4..] == bytes[..]);
    }
}
