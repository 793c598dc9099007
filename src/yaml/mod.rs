//! A small typed walk over a marked YAML tree that records every problem it meets instead of
//! stopping at the first: unknown fields (listing the expected ones), missing fields and values of
//! the wrong shape, each with its field path and line:column. serde cannot collect more than one
//! error or keep positions for values that are checked after deserialisation, so the job loader
//! reads YAML through this instead.

pub mod diagnostic;

use diagnostic::Diagnostic;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Node, Span};

/// Deepest nesting of lists and mappings a YAML file may have. A job file needs four; the loader
/// builds its tree recursively, so 40,000 levels of `- - - ...` (80 KB) overflowed the stack.
pub(crate) const MAX_NESTING: usize = 64;

/// Where the YAML in `source` first nests lists and mappings deeper than [`MAX_NESTING`], as
/// (line, column), with the message to give; found with yaml-rust2's pull parser, which keeps
/// its state on the heap. Text the parser refuses is left to the loader, which says why.
pub(crate) fn too_deep(source: &str) -> Option<(usize, usize, String)> {
    let mut parser = yaml_rust2::parser::Parser::new_from_str(source);
    let mut depth = 0usize;
    loop {
        let (event, marker) = parser.next_token().ok()?;
        match event {
            yaml_rust2::Event::SequenceStart(..) | yaml_rust2::Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_NESTING {
                    let message = format!(
                        "lists and mappings are nested more than {MAX_NESTING} levels deep; a job, test or \
                         input-config file needs a few"
                    );
                    return Some((marker.line(), marker.col() + 1, message));
                }
            }
            yaml_rust2::Event::SequenceEnd | yaml_rust2::Event::MappingEnd => depth = depth.saturating_sub(1),
            yaml_rust2::Event::StreamEnd => return None,
            _ => {}
        }
    }
}

/// Parses the reader's source as a YAML mapping; a file that is not one is reported.
pub(crate) fn parse(reader: &mut Reader<'_>) -> Option<Node> {
    if let Some((line, column, message)) = too_deep(reader.source()) {
        reader.error_unquoted(line, column, "", message);
        return None;
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_mapping();
    marked_yaml::parse_yaml_with_options(0, reader.source(), options).map_err(|e| report_yaml_error(reader, &e)).ok()
}

fn report_yaml_error(reader: &mut Reader<'_>, error: &LoadError) {
    let (marker, message) = match error {
        LoadError::TopLevelMustBeMapping(m) => (Some(*m), "a job file must be a YAML mapping of fields".to_string()),
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "unexpected top-level sequence".to_string()),
        LoadError::UnexpectedAnchor(m) => {
            (Some(*m), "YAML anchors and aliases are not supported in job files".to_string())
        }
        LoadError::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain names".to_string()),
        LoadError::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported in job files".to_string()),
        LoadError::ScanError(m, e) => {
            (Some(*m), format!("invalid YAML: {}{}", e.info(), unquoted_interval(reader.source(), m.line())))
        }
        LoadError::DuplicateKey(d) => {
            (d.key.span().start().copied(), format!("field `{}` is given twice", d.key.as_str()))
        }
    };
    let (line, column) = marker.map_or((0, 0), |m| (m.line(), m.column()));
    match error {
        // Both keys were read as keys of a mapping, as unknown fields are: quoting them shows no more.
        LoadError::DuplicateKey(_) => reader.error_at(line, column, "", message),
        _ => reader.error_unquoted(line, column, "", message),
    }
}

/// `; ... quote it` when a line up to `line` gives a field an unquoted interval (`threshold: [0,
/// 100)`), which YAML reads as the start of a list and then fails on.
fn unquoted_interval(source: &str, line: usize) -> String {
    let lines: Vec<&str> = source.lines().take(line).collect();
    let found = lines.iter().enumerate().rev().find_map(|(i, text)| {
        let (key, value) = text.split_once(':')?;
        let value = value.trim();
        let interval = value.starts_with(['[', '(']) && value.ends_with([']', ')']) && value.contains(',');
        (interval && !(value.starts_with('[') && value.ends_with(']'))).then(|| (i + 1, key.trim(), value))
    });
    match found {
        Some((at, key, value)) => format!(
            "; line {at} gives `{key}` the interval {value} unquoted, which YAML reads as a list: quote it, \
             `{key}: \"{value}\"`"
        ),
        None => String::new(),
    }
}

