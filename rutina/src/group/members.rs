//! The members of a group, by id: the registry that `go` adds to and a routine's end
//! removes from, kept under the group's lock (`Core`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::Id;
use crate::member::Member;

/// Below this many slots the window is never compacted: a few empty slots cost less
/// than moving the members they sit between.
const MIN_COMPACTED: usize = 64;

/// The members of a group, ascending by id.
///
/// Ids are handed out in sequence, so most members sit in a window of slots indexed by
/// their id: joining is a push at its end (no hashing, and no table to rehash, which
/// read every member again as the group grew), leaving empties a slot, and the window
/// moves on as its first members leave. Members that stay while many after them come
/// and go (a service's long-lived routines among short-lived ones) would keep the
/// window growing: when it is mostly empty, they move to a map of their own and the
/// window starts afresh.
#[derive(Default)]
pub(crate) struct Members {
    /// The member with id `base + i` in slot `i`, `None` where it left (or has not
    /// joined yet: ids are taken before the group's lock).
    window: VecDeque<Option<Arc<Member>>>,
    /// The id of the window's first slot.
    base: u64,
    /// How many of the window's slots hold a member.
    in_window: usize,
    /// The members older than the window: every id here is below `base`.
    older: BTreeMap<Id, Arc<Member>>,
}

impl Members {
    /// The slot of `id` in the window, if it falls in the window's span.
    fn slot(&self, id: Id) -> Option<usize> {
        let index = usize::try_from(id.get().checked_sub(self.base)?).ok()?;
        (index < self.window.len()).then_some(index)
    }

    pub(crate) fn get(&self, id: &Id) -> Option<&Arc<Member>> {
        match self.slot(*id) {
            Some(index) => self.window[index].as_ref(),
            None => self.older.get(id),
        }
    }

    pub(crate) fn contains_key(&self, id: &Id) -> bool {
        self.get(id).is_some()
    }

    /// Adds `member`, or puts it in the place of the member with its id.
    pub(crate) fn insert(&mut self, member: Arc<Member>) {
        let id = member.id.get();
        let slots = self.window.len();
        // Mostly empty, or far short of the id joining (ids taken by routines that never
        // joined): the window's members move out of the way.
        if (slots >= MIN_COMPACTED && self.in_window < slots / 2)
            || id.checked_sub(self.base).is_some_and(|index| index > 2 * slots as u64 + MIN_COMPACTED as u64)
        {
            self.compact();
        }
        if self.window.is_empty() && id >= self.base {
            self.base = id;
        }
        // An id below the window's was taken before the window moved past it.
        let Some(index) = id.checked_sub(self.base).and_then(|index| usize::try_from(index).ok()) else {
            self.older.insert(member.id, member);
            return;
        };
        // Ids are handed out in sequence: most join at the window's end.
        if index == self.window.len() {
            self.window.push_back(Some(member));
            self.in_window += 1;
            return;
        }
        if index > self.window.len() {
            self.window.resize(index + 1, None);
        }
        let slot = &mut self.window[index];
        self.in_window += usize::from(slot.is_none());
        *slot = Some(member);
    }

    /// Moves the window's members to `older`; the window starts afresh after its span.
    fn compact(&mut self) {
        self.base += self.window.len() as u64;
        self.older.extend(self.window.drain(..).flatten().map(|member| (member.id, member)));
        self.in_window = 0;
    }

    pub(crate) fn remove(&mut self, id: &Id) -> Option<Arc<Member>> {
        let Some(index) = self.slot(*id) else {
            return self.older.remove(id);
        };
        let member = self.window[index].take()?;
        self.in_window -= 1;
        if self.in_window == 0 {
            self.compact();
        } else {
            while let Some(None) = self.window.front() {
                self.window.pop_front();
                self.base += 1;
            }
        }
        Some(member)
    }

    pub(crate) fn len(&self) -> usize {
        self.in_window + self.older.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The members, ascending by id.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<Member>> {
        self.older.values().chain(self.window.iter().flatten())
    }

    /// The members' ids, ascending.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Id> {
        self.values().map(|member| &member.id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{MIN_COMPACTED, Members};
    use crate::Id;
    use crate::health::Health;
    use crate::member::{Joining, Member};

    fn member(id: u64) -> Arc<Member> {
        Arc::new(Member::new(Id::new(id), Joining::plain(None, Arc::new(Health::default()))))
    }

    fn ids(members: &Members) -> Vec<u64> {
        members.keys().map(|id| id.get()).collect()
    }

    #[test]
    fn members_are_found_by_id_and_kept_in_id_order() {
        let mut members = Members::default();
        // Ids are taken before the lock: they may join out of order.
        for id in [1, 2, 4, 3, 5] {
            members.insert(member(id));
        }
        assert_eq!(ids(&members), [1, 2, 3, 4, 5]);
        assert_eq!(members.len(), 5);
        assert_eq!(members.get(&Id::new(4)).map(|member| member.id.get()), Some(4));
        assert!(members.get(&Id::new(6)).is_none());

        // The first leave: the window moves on. One in the middle leaves a gap.
        assert_eq!(members.remove(&Id::new(1)).map(|member| member.id.get()), Some(1));
        assert_eq!(members.remove(&Id::new(3)).map(|member| member.id.get()), Some(3));
        assert!(members.remove(&Id::new(3)).is_none(), "removed once");
        assert!(!members.contains_key(&Id::new(3)));
        assert_eq!(ids(&members), [2, 4, 5]);

        // A renewed member takes its predecessor's place.
        let renewed = member(4);
        members.insert(renewed.clone());
        assert!(Arc::ptr_eq(members.get(&Id::new(4)).expect("kept"), &renewed));
        assert_eq!(members.len(), 3);

        for id in [2, 5, 4] {
            assert!(members.remove(&Id::new(id)).is_some());
        }
        assert!(members.is_empty());
        assert_eq!(ids(&members), [] as [u64; 0]);

        // An id taken before the window moved past it still joins, and is found.
        members.insert(member(9));
        members.insert(member(8));
        assert_eq!(ids(&members), [8, 9]);
        assert!(members.contains_key(&Id::new(8)));
    }

    /// A long-lived member among many short-lived ones does not keep the window
    /// growing: it moves out of the way, and is still found, in order.
    #[test]
    fn long_lived_members_leave_the_window_to_the_short_lived() {
        let mut members = Members::default();
        members.insert(member(1));
        for id in 2..10_000 {
            members.insert(member(id));
            assert!(members.remove(&Id::new(id)).is_some());
        }
        assert!(members.window.len() <= 2 * MIN_COMPACTED, "{} slots", members.window.len());
        members.insert(member(10_000));
        assert_eq!(ids(&members), [1, 10_000]);
        // Ids taken by routines that never joined leave no room behind.
        members.insert(member(1_000_000));
        assert!(members.window.len() <= 2 * MIN_COMPACTED, "{} slots", members.window.len());
        assert!(members.remove(&Id::new(1_000_000)).is_some());
        assert_eq!(members.get(&Id::new(1)).map(|member| member.id.get()), Some(1));
        let renewed = member(1);
        members.insert(renewed.clone());
        assert!(Arc::ptr_eq(members.get(&Id::new(1)).expect("kept"), &renewed));
        assert_eq!(members.len(), 2);
        assert!(members.remove(&Id::new(1)).is_some());
        assert!(members.remove(&Id::new(10_000)).is_some());
        assert!(members.is_empty());
    }
}
