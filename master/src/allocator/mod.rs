//! The allocator: who gets offered which resources. A pure core, and the actor around it
//! ([`process`]).
//!
//! Nothing but [`process`] does I/O or reads a clock. The allocator actor feeds events
//! in (agents and frameworks coming and going, offers declined, tasks
//! ending) and, on every `--allocation_interval` tick, calls
//! [`Allocator::allocate`] with the current time and sends out the
//! [`Allocation`]s that come back as offers.
//!
//! - [`sorter`]: the hierarchical weighted DRF sorter over roles and frameworks.
//! - [`resources`]: the [`AllocatorResources`] trait, what the allocator
//!   needs from a resource bundle.
//! - [`filters`]: decline filters, `refuse_seconds` rules, the seeded shuffle.
//! - `types`: IDs, capabilities, configuration, inputs, outputs, errors.
//! - `core`: [`Allocator`], its state and the `on_<event>` handlers.
//! - `conversions`: offer operations (reservations, volumes) changing an agent's total.
//! - `bookkeeping`: who holds what where, role lifecycle, decline filters.
//! - `allocate`: one allocation round (role DRF, then framework DRF).
//! - `maintenance`: scheduled unavailability and inverse offers.
//! - `quota`: quota guarantees and limits, and the headroom held back for them.
//! - [`process`]: the allocator actor around that core, on its own process as in Mesos.

mod allocate;
mod bookkeeping;
mod conversions;
mod core;
pub mod filters;
mod maintenance;
pub mod process;
mod quota;
pub mod resources;
pub mod sorter;
mod types;

pub use self::core::Allocator;
pub use self::maintenance::InverseOfferAllocation;
pub use self::resources::AllocatorResources;
pub use self::types::{
    AgentCapabilities, AgentId, AgentSpec, Allocation, AllocatorConfig, AllocatorError,
    FrameworkCapabilities, FrameworkId, FrameworkSpec, Quota, Used,
};

#[cfg(test)]
mod core_tests;
#[cfg(test)]
mod maintenance_tests;
