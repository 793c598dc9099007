//! The crate's layering, checked on its source: clap is known only to the command-line layer, no
//! library module imports that layer, and the modules' imports form no circle. A module's imports
//! of its own ancestors (`use super::X` from `engine/window.rs`) are the parent re-exporting its
//! parts, not a circle, and test modules are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The command-line layer: the only modules that may use clap or be imported by nobody else.
const CLI_LAYER: &[&str] = &["cli", "commands", "app", "failure"];

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
fn clap_is_known_only_to_the_command_line_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = code(&std::fs::read_to_string(file).expect("a source file"));
        if text.contains("clap") && !module.is_empty() && !CLI_LAYER.contains(&layer_of(&module)) {
            offenders.push(module);
        }
    }
    assert!(offenders.is_empty(), "modules outside the command-line layer that use clap: {offenders:?}");
}

#[test]
fn no_library_module_imports_the_command_line_layer() {
    let mut upward = Vec::new();
    for (module, imports) in import_graph() {
        if module.is_empty() || CLI_LAYER.contains(&layer_of(&module)) {
            continue;
        }
        upward.extend(imports.iter().filter(|t| CLI_LAYER.contains(&layer_of(t))).map(|t| format!("{module} -> {t}")));
    }
    assert!(upward.is_empty(), "upward imports: {upward:?}");
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
