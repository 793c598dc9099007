//! The columns of a long-format input as the fast path reads them: each one's role, the byte
//! between fields, how values write numbers, and which point and model names the jobs read.

use super::names::POINT;
use crate::input::number::NumberFormat;
use std::collections::HashSet;
use std::sync::Arc;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Timestamp,
    Asset,
    Point,
    Value,
    Model,
    /// A column no reading uses; it is only counted.
    Other,
}

/// The columns of a long-format input, by position, the byte between fields and how values write
/// numbers (the decimal separator never the delimiter: see `fast_layout`).
#[derive(Debug, Clone)]
pub struct Layout {
    pub delimiter: u8,
    pub roles: Vec<Role>,
    pub numbers: NumberFormat,
    /// The point and model names some job reads; `None`: every one is read.
    pub read: Option<Arc<ReadNames>>,
}

/// The names a run's jobs read: a line of another point or model gets
/// [`UNREAD_ASSET`](crate::engine::UNREAD_ASSET), and its asset name is checked but not kept.
#[derive(Debug, Default)]
pub struct ReadNames {
    pub(crate) points: HashSet<Box<[u8]>>,
    /// `None`: every model.
    pub(crate) models: Option<HashSet<Box<[u8]>>>,
}

impl Layout {
    /// Whether a job reads the point (or model) `name`.
    pub(super) fn reads(&self, kind: usize, name: &[u8]) -> bool {
        self.read.as_ref().is_none_or(|read| match kind {
            POINT => read.points.contains(name),
            _ => read.models.as_ref().is_none_or(|models| models.contains(name)),
        })
    }
}
