//! The repository's Markdown names only what the repository has. In README.md, ARCHITECTURE.md,
//! SECURITY.md, docs/** and the Markdown of bench/, samples/, spark/ and fuzz/:
//!
//! - every relative link (`[text](../guides/state.md#anchor)`) points at a file or folder that
//!   exists, inside the repository;
//! - every path written out that starts with a top-level folder of the repository
//!   (`docs/guides/state.md`, `bench/run.sh`, `jobs/realdata/esb_hourly.yaml`), in backticks, in a
//!   code block or in prose, exists (placeholders and globs such as `tests/cases/<area>/` or
//!   `jobs/*.test.yaml` are left alone);
//! - nothing cites the original SPEC.md or `../shared`, which a clone of the repository does not
//!   have: the rules are written down in docs/reference/contract.md.

use std::path::{Component, Path, PathBuf};

/// The repository's top-level folders: a written path starting with one of these is checked.
const TOP_FOLDERS: &[&str] =
    &[".ci", "bench", "benches", "docs", "fuzz", "jobs", "samples", "schema", "spark", "src", "tests"];

/// Made by the scripts that the documents describe and ignored by git, so absent from a clean clone.
const GENERATED: &[&str] = &["bench/data", "bench/.venv", "spark/.venv", "fuzz/corpus", "fuzz/artifacts"];

/// Texts no document may contain: the repository does not have what they name.
const FORBIDDEN: &[&str] = &["SPEC.md", "SPEC section", "../shared"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn markdown_in(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("a folder entry").path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if recursive {
                markdown_in(&path, true, out);
            }
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// The documents checked, as paths relative to the repository root.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut docs: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "SECURITY.md"].iter().map(|f| root.join(f)).collect();
    for doc in &docs {
        assert!(doc.is_file(), "{} is missing", doc.display());
    }
    markdown_in(&root.join("docs"), true, &mut docs);
    for folder in ["bench", "samples", "spark", "fuzz"] {
        markdown_in(&root.join(folder), false, &mut docs);
    }
    docs.into_iter().map(|d| d.strip_prefix(&root).expect("under the root").to_path_buf()).collect()
}

/// `a/b/../c` -> `a/c`; `None` when the path climbs out of the repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The targets of the inline links (`[text](target)`, `![alt](target)`) and reference definitions
/// (`[label]: target`) of `text` that are relative paths, anchors and titles left out.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        targets.push(rest[..end].to_string());
    }
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('[')
            && let Some(at) = line.find("]: ")
        {
            targets.push(line[at + 3..].to_string());
        }
    }
    targets
        .into_iter()
        .filter_map(|t| {
            let t = t.trim().trim_start_matches('<');
            let t = t.split([' ', '>', '#']).next().unwrap_or_default();
            let external = t.contains("://") || t.starts_with("mailto:");
            (!t.is_empty() && !external).then(|| t.to_string())
        })
        .collect()
}

/// Every word of `text` that is a path starting with a top-level folder (`bench/run.sh`,
/// `jobs/`), with the Markdown and shell punctuation around it and a `:line` suffix removed.
fn written_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "`()[]\"'|=".contains(c)) {
        let word = word.trim_start_matches(['*', '_']).trim_end_matches(['*', '_', '.', ',', ';', '!', '?']);
        let word = word.split(':').next().unwrap_or_default();
        let word = word.strip_prefix("./").unwrap_or(word);
        if word.contains(['<', '>', '{', '}', '*', '$', '%']) || word.contains("...") {
            continue;
        }
        let Some((top, _)) = word.split_once('/') else { continue };
        if TOP_FOLDERS.contains(&top) {
            paths.push(word.to_string());
        }
    }
    paths
}

fn generated(path: &Path) -> bool {
    GENERATED.iter().any(|g| path.starts_with(g))
}

/// The problems of one document: `doc` is its path relative to `root`.
fn problems(root: &Path, doc: &Path, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for bad in FORBIDDEN {
        if text.contains(bad) {
            found.push(format!("{}: mentions {bad}, which the repository does not have", doc.display()));
        }
    }
    let dir = doc.parent().unwrap_or(Path::new(""));
    for target in link_targets(text) {
        match normalize(&dir.join(&target)) {
            None => found.push(format!("{}: link to {target} leaves the repository", doc.display())),
            Some(path) if !root.join(&path).exists() && !generated(&path) => {
                found.push(format!("{}: link to {target}: {} does not exist", doc.display(), path.display()));
            }
            Some(_) => {}
        }
    }
    for written in written_paths(text) {
        let path = normalize(Path::new(&written));
        if path.as_ref().is_none_or(|p| !root.join(p).exists() && !generated(p)) {
            found.push(format!("{}: names {written}, which does not exist", doc.display()));
        }
    }
    found
}

#[test]
fn documents_name_only_paths_the_repository_has() {
    let root = root();
    let docs = documents();
    assert!(docs.len() >= 15, "the documents were found: {docs:?}");
    let mut found = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(root.join(doc)).expect("a Markdown file");
        found.extend(problems(&root, doc, &text));
    }
    assert!(found.is_empty(), "{} problem(s):\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_check_finds_missing_paths_and_forbidden_mentions() {
    let root = root();
    let doc = Path::new("docs/guides/example.md");
    let text = "See [state](state.md), [gone](missing.md#x), [out](../../../x.md) and \
                [site](https://example.com/docs/x.md).\n\
                Run `bench/run.sh --runs 3` and `bench/nothing.sh`; read jobs/realdata/esb_hourly.yaml,\n\
                **docs/guides/nope.md** or `src/lib.rs:12`, never `tests/cases/<area>/` or `jobs/*.yaml`.\n\
                ```sh\nmeterflow run jobs/ --input samples/none.csv > bench/data/out.csv\n```\n\
                As SPEC.md section 3 says, see ../shared/realdata.\n";
    let found = problems(&root, doc, text);
    let expected = [
        "docs/guides/example.md: mentions SPEC.md, which the repository does not have",
        "docs/guides/example.md: mentions ../shared, which the repository does not have",
        "docs/guides/example.md: link to missing.md: docs/guides/missing.md does not exist",
        "docs/guides/example.md: link to ../../../x.md leaves the repository",
        "docs/guides/example.md: names bench/nothing.sh, which does not exist",
        "docs/guides/example.md: names docs/guides/nope.md, which does not exist",
        "docs/guides/example.md: names samples/none.csv, which does not exist",
    ];
    assert_eq!(found, expected);
}
