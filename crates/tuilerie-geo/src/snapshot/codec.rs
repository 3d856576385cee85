//! The byte codec of snapshot sections: little-endian numbers, lengths as
//! `u64`, strings as UTF-8 bytes, columns of numbers in bulk. Decoding
//! never trusts a length: one larger than what is left is an error, not an
//! allocation. Writing is [`super::encode::Enc`].

use geo::{Coord, Geometry, GeometryCollection, Line, LineString, MultiLineString, MultiPoint, MultiPolygon};
use geo::{Point, Polygon, Rect, Triangle};

#[cfg(test)]
use super::encode::Enc;

use crate::column::{Column, Plain};
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_64;

/// Bytes hashed at a time, and of a column decoded right after (within
/// the L2 cache).
pub const BLOCK: usize = 64 * 1024;

/// A section's checksum: the xxh3-64 of the xxh3-64s of its 64 KiB blocks
/// (so that a reader checks each block as it decodes it).
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut sums = Vec::with_capacity(bytes.len().div_ceil(BLOCK) * 8);
    block_sums(bytes, &mut sums);
    xxh3_64(&sums)
}

/// Appends the xxh3-64 of each 64 KiB block of `bytes` (the last one may
/// be shorter) to `sums`.
pub fn block_sums(bytes: &[u8], sums: &mut Vec<u8>) {
    for b in bytes.chunks(BLOCK) {
        sums.extend_from_slice(&xxh3_64(b).to_le_bytes());
    }
}

/// Why a section does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

pub type DecodeResult<T> = Result<T, DecodeError>;

fn bad<T>(what: impl Into<String>) -> DecodeResult<T> {
    Err(DecodeError(what.into()))
}

/// Sections start at multiples of this in the file.
pub const SECTION_ALIGN: u64 = 64;

/// Little-endian numbers at fixed places of a record (`at` within it).
#[inline(always)]
pub fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]])
}
#[inline(always)]
pub fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline(always)]
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline(always)]
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]])
}

