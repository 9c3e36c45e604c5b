//! The allocator of the engine's QuickJS runtimes: the system allocator, plus a bounded cache
//! of freed small blocks per size class.
//!
//! A runtime allocates and frees the same few thousand small blocks over and over: every call
//! allocates its module instance and values, and every realm replacement frees one realm
//! (~4,000 blocks) and builds the next. With glibc's malloc, those blocks came back through
//! its slow paths (unsorted-bin sorting, consolidation, trimming and faulting the heap back
//! in): about 15 % of a realm build, and the build after a collection was ~35 µs slower than
//! on a fresh heap. Here a freed block of up to [`MAX_CACHED_BLOCK`] bytes goes onto its
//! class's free list and the next allocation of that class takes it back in O(1). At most
//! [`MAX_CACHED_BYTES`] are kept per runtime; the rest goes back to the system allocator, and
//! so does everything when the runtime is dropped.
//!
//! QuickJS accounts memory (and enforces the runtime's limit) with `usable_size`, which is the
//! block's size rounded up to [`ALIGN`], stored in a header before the block.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::ptr;

use rquickjs::allocator::Allocator;

/// Alignment of every block, as glibc's malloc gives (QuickJS needs 8).
const ALIGN: usize = 16;
/// The header holding the block's usable size; a multiple of [`ALIGN`] so the block stays
/// aligned.
const HEADER: usize = 16;
/// Blocks up to this size are cached; one free list per multiple of [`ALIGN`].
const MAX_CACHED_BLOCK: usize = 1024;
const CLASSES: usize = MAX_CACHED_BLOCK / ALIGN;
/// Freed bytes kept per runtime: a realm and what its calls left, with room to spare.
const MAX_CACHED_BYTES: usize = 4 << 20;

/// See the module documentation. One per runtime, used only from the runtime's thread.
pub(super) struct CachingAllocator {
    /// Heads of the free lists, by class; a free block holds the next one's address.
    free: [*mut u8; CLASSES],
    cached_bytes: usize,
}

impl CachingAllocator {
    pub(super) fn new() -> Self {
        CachingAllocator {
            free: [ptr::null_mut(); CLASSES],
            cached_bytes: 0,
        }
    }
}

/// `size` rounded up to [`ALIGN`] (at least one unit), or None when it overflows.
fn usable(size: usize) -> Option<usize> {
    Some(size.max(1).checked_add(ALIGN - 1)? & !(ALIGN - 1))
}

fn layout(usable: usize) -> Option<Layout> {
    Layout::from_size_align(usable.checked_add(HEADER)?, ALIGN).ok()
}

/// The free list of blocks of `usable` bytes, if they are cached.
fn class(usable: usize) -> Option<usize> {
    (usable <= MAX_CACHED_BLOCK).then(|| usable / ALIGN - 1)
}

/// # Safety
/// `base` must be the start of a live allocation of `layout(usable)`.
unsafe fn block(base: *mut u8, usable: usize) -> *mut u8 {
    // SAFETY: the allocation holds the header and then `usable` bytes.
    unsafe {
        base.cast::<usize>().write(usable);
        base.add(HEADER)
    }
}

