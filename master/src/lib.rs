//! The Mesos master: frameworks, agents, offers, the DRF allocator, tasks.
//!
//! Work in progress (issue 4). Protocol logic lives in pure cores that take
//! inputs and return outputs; actors around them only do I/O.
//!
//! # Layout
//!
//! - [`allocator`]: the allocator's pure core: resource quantities, the
//!   hierarchical DRF sorter and the hierarchical allocator.

pub mod allocator;
