//! Interning of asset and point names into dense `u32` ids, so the hot path compares and indexes
//! integers and allocates only the first time a name is seen. The table hashes with foldhash
//! (hashbrown's default), several times faster than std's SipHash on short names; ids depend
//! only on the order names are first seen, never on the hasher.

use hashbrown::HashMap;

/// A name table: ids are handed out in order of first appearance.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The id of `name`, adding it if new.
    #[inline]
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The id of `name` if it was seen.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Every name, in id order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// A table holding `names` with ids in their order, as a run that saw them in that order had.
    pub(crate) fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Interner {
        let mut table = Interner::default();
        for name in names {
            table.intern(name);
        }
        table
    }
}

/// The name tables of one run.
#[derive(Debug, Default)]
pub struct Names {
    pub assets: Interner,
    pub points: Interner,
    pub models: Interner,
    /// Job names in run order, as [`crate::engine::Point::job`] and
    /// [`crate::engine::Dropped::job`] number them; set when the pipeline is built.
    pub(crate) jobs: Vec<String>,
}

impl Names {
    /// The name of job `index` (in run order).
    pub(crate) fn job(&self, index: usize) -> &str {
        self.jobs.get(index).map_or("", String::as_str)
    }
}