unsafe impl Allocator for CachingAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        let Some(usable) = usable(size) else {
            return ptr::null_mut();
        };
        if let Some(class) = class(usable) {
            let head = self.free[class];
            if !head.is_null() {
                // SAFETY: a cached block is a live block of this class, not handed out, whose
                // first word holds the next free block.
                self.free[class] = unsafe { head.cast::<*mut u8>().read() };
                self.cached_bytes -= usable;
                return head;
            }
        }
        let Some(layout) = layout(usable) else {
            return ptr::null_mut();
        };
        // SAFETY: the layout has a non-zero size.
        let base = unsafe { alloc::alloc(layout) };
        if base.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `base` was just allocated with `layout(usable)`.
        unsafe { block(base, usable) }
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return ptr::null_mut();
        };
        let block = self.alloc(total);
        if !block.is_null() {
            // SAFETY: the block has at least `total` usable bytes; a cached one is not zeroed.
            unsafe { ptr::write_bytes(block, 0, total) };
        }
        block
    }

    unsafe fn dealloc(&mut self, block: *mut u8) {
        // SAFETY: `block` came from this allocator (the caller's contract), so its header
        // holds its usable size.
        let usable = unsafe { Self::usable_size(block) };
        if let Some(class) = class(usable) {
            if self.cached_bytes + usable <= MAX_CACHED_BYTES {
                // SAFETY: the block is no longer used by QuickJS and has room for a pointer.
                unsafe { block.cast::<*mut u8>().write(self.free[class]) };
                self.free[class] = block;
                self.cached_bytes += usable;
                return;
            }
        }
        // SAFETY: the block was allocated as `layout(usable)` at `block - HEADER`.
        unsafe {
            let layout = Layout::from_size_align_unchecked(usable + HEADER, ALIGN);
            alloc::dealloc(block.sub(HEADER), layout);
        }
    }

    unsafe fn realloc(&mut self, block: *mut u8, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`.
        let old = unsafe { Self::usable_size(block) };
        let Some(new) = usable(new_size) else {
            return ptr::null_mut();
        };
        if new == old {
            return block;
        }
        if class(old).is_none() && class(new).is_none() {
            // Large to large: the system allocator may grow or shrink in place.
            let Some(new_layout) = layout(new) else {
                return ptr::null_mut();
            };
            // SAFETY: the block was allocated as `layout(old)` at `block - HEADER`; on
            // failure it is left as it was.
            unsafe {
                let old_layout = Layout::from_size_align_unchecked(old + HEADER, ALIGN);
                let base = alloc::realloc(block.sub(HEADER), old_layout, new_layout.size());
                if base.is_null() {
                    return ptr::null_mut();
                }
                return self::block(base, new);
            }
        }
        let moved = self.alloc(new_size);
        if !moved.is_null() {
            // SAFETY: both blocks are live and distinct, each with at least the bytes copied;
            // the old one is freed once its contents are in the new one.
            unsafe {
                ptr::copy_nonoverlapping(block, moved, old.min(new));
                self.dealloc(block);
            }
        }
        moved
    }

    unsafe fn usable_size(block: *mut u8) -> usize {
        // SAFETY: every block of this allocator follows its header (the caller's contract).
        unsafe { block.sub(HEADER).cast::<usize>().read() }
    }
}

impl Drop for CachingAllocator {
    fn drop(&mut self) {
        for (class, head) in self.free.iter_mut().enumerate() {
            let usable = (class + 1) * ALIGN;
            let mut block = std::mem::replace(head, ptr::null_mut());
            while !block.is_null() {
                // SAFETY: cached blocks are owned by the cache, each allocated as
                // `layout(usable)` at `block - HEADER`, and link to the next one.
                unsafe {
                    let next = block.cast::<*mut u8>().read();
                    let layout = Layout::from_size_align_unchecked(usable + HEADER, ALIGN);
                    alloc::dealloc(block.sub(HEADER), layout);
                    block = next;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_sized_and_reused() {
        let mut a = CachingAllocator::new();
        let p = a.alloc(24);
        assert!(!p.is_null());
        assert_eq!(p as usize % ALIGN, 0);
        // SAFETY: `p` came from `a`.
        unsafe {
            assert_eq!(CachingAllocator::usable_size(p), 32);
            p.write_bytes(0xAB, 32);
            a.dealloc(p);
        }
        assert_eq!(a.cached_bytes, 32);
        // Same class: the cached block comes back, and calloc zeroes it.
        let q = a.calloc(4, 8);
        assert_eq!(q, p);
        assert_eq!(a.cached_bytes, 0);
        // SAFETY: `q` came from `a` with 32 usable bytes.
        unsafe {
            assert!(std::slice::from_raw_parts(q, 32).iter().all(|&b| b == 0));
            a.dealloc(q);
        }
    }

    #[test]
    fn realloc_keeps_contents_across_classes_and_sizes() {
        let mut a = CachingAllocator::new();
        let mut p = a.alloc(8);
        let mut len = 8;
        for size in [40, 1000, 1024, 1040, 5000, 300_000, 2000, 100, 16] {
            // SAFETY: `p` came from `a` and has `len` usable bytes.
            unsafe {
                for i in 0..len {
                    p.add(i).write((i % 251) as u8);
                }
                let q = a.realloc(p, size);
                assert!(!q.is_null());
                assert_eq!(q as usize % ALIGN, 0);
                assert!(CachingAllocator::usable_size(q) >= size);
                for i in 0..len.min(size) {
                    assert_eq!(q.add(i).read(), (i % 251) as u8, "byte {i} after {size}");
                }
                p = q;
            }
            len = size;
        }
        // SAFETY: `p` came from `a`.
        unsafe { a.dealloc(p) };
    }

    #[test]
    fn the_cache_is_bounded_and_large_blocks_are_not_cached() {
        let mut a = CachingAllocator::new();
        let blocks: Vec<_> = (0..(MAX_CACHED_BYTES / 1024 + 100))
            .map(|_| a.alloc(1024))
            .collect();
        let large = a.alloc(MAX_CACHED_BLOCK + 1);
        // SAFETY: every block came from `a`.
        unsafe {
            a.dealloc(large);
            assert_eq!(a.cached_bytes, 0);
            for b in blocks {
                a.dealloc(b);
            }
        }
        assert_eq!(a.cached_bytes, MAX_CACHED_BYTES);
    }

    #[test]
    fn oversized_requests_fail_cleanly() {
        let mut a = CachingAllocator::new();
        assert!(a.alloc(usize::MAX - 4).is_null());
        assert!(a.calloc(usize::MAX / 2, 3).is_null());
    }
}