/// Reads a section.
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
    /// What is being read, for error messages.
    section: &'static str,
    /// The block checksums of the bytes read so far ([`checksum`]), and up
    /// to where: columns are hashed a block at a time just before they are
    /// decoded, so that a section is read from memory once, not twice.
    hash: Option<(Vec<u8>, usize)>,
    /// The map `buf` lies in, and where: columns of plain records are then
    /// read in place ([`Dec::column`]).
    map: Option<(Arc<memmap2::Mmap>, usize)>,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8], section: &'static str) -> Self {
        Dec { buf, pos: 0, section, hash: None, map: None }
    }

    /// A reader that also computes the section's xxh3-64 ([`Dec::digest`]).
    pub fn checked(buf: &'a [u8], section: &'static str) -> Self {
        Dec { buf, pos: 0, section, hash: Some((Vec::with_capacity(buf.len() / BLOCK * 8 + 8), 0)), map: None }
    }

    /// Tells the reader that `buf` is the bytes of `map` from `offset`.
    pub fn in_map(mut self, map: Arc<memmap2::Mmap>, offset: usize) -> Self {
        self.map = Some((map, offset));
        self
    }

    /// Skips the padding [`Enc::align`] wrote.
    pub fn align(&mut self, n: usize) -> DecodeResult<()> {
        let pad = self.pos.next_multiple_of(n) - self.pos;
        if self.take(pad)?.iter().any(|&b| b != 0) {
            return self.error("padding that is not zero");
        }
        Ok(())
    }

    /// `n` records of `T`, `size` bytes each as `f` reads them: in place
    /// when the section is mapped and the records are aligned (checked
    /// against their checksum all the same), else decoded by `f` into
    /// owned memory.
    pub fn column<T: Plain>(&mut self, n: usize, size: usize, f: impl FnMut(&[u8]) -> T) -> DecodeResult<Column<T>> {
        if let Some((map, offset)) = &self.map {
            if size == std::mem::size_of::<T>() {
                if let Some(c) = Column::mapped(map.clone(), offset + self.pos, n) {
                    let Some(len) = n.checked_mul(size) else { return self.error("a column too large") };
                    self.take(len)?;
                    self.hash_to(self.pos);
                    return Ok(c);
                }
            }
        }
        Ok(Column::Owned(self.records(n, size, f)?))
    }

    /// What [`Enc::u32_column`] wrote, in place when the section is mapped.
    pub fn u32_column(&mut self) -> DecodeResult<Column<u32>> {
        let n = self.len(4)?;
        self.align(4)?;
        self.column(n, 4, |b| u32_at(b, 0))
    }

    /// Hashes the blocks holding the bytes below `end`.
    #[inline]
    fn hash_to(&mut self, end: usize) {
        if let Some((sums, done)) = &mut self.hash {
            while *done < end {
                let stop = (*done + BLOCK).min(self.buf.len());
                sums.extend_from_slice(&xxh3_64(&self.buf[*done..stop]).to_le_bytes());
                *done = stop;
            }
        }
    }

    /// The checksum of the whole section (of a [`Dec::checked`] reader).
    pub fn digest(&mut self) -> Option<u64> {
        self.hash_to(self.buf.len());
        self.hash.as_ref().map(|(sums, _)| xxh3_64(sums))
    }

    pub fn error<T>(&self, what: &str) -> DecodeResult<T> {
        bad(format!("section {}, byte {}: {what}", self.section, self.pos))
    }

    /// Checks that the whole section was read.
    pub fn end(&self) -> DecodeResult<()> {
        if self.pos != self.buf.len() {
            return self.error(&format!("{} bytes left over", self.buf.len() - self.pos));
        }
        Ok(())
    }

    #[inline]
    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        match self.pos.checked_add(n).filter(|&e| e <= self.buf.len()) {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.error(&format!("{n} bytes asked, {} left", self.buf.len() - self.pos)),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }
    #[inline]
    pub fn bool(&mut self) -> DecodeResult<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => self.error(&format!("boolean byte {b}")),
        }
    }
    #[inline]
    pub fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn f64(&mut self) -> DecodeResult<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// A count of items of at least `item_bytes` bytes each: never more
    /// than what is left could hold.
    pub fn len(&mut self, item_bytes: usize) -> DecodeResult<usize> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(item_bytes.max(1) as u64) > left && !(item_bytes == 0 && n <= left) {
            return self.error(&format!("a count of {n} does not fit in the {left} bytes left"));
        }
        Ok(n as usize)
    }
    pub fn str(&mut self) -> DecodeResult<&'a str> {
        let n = self.len(1)?;
        let s = self.take(n)?;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s),
            Err(_) => self.error("text is not UTF-8"),
        }
    }
    pub fn string(&mut self) -> DecodeResult<String> {
        Ok(self.str()?.to_string())
    }
    pub fn opt_string(&mut self) -> DecodeResult<Option<String>> {
        Ok(if self.bool()? { Some(self.string()?) } else { None })
    }
    pub fn strings(&mut self) -> DecodeResult<Vec<String>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.string()).collect()
    }
    /// `n` records of `size` bytes each, read by `f` from its bytes (a
    /// column in one pass, without a bounds check per field).
    #[inline(always)]
    pub fn records<T>(&mut self, n: usize, size: usize, mut f: impl FnMut(&[u8]) -> T) -> DecodeResult<Vec<T>> {
        let Some(len) = n.checked_mul(size) else { return self.error("a column too large") };
        let start = self.pos;
        let bytes = self.take(len)?;
        let mut out = big_vec(n);
        let size = size.max(1);
        let step = (BLOCK / size).max(1) * size;
        for (k, chunk) in bytes.chunks(step).enumerate() {
            self.hash_to(start + k * step + chunk.len());
            // A closure calling `f` (not `&mut f`): the call is inlined.
            #[allow(clippy::redundant_closure)]
            out.extend(chunk.chunks_exact(size).map(|r| f(r)));
        }
        Ok(out)
    }

    pub fn u32s(&mut self) -> DecodeResult<Vec<u32>> {
        let n = self.len(4)?;
        self.records(n, 4, |c| u32_at(c, 0))
    }
    pub fn u64s(&mut self) -> DecodeResult<Vec<u64>> {
        let n = self.len(8)?;
        self.records(n, 8, |c| u64_at(c, 0))
    }
    #[inline]
    pub fn coord(&mut self) -> DecodeResult<Coord<f64>> {
        Ok(Coord { x: self.f64()?, y: self.f64()? })
    }
    fn coords(&mut self) -> DecodeResult<LineString<f64>> {
        let n = self.len(16)?;
        (0..n).map(|_| self.coord()).collect::<DecodeResult<Vec<_>>>().map(LineString)
    }
    fn polygon(&mut self) -> DecodeResult<Polygon<f64>> {
        let exterior = self.coords()?;
        let n = self.len(8)?;
        let interiors = (0..n).map(|_| self.coords()).collect::<DecodeResult<Vec<_>>>()?;
        Ok(Polygon::new(exterior, interiors))
    }
    /// A geometry written by [`Enc::geometry`]; collections nest at most
    /// 32 deep.
    pub fn geometry(&mut self) -> DecodeResult<Geometry<f64>> {
        self.geometry_at(0)
    }
    fn geometry_at(&mut self, depth: usize) -> DecodeResult<Geometry<f64>> {
        Ok(match self.u8()? {
            0 => Geometry::Point(Point(self.coord()?)),
            1 => Geometry::Line(Line::new(self.coord()?, self.coord()?)),
            2 => Geometry::LineString(self.coords()?),
            3 => Geometry::Polygon(self.polygon()?),
            4 => {
                let n = self.len(16)?;
                Geometry::MultiPoint(MultiPoint((0..n).map(|_| self.coord().map(Point)).collect::<DecodeResult<_>>()?))
            }
            5 => {
                let n = self.len(8)?;
                Geometry::MultiLineString(MultiLineString((0..n).map(|_| self.coords()).collect::<DecodeResult<_>>()?))
            }
            6 => {
                let n = self.len(16)?;
                Geometry::MultiPolygon(MultiPolygon((0..n).map(|_| self.polygon()).collect::<DecodeResult<_>>()?))
            }
            7 if depth < 32 => {
                let n = self.len(1)?;
                Geometry::GeometryCollection(GeometryCollection(
                    (0..n).map(|_| self.geometry_at(depth + 1)).collect::<DecodeResult<_>>()?,
                ))
            }
            8 => Geometry::Rect(Rect::new(self.coord()?, self.coord()?)),
            9 => Geometry::Triangle(Triangle::new(self.coord()?, self.coord()?, self.coord()?)),
            t => return self.error(&format!("geometry tag {t}")),
        })
    }
}

