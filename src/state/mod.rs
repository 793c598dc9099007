//! Saved run state for incremental replays: the file that holds it ([`file`]: a versioned
//! container with a magic header) and how it reaches disk ([`atomic`]: written whole or not at
//! all). The engine produces and consumes the state's contents; this module only stores them.

pub mod atomic;
pub mod file;
