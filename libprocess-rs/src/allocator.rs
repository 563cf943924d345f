//! The global allocator of the workspace's binaries: mimalloc (v2 line), called through
//! its C entry points (docs/libprocess.md, "The allocator").

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The global allocator of the workspace's binaries (master, agent, executors,
/// `mesos-local`, ...) and of every bench that measures their code, so a benchmark
/// measures what users run. Each installs it in its own crate root:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;
/// ```
///
/// mimalloc (v2 line): a decoded protobuf is one allocation per repeated field and per
/// sub-message list, a spawn or a local message a few more; glibc's malloc + free cost
/// ~200 instructions a pair there, mimalloc's ~75 (docs/libprocess.md, "The allocator").
/// Libraries and tests keep the system allocator: installing one is the binary's choice.
///
/// Unlike the `mimalloc` crate's `MiMalloc`, which calls `mi_malloc_aligned` for every
/// block, it calls plain `mi_malloc`/`mi_realloc`/`mi_zalloc` when that already gives the
/// alignment asked for (Rust's own rule for its system allocator: at most
/// [`MIN_ALIGN`] and at most the size): 5.4% fewer instructions per CODEC-1 message at
/// 3 KB and 60 KB (branch `codec2`, docs/benchmarks.md).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// The alignment every `mi_malloc` block of at least this size has: mimalloc's
/// `MI_MAX_ALIGN_SIZE` on 64-bit targets (its size classes below 128 bytes are rounded
/// to two machine words, `MI_ALIGN2W` in `page-queue.c`, and larger ones are multiples
/// of that too).
pub const MIN_ALIGN: usize = 16;

/// Whether a block of `size` bytes from the unaligned entry points is aligned to `align`.
fn unaligned_suffices(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every method hands mimalloc a layout's size and alignment (a power of two, as
// `Layout` guarantees) and returns what mimalloc returns: null on failure, else a block
// of at least the size with at least the alignment (the unaligned entry points only
// where `unaligned_suffices`); blocks are freed and resized only by mimalloc, which
// allocated them.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if unaligned_suffices(layout.align(), layout.size()) {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if unaligned_suffices(layout.align(), layout.size()) {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: see the impl; `ptr` came from this allocator (the caller's contract).
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: see the impl; `ptr` came from this allocator with `layout`.
        unsafe {
            if unaligned_suffices(layout.align(), new_size) {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Every size and alignment gets a block of that alignment, zeroed when asked, that
    /// keeps its bytes when it grows and shrinks.
    #[test]
    #[allow(unsafe_code)]
    fn blocks_have_their_alignment_and_keep_their_bytes() {
        let allocator = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 15, 16, 17, 24, 40, 100, 1000, 70_000] {
                let aligned = |p: *mut u8| (p as usize).is_multiple_of(align);
                // SAFETY: non-zero layouts; each block is used within its size and freed
                // once, by this allocator, with the layout it has then.
                unsafe {
                    let zeroed = allocator.alloc_zeroed(layout(size, align));
                    assert!(aligned(zeroed), "zeroed {size} at {align}");
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    allocator.dealloc(zeroed, layout(size, align));

                    let block = allocator.alloc(layout(size, align));
                    assert!(aligned(block), "{size} at {align}");
                    for i in 0..size {
                        *block.add(i) = i as u8;
                    }
                    let grown = allocator.realloc(block, layout(size, align), size * 3);
                    assert!(aligned(grown), "{size} grown at {align}");
                    assert!((0..size).all(|i| *grown.add(i) == i as u8));
                    let small = size / 2 + 1;
                    let shrunk = allocator.realloc(grown, layout(size * 3, align), small);
                    assert!(aligned(shrunk), "{size} shrunk at {align}");
                    assert!((0..small).all(|i| *shrunk.add(i) == i as u8));
                    allocator.dealloc(shrunk, layout(small, align));
                }
            }
        }
    }
}
