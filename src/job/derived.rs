//! A pipeline-level warning: a window policy whose input another job writes, with a threshold
//! under `interpolation: ignore`. The platform does not apply such a threshold ("if the data of
//! the input point is not raw data and the interpolation algorithm is Ignore, the specified
//! threshold will not take effect"); meterflow applies it, as the job file says, and warns so that
//! a job copied from the platform does not silently drop rows the platform kept.

use super::plan::{Interpolation, Job, JobKind};
use crate::job::threshold::Threshold;

/// Adds to each window job a warning per policy that thresholds a point another job writes.
pub(crate) fn warn_threshold_on_derived(jobs: &mut [Job]) {
    let mut found = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let JobKind::Window(w) = &job.kind else { continue };
        for p in &w.policies {
            let (Some(site), Interpolation::Ignore) = (&p.threshold_site, p.interpolation) else { continue };
            if p.threshold == Threshold::ALL {
                continue;
            }
            let Some(producer) = jobs.iter().find(|other| other.outputs().contains(&p.input.as_str())) else {
                continue;
            };
            let mut warning = site.clone();
            warning.message = format!(
                "`{}` is written by job `{}`, not raw data: the platform does not apply a threshold to such input under \
                 `interpolation: ignore`, meterflow does (values outside {} are left out), so the two can differ; \
                 remove the threshold to match the platform, or filter in job `{}`",
                p.input, producer.name, p.threshold, producer.name
            );
            found.push((j, warning));
        }
    }
    for (j, warning) in found {
        jobs[j].warnings.push(warning);
    }
}
