//! The crate's layering, checked on its source: every folder of `src/` imports only the folders
//! below it on the ladder (`src/lib.rs` draws it), `src/` holds no loose files, clap is known only
//! to `cli/` (and `main.rs`), no source file is longer than [`MAX_LINES`], and the modules' imports
//! form no circle. A module's imports of its own ancestors (`use super::X` from
//! `engine/window.rs`) are the parent re-exporting its parts, not a circle, and test modules are
//! left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The ladder, bottom first: a folder may import the folders of lower rungs only. Folders on one
/// rung (input and output; time and yaml) never import each other.
const LADDER: &[&[&str]] =
    &[&["text"], &["time", "yaml"], &["job"], &["engine"], &["input", "output"], &["replay"], &["commands"], &["cli"]];

/// The longest a source file may be.
const MAX_LINES: usize = 600;

fn rung(folder: &str) -> Option<usize> {
    LADDER.iter().position(|rung| rung.contains(&folder))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/engine/window.rs` -> `engine::window`; `src/input/mod.rs` -> `input`; `src/lib.rs` -> ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every path a `use` item names, braces expanded: `a::{b, c::{d}}` -> `a::b`, `a::c::d`.
fn expand(prefix: &str, body: &str, out: &mut Vec<String>) {
    let Some(open) = body.find('{') else {
        out.push(format!("{prefix}{body}"));
        return;
    };
    let head = &body[..open];
    let inner = &body[open + 1..body.len() - 1];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{head}"), &inner[start..i], out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        expand(&format!("{prefix}{head}"), &inner[start..], out);
    }
}

/// The longest module named by the start of `path` as seen from `current`, if it is a crate path.
fn resolve(modules: &BTreeSet<String>, current: &str, path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = if current.is_empty() { Vec::new() } else { current.split("::").collect() };
    match segments.first().copied() {
        Some("crate") => {
            base.clear();
            segments.remove(0);
        }
        Some("super") => {
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
        }
        Some("self") => {
            segments.remove(0);
        }
        _ => return None,
    }
    (0..=segments.len())
        .rev()
        .map(|n| base.iter().chain(&segments[..n]).copied().collect::<Vec<_>>().join("::"))
        .find(|m| modules.contains(m))
}

/// Module -> the modules it imports (ancestors left out).
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let sources: Vec<(String, String)> =
        files.iter().map(|f| (module_of(&src, f), code(&std::fs::read_to_string(f).expect("a source file")))).collect();
    let modules: BTreeSet<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &sources {
        let mut paths = Vec::new();
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for item in flat.split(';') {
            let item = item.trim();
            let body = item.strip_prefix("pub use ").or_else(|| item.strip_prefix("use "));
            let body = body.or_else(|| item.split("pub(crate) use ").nth(1)).or_else(|| item.split(" use ").nth(1));
            if let Some(body) = body {
                expand("", &body.replace(' ', ""), &mut paths);
            }
        }
        for (i, _) in flat.match_indices("crate::") {
            let rest: String =
                flat[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            paths.push(rest);
        }
        let imports: BTreeSet<String> = paths
            .iter()
            .filter_map(|p| resolve(&modules, module, p))
            .filter(|t| t != module && !module.starts_with(&format!("{t}::")) && !t.is_empty())
            .collect();
        graph.insert(module.clone(), imports);
    }
    graph
}

fn layer_of(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

#[test]
fn clap_is_known_only_to_the_command_line() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = code(&std::fs::read_to_string(file).expect("a source file"));
        if text.contains("clap") && !module.is_empty() && layer_of(&module) != "cli" {
            offenders.push(module);
        }
    }
    assert!(offenders.is_empty(), "modules outside cli/ that use clap: {offenders:?}");
}

#[test]
fn every_folder_imports_only_the_folders_below_it() {
    let graph = import_graph();
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for (module, imports) in &graph {
        if module.is_empty() {
            continue;
        }
        let Some(from) = rung(layer_of(module)) else {
            unplaced.insert(layer_of(module).to_string());
            continue;
        };
        for target in imports {
            let folder = layer_of(target);
            match rung(folder) {
                Some(to) if to < from || folder == layer_of(module) => {}
                _ => upward.push(format!("{module} -> {target}")),
            }
        }
    }
    assert!(unplaced.is_empty(), "folders not on the ladder: {unplaced:?}");
    assert!(upward.is_empty(), "imports that do not go down the ladder: {upward:#?}");
}

#[test]
fn src_holds_only_main_and_lib_besides_folders() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut loose: Vec<String> = std::fs::read_dir(&src)
        .expect("src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned())
        .filter(|name| name != "main.rs" && name != "lib.rs")
        .collect();
    loose.sort();
    assert!(loose.is_empty(), "loose files in src/: {loose:?}");
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).expect("a source file").lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.strip_prefix(&src).unwrap_or(f).display()))
        })
        .collect();
    long.sort();
    assert!(long.is_empty(), "source files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn imports_form_no_circle() {
    let graph = import_graph();
    // Depth-first search; a back edge to a module on the current path closes a circle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == m) {
            return Some(path[at..].iter().chain([&m]).map(|s| s.to_string()).collect());
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for next in graph.get(m).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let circle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(circle.is_none(), "an import circle: {}", circle.unwrap_or_default().join(" -> "));
    }
    assert!(graph.len() > 40 && graph["commands::run"].contains("replay"), "the graph was read: {graph:?}");
}