/// `Vec::with_capacity(n)`; when that is large (4 MiB or more), the kernel
/// is asked to back it with transparent huge pages, where it offers them
/// on request (Linux's `madvise` mode): a decoded column is written once,
/// front to back, and its first touches cost one fault per 2 MiB instead of
/// one per 4 KiB (page faults were a third of a 10M-point snapshot's read).
pub fn big_vec<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
        if bytes >= 2 * HUGE {
            // The whole huge pages inside the allocation.
            let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
            let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
            if end > start {
                #[allow(unsafe_code)]
                // SAFETY: madvise only advises on how to back the range, which
                // lies inside this live allocation; it reads and writes no memory.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometries_and_columns_come_back_as_written() {
        let g: Geometry<f64> = Geometry::GeometryCollection(GeometryCollection(vec![
            Geometry::Point(Point::new(-0.57, 44.84)),
            Geometry::Polygon(Polygon::new(
                LineString::from(vec![(0., 0.), (1., 0.), (1., 1.), (0., 0.)]),
                vec![LineString::from(vec![(0.2, 0.2), (0.4, 0.2), (0.4, 0.4), (0.2, 0.2)])],
            )),
            Geometry::MultiLineString(MultiLineString(vec![LineString::from(vec![(1., 2.), (3., 4.)])])),
        ]));
        let mut e = Enc::default();
        e.geometry(&g);
        e.u32s(&[1, 2, u32::MAX]);
        e.opt_str(Some("é"));
        let mut d = Dec::new(&e.buf, "test");
        assert_eq!(d.geometry().unwrap(), g);
        assert_eq!(d.u32s().unwrap(), vec![1, 2, u32::MAX]);
        assert_eq!(d.opt_string().unwrap().as_deref(), Some("é"));
        d.end().unwrap();
    }

    #[test]
    fn padding_is_skipped_and_must_be_zero_and_an_unmapped_column_is_decoded() {
        let mut e = Enc::default();
        e.u8(7);
        e.align(8);
        e.u64(42);
        assert_eq!(e.buf.len(), 16);
        let mut d = Dec::new(&e.buf, "test");
        assert_eq!(d.u8().unwrap(), 7);
        d.align(8).unwrap();
        let c = d.column(1, 8, |b| u64_at(b, 0)).unwrap();
        assert!(!c.is_mapped());
        assert_eq!(&c[..], &[42]);
        d.end().unwrap();
        e.buf[3] = 1;
        let mut d = Dec::new(&e.buf, "test");
        d.u8().unwrap();
        assert!(d.align(8).unwrap_err().0.contains("padding"));
    }

    #[test]
    fn a_count_larger_than_the_bytes_left_is_an_error_not_an_allocation() {
        let mut e = Enc::default();
        e.u64(u64::MAX / 2);
        let err = Dec::new(&e.buf, "test").u32s().unwrap_err();
        assert!(err.0.contains("does not fit"), "{err:?}");
        let mut e = Enc::default();
        e.u8(200);
        assert!(Dec::new(&e.buf, "test").geometry().unwrap_err().0.contains("geometry tag 200"));
    }
}
