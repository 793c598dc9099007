//! The checks every reader makes of a name field (asset, point, model), and whether a job reads
//! a point or model: shared by the CSV readers, the fast path and JSON lines so they agree.

/// A name field as text, or what is wrong with it. A byte-order mark inside a name (left there
/// when files are joined, or by an editor) is invisible, and would make `m1` and `\u{feff}m1` two
/// series: it is refused, as the contract says (docs/reference/contract.md). So is a control
/// character (a NUL of a damaged file, a line break of a quoted field, a terminal's escape): no
/// meter is named so, line protocol and PostgreSQL cannot store it, and on a terminal it would
/// act instead of showing.
#[inline]
pub(crate) fn name(field: &[u8], required: bool) -> Result<&str, &'static str> {
    let problem = if required { "expected a non-empty UTF-8 name" } else { "expected a UTF-8 name" };
    let text = std::str::from_utf8(field).ok().filter(|t| !t.is_empty()).ok_or(problem)?;
    if has_bom(field) {
        return Err("a name must not hold a byte-order mark (U+FEFF)");
    }
    match has_control(field) {
        true => Err(CONTROL),
        false => Ok(text),
    }
}

/// What is wrong with a name that holds a control character.
pub(crate) const CONTROL: &str = "a name must not hold a control character (NUL, a line break, a tab, an escape, ...)";

/// Whether the UTF-8 `bytes` hold a control character, as [`char::is_control`] says: U+0000 to
/// U+001F, U+007F, or U+0080 to U+009F (`0xC2 0x80` to `0xC2 0x9F`).
#[inline]
pub(crate) fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
        || (memchr::memchr(0xc2, bytes).is_some() && bytes.windows(2).any(|w| w[0] == 0xc2 && w[1] <= 0x9f))
}

/// Whether a non-empty `field` passes [`name`]'s checks: the fast path's check of the asset of a
/// line no job reads, whose name is not kept. Out of line, so that the lines jobs read keep the
/// parser's code as it was (inlined, it cost them 2 instructions a row).
#[inline(never)]
pub(crate) fn passes_name_checks(field: &[u8]) -> bool {
    // Printable ASCII, as meter names nearly always are, is valid UTF-8 without a byte-order mark
    // (whose bytes are all above 0x7F) or a control character: one pass instead of three.
    field.iter().all(|&b| (0x20..0x7f).contains(&b))
        || (std::str::from_utf8(field).is_ok() && !has_bom(field) && !has_control(field))
}

/// Whether `bytes` hold U+FEFF, the byte-order mark, anywhere.
#[inline]
pub(crate) fn has_bom(bytes: &[u8]) -> bool {
    // Its first byte is rare in names: the search for the whole mark runs only past one.
    memchr::memchr(BOM[0], bytes).is_some() && memchr::memmem::find(bytes, BOM).is_some()
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Whether the first field of a line, as the CSV reader gave it, is the header's first name
/// `name`: trimmed of spaces and of a byte-order mark (files joined with `cat`, each with its
/// mark). The reader saw the mark, not a quote, open the field, so a quoted first name
/// (`\u{feff}"Date"`) reaches here with its quotes.
pub(crate) fn is_first_name(field: &[u8], name: &str) -> bool {
    match field.strip_prefix(BOM) {
        Some(rest) => {
            let rest = rest.trim_ascii();
            let inner = rest.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\""));
            rest == name.as_bytes() || inner.map(<[u8]>::trim_ascii) == Some(name.as_bytes())
        }
        None => field.trim_ascii() == name.as_bytes(),
    }
}

/// Whether `id` is marked read in `read` (`None`: everything is).
#[inline]
pub(crate) fn is_read(read: Option<&[bool]>, id: u32) -> bool {
    read.is_none_or(|read| read.get(id as usize) == Some(&true))
}
