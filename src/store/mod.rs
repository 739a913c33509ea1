//! Local durable storage: atomic file writes, the per-change kernel lock, and where local run
//! data may be written.

mod atomic;
mod lock;
pub mod place;

pub use atomic::{sync_dir, write_atomic, write_atomic_mode, write_json};
pub use lock::{ChangeLock, LockError};
