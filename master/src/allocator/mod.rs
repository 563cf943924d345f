//! The allocator's pure core: who gets offered which resources.
//!
//! Nothing here does I/O or reads a clock. The allocator actor feeds events
//! in (agents and frameworks coming and going, offers declined, tasks
//! ending, a tick with the current time) and performs the allocations that
//! come out.
//!
//! - [`quantities`]: scalar resource amounts with Mesos's fixed-point rules.
//! - [`sorter`]: the hierarchical weighted DRF sorter over roles and frameworks.

pub mod quantities;
pub mod sorter;
