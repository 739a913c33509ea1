//! Local durable storage: atomic file writes and the per-change kernel lock.

mod atomic;
mod lock;

pub use atomic::{sync_dir, write_atomic, write_atomic_mode, write_json};
pub use lock::{ChangeLock, LockError};