/// A scalar value and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Located<'a> {
    pub(crate) text: &'a str,
    pub(crate) field: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// The file being read and the problems found so far.
pub struct Reader<'s> {
    file: String,
    source: &'s str,
    /// The source's lines, split once: a file with thousands of problems must not be rescanned
    /// for each one.
    lines: Vec<&'s str>,
    pub(crate) problems: Vec<Diagnostic>,
    /// Problems that do not stop the job (`validate` shows them).
    pub(crate) warnings: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    /// Reads `source`, less a UTF-8 byte-order mark that some Windows editors write.
    pub(crate) fn new(file: String, source: &'s str) -> Self {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        Reader { file, source, lines: source.lines().collect(), problems: Vec::new(), warnings: Vec::new() }
    }

    /// The file as the user named it.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The whole source text.
    pub(crate) fn source(&self) -> &'s str {
        self.source
    }

    /// Records a problem at a line and column of this file.
    pub(crate) fn error_at(&mut self, line: usize, column: usize, field: &str, message: impl Into<String>) {
        let source_line = self.source_line(line).map(str::to_string);
        self.problems.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
            source_line,
        });
    }

    /// Records a problem of a file that did not parse as a YAML mapping: located, but with no
    /// source line, since such a file may be anything a path or a link led to (a credentials file
    /// in CI) and its lines must not reach a log.
    pub(crate) fn error_unquoted(&mut self, line: usize, column: usize, field: &str, message: impl Into<String>) {
        self.problems.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
            source_line: None,
        });
    }

    /// Records a warning about a scalar value.
    pub(crate) fn warning(&mut self, at: &Located<'_>, message: impl Into<String>) {
        self.warning_at(at.line, at.column, &at.field, message);
    }

    /// Records a warning at a position (inside a value).
    pub(crate) fn warning_at(&mut self, line: usize, column: usize, field: &str, message: impl Into<String>) {
        self.error_at(line, column, field, message);
        let warning = self.problems.pop().expect("just recorded");
        self.warnings.push(warning);
    }

    /// Records a problem about a scalar value.
    pub(crate) fn error(&mut self, at: &Located<'_>, message: impl Into<String>) {
        self.error_at(at.line, at.column, &at.field, message);
    }

    /// Records a problem at a node's position.
    pub(crate) fn error_span(&mut self, span: &Span, field: &str, message: impl Into<String>) {
        let (line, column) = position(span);
        self.error_at(line, column, field, message);
    }

    /// The text of a source line, for mapping positions inside a value back to the file.
    pub(crate) fn source_line(&self, line: usize) -> Option<&'s str> {
        self.lines.get(line.checked_sub(1)?).copied()
    }
}

fn position(span: &Span) -> (usize, usize) {
    span.start().map_or((0, 0), |m| (m.line(), m.column()))
}

/// Joins a field path: `policies[0]` + `threshold`.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// A known field: its canonical name, the other spellings accepted for it, and what it holds. The
/// field tables are the one description of the file formats: the loader checks keys against them
/// and `meterflow schema` turns them into a JSON Schema.
pub struct Field {
    pub(crate) name: &'static str,
    pub(crate) aliases: &'static [&'static str],
    /// Whether the loader reports the field as missing when absent (for every mode of the job).
    pub(crate) required: bool,
    pub(crate) shape: Shape,
    /// What the field means, for people: the schema's description.
    pub(crate) doc: &'static str,
}

impl Field {
    pub(crate) const fn required(name: &'static str, shape: Shape, doc: &'static str) -> Field {
        Field { name, aliases: &[], required: true, shape, doc }
    }

    pub(crate) const fn optional(name: &'static str, shape: Shape, doc: &'static str) -> Field {
        Field { name, aliases: &[], required: false, shape, doc }
    }

    /// The same field, also accepted under `aliases`.
    pub(crate) const fn aliases(self, aliases: &'static [&'static str]) -> Field {
        Field { aliases, ..self }
    }
}

