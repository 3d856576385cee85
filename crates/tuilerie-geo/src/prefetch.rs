//! Cache prefetch hints, so that walks over large arrays (a tree's nodes,
//! a layer's features) ask for the next lines before they need them.

/// Asks the CPU to bring the cache line holding `p` closer; a hint only:
/// it reads nothing and never faults, whatever the address.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint without architectural effect: it does
    // not access memory in the program's sense and cannot fault, for any
    // address; SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Prefetches every cache line of `items`, so that a scan of them waits for
/// one memory latency rather than one per line.
#[inline(always)]
pub(crate) fn prefetch_all<T>(items: &[T]) {
    let start = items.as_ptr().cast::<u8>();
    let bytes = std::mem::size_of_val(items);
    let mut offset = 0;
    while offset < bytes {
        prefetch(start.wrapping_add(offset));
        offset += 64;
    }
    if bytes > 0 {
        prefetch(start.wrapping_add(bytes - 1));
    }
}
