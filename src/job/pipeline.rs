//! Pipeline-level checks over all jobs of a run: each output point is written by one job only, and
//! the jobs form a DAG by point names (a cycle is named, `a -> b -> a`). Also the order in which
//! jobs run (producers before consumers) and the points a pipeline expects from its input.

use super::plan::Job;
use crate::yaml::diagnostic::Diagnostic;
use std::collections::HashSet;

/// Where a job's output point is declared, for pipeline-level messages.
pub(crate) struct OutputSite {
    pub(crate) job: usize,
    pub(crate) point: String,
    pub(crate) diagnostic: Diagnostic,
}

pub(crate) fn check_pipeline(jobs: &[Job], sites: &[OutputSite], problems: &mut Vec<Diagnostic>) {
    for (i, site) in sites.iter().enumerate() {
        if let Some(first) = sites[..i].iter().find(|s| s.point == site.point && s.job != site.job) {
            let mut d = site.diagnostic.clone();
            d.message = format!(
                "output point `{}` is already written by job `{}` ({}); each point must have one producer",
                site.point, jobs[first.job].name, jobs[first.job].file
            );
            problems.push(d);
        }
    }
    if problems.is_empty()
        && let Err(cycle) = run_order(jobs)
    {
        let first = &jobs[cycle[0]];
        let names: Vec<&str> = cycle.iter().map(|&j| jobs[j].name.as_str()).collect();
        problems.push(Diagnostic::whole_file(&first.file, format!("the jobs form a cycle: {}", names.join(" -> "))));
    }
}

/// Indices of the jobs that read a point `job` writes.
fn consumers(jobs: &[Job], job: usize) -> Vec<usize> {
    let outputs = jobs[job].outputs();
    (0..jobs.len()).filter(|&other| jobs[other].inputs().iter().any(|p| outputs.contains(p))).collect()
}

/// Jobs in an order where every producer comes before its consumers, ties kept in file order;
/// or the jobs of a cycle, first job repeated at the end.
pub(crate) fn run_order(jobs: &[Job]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        jobs: &[Job],
        j: usize,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        post: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[j] {
            Mark::Done => return Ok(()),
            Mark::Active => {
                let from = stack.iter().position(|&s| s == j).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(j);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[j] = Mark::Active;
        stack.push(j);
        for c in consumers(jobs, j) {
            visit(jobs, c, marks, stack, post)?;
        }
        stack.pop();
        marks[j] = Mark::Done;
        post.push(j);
        Ok(())
    }
    let mut marks = vec![Mark::New; jobs.len()];
    let mut post = Vec::new();
    for j in (0..jobs.len()).rev() {
        visit(jobs, j, &mut marks, &mut Vec::new(), &mut post)?;
    }
    post.reverse();
    Ok(post)
}

/// Points the jobs read that no job writes: what the pipeline expects from its input.
pub(crate) fn external_inputs(jobs: &[Job]) -> Vec<String> {
    // Sets, not lists: a merge may read tens of thousands of points.
    let produced: HashSet<&str> = jobs.iter().flat_map(|j| j.outputs()).collect();
    let mut seen = HashSet::new();
    let mut expected: Vec<String> = Vec::new();
    for job in jobs {
        for p in job.inputs() {
            if !produced.contains(p) && seen.insert(p) {
                expected.push(p.to_string());
            }
        }
    }
    expected
}
