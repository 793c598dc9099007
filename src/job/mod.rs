//! Jobs: YAML job files and their unit tests, read into checked plans for the engine. This file
//! only names the parts; no part imports it. Each part uses only those listed before it:
//!
//! - `diagnostic`: located problems and how they are shown;
//! - `plan`: the validated plans the engine runs ([`Job`] and its kinds);
//! - `yaml`: the typed walk over a YAML tree that reads fields by their table entry;
//! - `fields`: the field tables, the one description of job and test files;
//! - `discover`: which files to read, and reading them;
//! - `pipeline`: checks over all jobs together, and their run order;
//! - `read_common`, `read_window`, `read_merge`: a job file into a plan, one reader per template;
//! - `load`: job files -> plans, every problem reported together;
//! - `unit_test`: the tests of jobs, read into runnable plans.

pub mod diagnostic;
pub mod discover;
pub mod fields;
pub mod load;
pub mod pipeline;
pub mod plan;
mod read_common;
mod read_merge;
mod read_window;
pub mod unit_test;
pub mod yaml;

pub use diagnostic::{Diagnostic, JobErrors};
pub use load::{load_jobs, load_sources};
pub use plan::{
    Aggregation, Interpolation, Job, JobKind, MergeJob, MergePolicy, Trigger, WindowJob, WindowPolicy, WindowType,
};
pub use yaml::{Field, Shape};
