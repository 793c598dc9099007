//! Jobs: YAML job files read into checked plans for the engine (the located YAML walk and its
//! diagnostics live below, in [`crate::yaml`]). This file only names the parts; no part imports
//! it. Each part uses only those listed before it:
//!
//! - `threshold`: the interval notation of thresholds and quality conditions;
//! - `expr`: merge expressions, compiled once with rhai;
//! - `options`: the run options a unit test may set as well as the command line;
//! - `plan`: the validated plans the engine runs ([`Job`] and its kinds);
//! - `fields`: the field tables, the one description of job and test files;
//! - `discover`: which files to read, and reading them;
//! - `pipeline`: checks over all jobs together, and their run order;
//! - `grids`: the warning for a merge whose ticks miss the starts of the windows it reads;
//! - `derived`: the warning for a threshold on a point another job writes (the platform ignores it);
//! - `read_common`, `read_window`, `read_merge`: a job file into a plan, one reader per template
//!   (`read_rules`: a window policy's register, integration and coverage rules);
//! - `load`: job files -> plans, every problem reported together.

mod derived;
pub mod discover;
pub mod expr;
pub mod fields;
mod grids;
pub mod load;
pub mod options;
pub mod pipeline;
pub mod plan;
mod read_common;
mod read_merge;
mod read_rules;
mod read_window;
pub mod threshold;

pub use crate::yaml::diagnostic::{Diagnostic, JobErrors};
pub use crate::yaml::{Field, Shape};
pub(crate) use load::{JobSources, load_jobs_and_sources};
pub use load::{load_jobs, load_sources};
pub use plan::{
    Aggregation, Boundary, Coverage, Integration, Interpolation, Job, JobKind, MergeJob, MergePolicy, Method,
    PolicyRules, RegisterRules, Reset, Trigger, WindowJob, WindowPolicy, WindowType,
};
