//! `meterflow explain`: the plan of the jobs in plain words.

use super::print;
use crate::cli::ExplainArgs;
use crate::explain::explain as describe_plan;
use crate::failure::Failure;
use crate::job::load_jobs;

pub fn explain(args: ExplainArgs) -> Result<(), Failure> {
    let jobs = load_jobs(&args.jobs).map_err(Failure::Jobs)?;
    print(&describe_plan(&jobs))
}