/// The kind of value a field holds, as far as a schema can say it.
#[derive(Clone, Copy)]
pub enum Shape {
    /// Free text.
    Text,
    /// A model name: letters, digits, `_`, `-`, `.`.
    Name,
    /// `Point` or `Model::Point`.
    Point,
    /// `500ms`, `30s`, `10m`, `1h`, `1d`, `1w` or combinations such as `1h30m`.
    Duration,
    /// A duration, or calendar months: `1mo`, `3mo`, `1y`.
    Period,
    /// Interval notation such as `[0, 100)`.
    Threshold,
    /// A merge expression over `${Model::Point}` operands.
    Expression,
    /// One of the aggregation names the engine knows.
    Aggregation,
    /// CSV text with a header line.
    Csv,
    /// A whole number, 0 or more.
    Count,
    /// A number, 0 or more.
    Number,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A mapping with these fields.
    Mapping(&'static [Field]),
    /// A list of mappings with these fields.
    List(&'static [Field]),
}

impl Shape {
    /// The fields of a mapping or of a list's entries; none for a single value.
    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            Shape::Mapping(fields) | Shape::List(fields) => fields,
            _ => &[],
        }
    }
}

/// A mapping whose keys have been checked against the fields it may hold.
pub(crate) struct Mapping<'n> {
    node: &'n MarkedMappingNode,
    path: String,
    fields: &'static [Field],
}

