//! The global allocator of the workspace's binaries: mimalloc (v2 line), called through
//! its C entry points (docs/libprocess.md, "The allocator").

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_int, c_long, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

// mimalloc's options API (`mimalloc.h`); `libmimalloc-sys` declares it only with its
// `extended` feature, which the workspace leaves off.
#[allow(unsafe_code)]
unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

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
///
/// It also turns mimalloc's transparent huge pages off (`mi_option_allow_thp`), before
/// mimalloc maps its first memory, unless `MIMALLOC_ALLOW_THP` is set: with them,
/// mimalloc asks the kernel for 2 MiB pages on its arenas (`madvise(MADV_HUGEPAGE)`),
/// and a process whose memory grows in bursts pays for zeroing whole huge pages. A new
/// leading master re-admitting 40,000 agents spent most of its CPU in the kernel's
/// `clear_page_erms` that way, and came back in 4.5 s with them, 2.5 s without (FAIL-1,
/// docs/benchmarks.md). Unlike `MIMALLOC_ALLOW_THP=0`, this does not `prctl` the
/// process, which the agent's tasks would inherit.
///
/// And it gives memory freed back to mimalloc 250 ms before mimalloc returns it to the
/// kernel (`mi_option_purge_delay`; mimalloc's default is 10 ms), unless
/// `MIMALLOC_PURGE_DELAY` is set. A burst of processes that come and go (libprocess's
/// `LargeNumberOfLinks`, ACT-2: 10,000 spawned and terminated) otherwise gave its memory
/// back between bursts and faulted it in again in the next: about 2,300 page faults per
/// run, now about 40, and medians of 9-14 ms instead of 12-17 ms (five alternating
/// batches of 12 runs, docs/benchmarks.md). What a quarter of a second longer costs is
/// the memory of a burst, held that much longer: a master's FAIL-1 failover at 10,000
/// agents showed no difference in time or RSS (docs/libprocess.md, "The allocator").
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// mimalloc's `mi_option_allow_thp` and `mi_option_purge_delay` (`mi_option_e` in
/// `mimalloc.h`, v2 line).
const MI_OPTION_ALLOW_THP: c_int = 37;
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// The purge delay the allocator sets, in milliseconds.
const PURGE_DELAY_MS: c_long = 250;

/// Set once the options were applied (by the first allocation).
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Applies the allocator's options before the first allocation; a relaxed load after.
#[inline]
fn configure_once() {
    if !CONFIGURED.load(Ordering::Relaxed) {
        configure();
    }
}

#[cold]
fn configure() {
    // Set first: reading the environment allocates, which comes back here.
    CONFIGURED.store(true, Ordering::Relaxed);
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: sets one of mimalloc's options to a value it documents (0: off).
        #[allow(unsafe_code)]
        unsafe {
            mi_option_set(MI_OPTION_ALLOW_THP, 0)
        };
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options to a value it documents (milliseconds).
        #[allow(unsafe_code)]
        unsafe {
            mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
        };
    }
}

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
        configure_once();
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
        configure_once();
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

    /// The first allocation turns mimalloc's huge pages off (the environment of the test
    /// run does not set `MIMALLOC_ALLOW_THP`).
    #[test]
    #[allow(unsafe_code)]
    fn huge_pages_are_off_after_the_first_allocation() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        assert_eq!(option_after_an_allocation(MI_OPTION_ALLOW_THP), 0);
    }

    /// The first allocation sets mimalloc's purge delay (the environment of the test
    /// run does not set `MIMALLOC_PURGE_DELAY`).
    #[test]
    #[allow(unsafe_code)]
    fn freed_memory_is_kept_a_quarter_second_after_the_first_allocation() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        assert_eq!(option_after_an_allocation(MI_OPTION_PURGE_DELAY), PURGE_DELAY_MS);
    }

    /// mimalloc's `option` while a block of this allocator is live (so after its first
    /// allocation, which applies the allocator's settings).
    #[allow(unsafe_code)]
    fn option_after_an_allocation(option: c_int) -> c_long {
        let allocator = Allocator;
        // SAFETY: a non-zero layout, freed once by this allocator; reading an option.
        unsafe {
            let block = allocator.alloc(layout(64, 8));
            assert!(!block.is_null());
            let value = mi_option_get(option);
            allocator.dealloc(block, layout(64, 8));
            value
        }
    }

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
