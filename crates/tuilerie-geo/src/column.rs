//! A column of plain records: owned, or read in place from a memory-mapped
//! snapshot. A mapped column's pages are the page cache's: every process
//! that maps the same snapshot file (replicas on one host) shares them
//! instead of holding its own copy.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Records that a column can read in place from a file's bytes.
///
/// # Safety
/// An implementor is `#[repr(C)]`, has no padding bytes, and every bit
/// pattern of its size is a valid value of it (integers and floats only),
/// so that aligned bytes of the file can be read as records. The snapshot
/// writes its fields in declaration order, little-endian.
#[allow(unsafe_code)]
pub(crate) unsafe trait Plain: Copy + Send + Sync + 'static {}

#[allow(unsafe_code)]
// SAFETY: integers: no padding, any bits valid.
unsafe impl Plain for u32 {}
#[allow(unsafe_code)]
// SAFETY: as above.
unsafe impl Plain for u64 {}

pub(crate) enum Column<T: Plain> {
    Owned(Vec<T>),
    /// `len` records at byte `offset` of the map (aligned for `T`).
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl<T: Plain> Column<T> {
    /// `len` records at byte `offset` of `map`, or `None` when they do not
    /// lie inside it or are not aligned for `T` (or the machine is not
    /// little-endian, the order the file is written in).
    pub(crate) fn mapped(map: Arc<memmap2::Mmap>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let inside = offset.checked_add(bytes).is_some_and(|end| end <= map.len());
        let aligned = (map.as_ptr() as usize).wrapping_add(offset).is_multiple_of(std::mem::align_of::<T>());
        (inside && aligned && cfg!(target_endian = "little")).then_some(Column::Mapped { map, offset, len })
    }

    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Column::Mapped { .. })
    }

    /// The column as a vector to change, copied out of the map first when
    /// it is mapped.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<T> {
        if self.is_mapped() {
            *self = Column::Owned(self.to_vec());
        }
        match self {
            Column::Owned(v) => v,
            Column::Mapped { .. } => unreachable!("made owned above"),
        }
    }

    /// Frees an owned column's spare capacity (a mapped one has none).
    pub(crate) fn shrink_to_fit(&mut self) {
        if let Column::Owned(v) = self {
            v.shrink_to_fit();
        }
    }

    /// The bytes of the map this column reads in place.
    pub(crate) fn mapped_range(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Column::Owned(_) => None,
            Column::Mapped { offset, len, .. } => Some(*offset..offset + len * std::mem::size_of::<T>()),
        }
    }

    /// Bytes of this process's own memory the column holds (a mapped
    /// column's are the page cache's).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Column::Owned(v) => v.capacity() * std::mem::size_of::<T>(),
            Column::Mapped { .. } => 0,
        }
    }
}

impl<T: Plain> Deref for Column<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            Column::Mapped { map, offset, len } => {
                #[allow(unsafe_code)]
                // SAFETY: `mapped` checked that the records lie inside the
                // map and are aligned; `T: Plain` makes any bytes valid
                // records; the map is read-only and lives as long as `self`.
                unsafe {
                    std::slice::from_raw_parts(map.as_ptr().add(*offset).cast::<T>(), *len)
                }
            }
        }
    }
}

/// Writing to a mapped column copies it into owned memory first.
impl<T: Plain> DerefMut for Column<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.vec_mut()
    }
}

impl<T: Plain> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T: Plain> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Self {
        Column::Owned(v)
    }
}

impl<T: Plain> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "Column({} records, {how})", self.len())
    }
}