impl<'n> Mapping<'n> {
    /// Views `node` as a mapping at `path`; reports it and returns `None` when it is not one.
    /// Keys that are not among `fields` (or their aliases) are reported with the expected names.
    pub(crate) fn new(reader: &mut Reader<'_>, node: &'n Node, path: &str, fields: &'static [Field]) -> Option<Self> {
        let Some(map) = node.as_mapping() else {
            reader.error_span(node.span(), path, format!("expected a mapping with fields {}", expected_list(fields)));
            return None;
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for key in map.keys() {
            let key_path = child_path(path, key.as_str());
            match fields.iter().find(|f| f.name == key.as_str() || f.aliases.contains(&key.as_str())) {
                None => reader.error_span(
                    key.span(),
                    &key_path,
                    format!("unknown field `{}`, expected one of {}", key.as_str(), expected_list(fields)),
                ),
                Some(f) if seen.contains(&f.name) => reader.error_span(
                    key.span(),
                    &key_path,
                    format!("field `{}` is given twice (once as an alias)", f.name),
                ),
                Some(f) => seen.push(f.name),
            }
        }
        Some(Mapping { node: map, path: path.to_string(), fields })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Where the mapping starts (its first key), for problems about the mapping as a whole.
    pub(crate) fn span(&self) -> &Span {
        self.node.keys().next().map_or(self.node.span(), |k| k.span())
    }

    /// The node of a field, found under any accepted spelling. The field must be one of this
    /// mapping's table: a field of another table would silently read as absent.
    pub(crate) fn get(&self, field: &Field) -> Option<(&'n MarkedScalarNode, &'n Node)> {
        debug_assert!(
            self.fields.iter().any(|f| f.name == field.name),
            "field `{}` is not in the table of `{}`",
            field.name,
            self.path_or_root()
        );
        self.node.iter().find(|(k, _)| k.as_str() == field.name || field.aliases.contains(&k.as_str()))
    }

    /// The node of a field; a missing field is reported when the table requires it.
    fn field(&self, reader: &mut Reader<'_>, field: &Field) -> Option<&'n Node> {
        let found = self.get(field).map(|(_, node)| node);
        if found.is_none() && field.required {
            self.missing(reader, field.name);
        }
        found
    }

    /// A scalar field, or `None` (reported when required).
    pub(crate) fn scalar(&self, reader: &mut Reader<'_>, field: &Field) -> Option<Located<'n>> {
        let path = child_path(&self.path, field.name);
        let node = self.field(reader, field)?;
        let Some(s) = node.as_scalar() else {
            reader.error_span(node.span(), &path, "expected a single value, found a list or mapping");
            return None;
        };
        let (line, column) = position(s.span());
        Some(Located { text: s.as_str(), field: path, line, column })
    }

    /// A sequence field, or `None` (reported when required).
    pub(crate) fn sequence(&self, reader: &mut Reader<'_>, field: &Field) -> Option<(&'n MarkedSequenceNode, String)> {
        let path = child_path(&self.path, field.name);
        let node = self.field(reader, field)?;
        let Some(seq) = node.as_sequence() else {
            reader.error_span(node.span(), &path, "expected a list");
            return None;
        };
        Some((seq, path))
    }

    /// A nested mapping field (`Shape::Mapping`), checked against its own fields.
    pub(crate) fn mapping(&self, reader: &mut Reader<'_>, field: &Field) -> Option<Mapping<'n>> {
        let node = self.field(reader, field)?;
        Mapping::new(reader, node, &child_path(&self.path, field.name), field.shape.fields())
    }

    /// The entries of a list of mappings (`Shape::List`, such as `policies`), each checked against
    /// its fields; an empty or missing list is reported.
    pub(crate) fn mappings(&self, reader: &mut Reader<'_>, field: &Field) -> Vec<Mapping<'n>> {
        let Some((seq, path)) = self.sequence(reader, field) else { return Vec::new() };
        if seq.is_empty() {
            reader.error_span(seq.span(), &path, format!("`{}` needs at least one entry", field.name));
        }
        seq.iter()
            .enumerate()
            .filter_map(|(i, node)| Mapping::new(reader, node, &format!("{path}[{i}]"), field.shape.fields()))
            .collect()
    }

    /// Reports a missing field at the mapping's first key, where the user would add it.
    fn missing(&self, reader: &mut Reader<'_>, name: &str) {
        reader.error_span(self.span(), &self.path_or_root(), format!("missing field `{name}`"));
    }

    fn path_or_root(&self) -> String {
        if self.path.is_empty() { "(top level)".to_string() } else { self.path.clone() }
    }
}

fn expected_list(fields: &[Field]) -> String {
    fields.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
}

/// How the accepted words are listed when a value is none of them.
#[derive(Clone, Copy)]
pub(crate) enum Listing {
    /// "`a` or `b`".
    Or,
    /// "one of `a`, `b`, `c`".
    OneOf,
}

/// The value a choice's word stands for; another word is reported as an unknown `what`.
pub(crate) fn choice<T: Copy>(
    reader: &mut Reader<'_>,
    at: &Located<'_>,
    what: &str,
    names: &[(&'static str, T)],
    listing: Listing,
) -> Option<T> {
    let text = at.text.trim();
    let found = names.iter().find(|(n, _)| *n == text).map(|(_, v)| *v);
    if found.is_none() {
        let words: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
        let guess = match words.iter().find(|w| w.eq_ignore_ascii_case(text)) {
            Some(word) => format!("; did you mean `{word}`?"),
            None => String::new(),
        };
        reader.error(at, format!("unknown {what} `{text}`, expected {}{guess}", list(&words, listing)));
    }
    found
}

/// Words in backticks, listed for a message.
pub(crate) fn list(words: &[&str], listing: Listing) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match (listing, quoted.split_last()) {
        (Listing::OneOf, _) => format!("one of {}", quoted.join(", ")),
        (Listing::Or, Some((last, rest))) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        (Listing::Or, _) => quoted.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Field = Field::optional("a", Shape::Text, "");
    const B: Field = Field::optional("b", Shape::Text, "").aliases(&["bee"]);

    #[test]
    fn a_field_is_found_under_its_aliases() {
        let mut reader = Reader::new("f.yaml".into(), "a: 1\nbee: 2\n");
        let root = parse(&mut reader).unwrap();
        let m = Mapping::new(&mut reader, &root, "", &[A, B]).unwrap();
        assert_eq!(m.scalar(&mut reader, &B).map(|at| (at.text, at.field, at.line)), Some(("2", "b".to_string(), 2)));
        assert!(reader.problems.is_empty());
    }

    /// A field of another table (or a misspelt one) must not read as absent without a word.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "field `typo` is not in the table of `(top level)`")]
    fn a_field_outside_the_mappings_table_is_refused() {
        const OTHER: Field = Field::optional("typo", Shape::Text, "");
        let mut reader = Reader::new("f.yaml".into(), "a: 1\n");
        let root = parse(&mut reader).unwrap();
        let m = Mapping::new(&mut reader, &root, "", &[A, B]).unwrap();
        m.get(&OTHER);
    }

    #[test]
    fn choices_are_listed_as_the_messages_need() {
        assert_eq!(list(&["x"], Listing::Or), "`x`");
        assert_eq!(list(&["x", "y"], Listing::Or), "`x` or `y`");
        assert_eq!(list(&["x", "y", "z"], Listing::Or), "`x`, `y` or `z`");
        assert_eq!(list(&["x", "y"], Listing::OneOf), "one of `x`, `y`");
    }
}
