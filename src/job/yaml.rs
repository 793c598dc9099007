//! A small typed walk over a marked YAML tree that records every problem it meets instead of
//! stopping at the first: unknown fields (listing the expected ones), missing fields and values of
//! the wrong shape, each with its field path and line:column. serde cannot collect more than one
//! error or keep positions for values that are checked after deserialisation, so the job loader
//! reads YAML through this instead.

use super::diagnostic::Diagnostic;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Node, Span};

/// A scalar value and where it came from.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    pub text: &'a str,
    pub field: String,
    pub line: usize,
    pub column: usize,
}

/// The file being read and the problems found so far.
pub struct Reader<'s> {
    file: String,
    source: &'s str,
    /// The source's lines, split once: a file with thousands of problems must not be rescanned
    /// for each one.
    lines: Vec<&'s str>,
    pub problems: Vec<Diagnostic>,
    /// Problems that do not stop the job (`validate` shows them).
    pub warnings: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub fn new(file: String, source: &'s str) -> Self {
        Reader { file, source, lines: source.lines().collect(), problems: Vec::new(), warnings: Vec::new() }
    }

    /// The file as the user named it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The whole source text.
    pub fn source(&self) -> &'s str {
        self.source
    }

    /// Records a problem at a line and column of this file.
    pub fn error_at(&mut self, line: usize, column: usize, field: &str, message: impl Into<String>) {
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

    /// Records a warning about a scalar value.
    pub fn warning(&mut self, at: &Located<'_>, message: impl Into<String>) {
        self.error(at, message);
        let warning = self.problems.pop().expect("just recorded");
        self.warnings.push(warning);
    }

    /// Records a problem about a scalar value.
    pub fn error(&mut self, at: &Located<'_>, message: impl Into<String>) {
        self.error_at(at.line, at.column, &at.field, message);
    }

    /// Records a problem at a node's position.
    pub fn error_span(&mut self, span: &Span, field: &str, message: impl Into<String>) {
        let (line, column) = position(span);
        self.error_at(line, column, field, message);
    }

    /// The text of a source line, for mapping positions inside a value back to the file.
    pub fn source_line(&self, line: usize) -> Option<&'s str> {
        self.lines.get(line.checked_sub(1)?).copied()
    }
}

fn position(span: &Span) -> (usize, usize) {
    span.start().map_or((0, 0), |m| (m.line(), m.column()))
}

/// Joins a field path: `policies[0]` + `threshold`.
pub fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// A known field: its canonical name, the other spellings accepted for it, and what it holds. The
/// field tables are the one description of the file formats: the loader checks keys against them
/// and `meterflow schema` turns them into a JSON Schema.
pub struct Field {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Whether the loader reports the field as missing when absent (for every mode of the job).
    pub required: bool,
    pub shape: Shape,
    /// What the field means, for people: the schema's description.
    pub doc: &'static str,
}

impl Field {
    pub const fn required(name: &'static str, shape: Shape, doc: &'static str) -> Field {
        Field { name, aliases: &[], required: true, shape, doc }
    }

    pub const fn optional(name: &'static str, shape: Shape, doc: &'static str) -> Field {
        Field { name, aliases: &[], required: false, shape, doc }
    }

    /// The same field, also accepted under `aliases`.
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Field {
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

/// A mapping whose keys have been checked against the fields it may hold.
pub struct Mapping<'n> {
    node: &'n MarkedMappingNode,
    path: String,
    fields: &'static [Field],
}

impl<'n> Mapping<'n> {
    /// Views `node` as a mapping at `path`; reports it and returns `None` when it is not one.
    /// Keys that are not among `fields` (or their aliases) are reported with the expected names.
    pub fn new(reader: &mut Reader<'_>, node: &'n Node, path: &str, fields: &'static [Field]) -> Option<Self> {
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

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the mapping starts (its first key), for problems about the mapping as a whole.
    pub fn span(&self) -> &Span {
        self.node.keys().next().map_or(self.node.span(), |k| k.span())
    }

    /// The node of a field by canonical name, found under any accepted spelling.
    pub fn get(&self, name: &str) -> Option<(&'n MarkedScalarNode, &'n Node)> {
        let field = self.fields.iter().find(|f| f.name == name)?;
        self.node.iter().find(|(k, _)| k.as_str() == field.name || field.aliases.contains(&k.as_str()))
    }

    /// The node of a field; a missing field is reported when `required`.
    fn field(&self, reader: &mut Reader<'_>, name: &str, required: bool) -> Option<&'n Node> {
        let found = self.get(name).map(|(_, node)| node);
        if found.is_none() && required {
            self.missing(reader, name);
        }
        found
    }

    /// A scalar field, or `None` (reported when `required`).
    pub fn scalar(&self, reader: &mut Reader<'_>, name: &str, required: bool) -> Option<Located<'n>> {
        let path = child_path(&self.path, name);
        let node = self.field(reader, name, required)?;
        let Some(s) = node.as_scalar() else {
            reader.error_span(node.span(), &path, "expected a single value, found a list or mapping");
            return None;
        };
        let (line, column) = position(s.span());
        Some(Located { text: s.as_str(), field: path, line, column })
    }

    /// A sequence field, or `None` (reported when `required`).
    pub fn sequence(
        &self,
        reader: &mut Reader<'_>,
        name: &str,
        required: bool,
    ) -> Option<(&'n MarkedSequenceNode, String)> {
        let path = child_path(&self.path, name);
        let node = self.field(reader, name, required)?;
        let Some(seq) = node.as_sequence() else {
            reader.error_span(node.span(), &path, "expected a list");
            return None;
        };
        Some((seq, path))
    }

    /// A nested mapping field, checked against its own fields.
    pub fn mapping(
        &self,
        reader: &mut Reader<'_>,
        name: &str,
        fields: &'static [Field],
        required: bool,
    ) -> Option<Mapping<'n>> {
        let node = self.field(reader, name, required)?;
        Mapping::new(reader, node, &child_path(&self.path, name), fields)
    }

    /// The entries of a list of mappings (such as `policies`), each checked against `fields`;
    /// an empty or missing list is reported.
    pub fn mappings(&self, reader: &mut Reader<'_>, name: &str, fields: &'static [Field]) -> Vec<Mapping<'n>> {
        let Some((seq, path)) = self.sequence(reader, name, true) else { return Vec::new() };
        if seq.is_empty() {
            reader.error_span(seq.span(), &path, format!("`{name}` needs at least one entry"));
        }
        seq.iter()
            .enumerate()
            .filter_map(|(i, node)| Mapping::new(reader, node, &format!("{path}[{i}]"), fields))
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
