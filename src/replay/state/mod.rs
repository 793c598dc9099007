//! Saved run state for incremental replays: the file that holds it ([`file`](mod@file): a versioned
//! container with a magic header), how it reaches disk ([`atomic`]: written whole or not at all),
//! the [`lock`] that lets one run at a time use it, and the job set's [`fingerprint`], which tells
//! whether a state may be resumed with the jobs given now. The engine produces and consumes the
//! state's contents; this module only stores them.

pub mod atomic;
pub mod file;
pub mod fingerprint;
pub mod lock;
pub mod saved;
pub mod session;
