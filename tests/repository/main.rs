//! The repository checked as a whole: the source's layering (the ladder of folders, file sizes,
//! where clap may be used) and the documents' links and paths.

mod architecture;
mod docs_links;
mod manifest;
