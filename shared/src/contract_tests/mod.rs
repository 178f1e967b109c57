//! Contract test suites, one per port, run against every adapter of that port (embedded always; cloud adapters
//! when the emulators are up). A suite is a plain async function taking the adapter, so that both adapters are held
//! to exactly the same assertions.

pub mod object_store;
pub mod parsers;
pub mod queue;
pub mod record_store;
pub mod secret_store;
