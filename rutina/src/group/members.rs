//! The members of a group, by id: the registry that `go` adds to and a routine's end
//! removes from, kept under the group's lock (`Core`).

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use crate::Id;
use crate::id::IdHasher;
use crate::member::Member;

/// The members of a group, by id: a set of the members themselves (one pointer a slot,
/// half the room of a map from id to member), looked up by their id.
#[derive(Default)]
pub(crate) struct Members(HashSet<ById, BuildHasherDefault<IdHasher>>);

/// A member, hashed and compared by its id.
struct ById(Arc<Member>);

impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &ById) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for ById {}

impl Borrow<Id> for ById {
    fn borrow(&self) -> &Id {
        &self.0.id
    }
}

impl Members {
    pub(crate) fn get(&self, id: &Id) -> Option<&Arc<Member>> {
        self.0.get(id).map(|entry| &entry.0)
    }

    pub(crate) fn contains_key(&self, id: &Id) -> bool {
        self.0.contains(id)
    }

    /// Adds `member`, or puts it in the place of the member with its id.
    pub(crate) fn insert(&mut self, member: Arc<Member>) {
        self.0.replace(ById(member));
    }

    pub(crate) fn remove(&mut self, id: &Id) -> Option<Arc<Member>> {
        self.0.take(id).map(|entry| entry.0)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<Member>> {
        self.0.iter().map(|entry| &entry.0)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Id> {
        self.0.iter().map(|entry| &entry.0.id)
    }
}
