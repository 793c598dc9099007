//! `meterflow schema`: the JSON Schema of job and test files.

use super::print;
use crate::failure::Failure;
use crate::schema::job_schema_text;

pub fn schema() -> Result<(), Failure> {
    print(&job_schema_text())
}
