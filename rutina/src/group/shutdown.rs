//! The shutdown plan: in which order the members are asked to stop, and when each one
//! still running is aborted (rules 6 and 7). Made when the shutdown begins, under the
//! group's lock, and carried out by whoever drives the group: `wait`, or the reaper of a
//! group whose last handle was dropped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::id::IdMap;
use crate::member::Member;
use crate::{Id, ShutdownOrder};

pub(crate) struct Plan {
    order: ShutdownOrder,
    /// The group's grace period (its shutdown timeout).
    grace: Option<Duration>,
    /// All at once: when the members without a grace period of their own are aborted.
    group_deadline: Option<Instant>,
    /// When to abort which member: those with a grace period of their own, and in
    /// reverse start order each member from its turn. Earliest first.
    deadlines: BinaryHeap<Reverse<(Instant, Id)>>,
    /// Reverse start order: the members not yet asked to stop, ascending (popped from
    /// the end).
    pending: Vec<Id>,
    /// Reverse start order: the member stopping now.
    current: Option<Id>,
    /// Reverse start order: when each member was asked to stop.
    asked_at: IdMap<Instant>,
}

/// What the plan asks for at one moment.
#[derive(Default)]
pub(crate) struct Step {
    /// Members whose turn to stop came (reverse start order); their tokens are cancelled.
    pub(crate) stopping: Vec<Arc<Member>>,
    /// Members whose grace period ran out.
    pub(crate) due: Vec<Arc<Member>>,
    /// When to look again.
    pub(crate) next: Option<Instant>,
}

impl Plan {
    /// The plan of a shutdown beginning `now`. All at once, every member's token is
    /// cancelled with the group's; in reverse start order, `advance` cancels them.
    pub(crate) fn new(
        order: ShutdownOrder,
        grace: Option<Duration>,
        members: &IdMap<Arc<Member>>,
        graced: usize,
        now: Instant,
    ) -> Plan {
        let mut plan = Plan {
            order,
            grace,
            group_deadline: None,
            deadlines: BinaryHeap::new(),
            pending: Vec::new(),
            current: None,
            asked_at: IdMap::default(),
        };
        match order {
            ShutdownOrder::AllAtOnce => {
                plan.group_deadline = grace.and_then(|grace| now.checked_add(grace));
                // Most groups have no member with a grace period of its own: no walk.
                if graced > 0 {
                    for (id, member) in members {
                        if let Some(deadline) = member.grace().and_then(|grace| now.checked_add(grace)) {
                            plan.deadlines.push(Reverse((deadline, *id)));
                        }
                    }
                }
            }
            ShutdownOrder::ReverseStart => {
                plan.pending = members.keys().copied().collect();
                plan.pending.sort_unstable();
            }
        }
        plan
    }

    /// Whether the plan has anything left to do by itself (a turn to give, a member to
    /// abort), rather than only waiting for the members to return.
    pub(crate) fn is_active(&self) -> bool {
        self.group_deadline.is_some() || !self.deadlines.is_empty() || !self.pending.is_empty()
    }

    /// When `id` was asked to stop, if it was on its own turn.
    pub(crate) fn asked_at(&mut self, id: Id) -> Option<Instant> {
        if self.asked_at.is_empty() { None } else { self.asked_at.remove(&id) }
    }

    /// Carries the plan out as far as it goes at `now`.
    pub(crate) fn advance(&mut self, members: &IdMap<Arc<Member>>, now: Instant) -> Step {
        let mut step = Step::default();
        if self.order == ShutdownOrder::ReverseStart {
            // The next member's turn comes when the current one ended.
            while self.current.is_none_or(|id| !members.contains_key(&id)) {
                self.current = None;
                let Some(id) = self.pending.pop() else { break };
                let Some(member) = members.get(&id) else { continue };
                self.asked_at.insert(id, now);
                member.token.cancel();
                if let Some(deadline) = member.grace().or(self.grace).and_then(|grace| now.checked_add(grace)) {
                    self.deadlines.push(Reverse((deadline, id)));
                }
                self.current = Some(id);
                step.stopping.push(member.clone());
            }
        }
        if let Some(deadline) = self.group_deadline
            && deadline <= now
        {
            self.group_deadline = None;
            step.due.extend(members.values().filter(|member| member.grace().is_none()).cloned());
        }
        while let Some(&Reverse((deadline, id))) = self.deadlines.peek()
            && deadline <= now
        {
            self.deadlines.pop();
            step.due.extend(members.get(&id).cloned());
        }
        let next = self.deadlines.peek().map(|Reverse((deadline, _))| *deadline);
        step.next = match (self.group_deadline, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        step
    }

    /// Reverse start order: every member not yet asked to stop is, now (nobody will
    /// drive the plan).
    pub(crate) fn stop_all_now(&mut self, members: &IdMap<Arc<Member>>, now: Instant) {
        for id in self.pending.drain(..) {
            if let Some(member) = members.get(&id) {
                self.asked_at.insert(id, now);
                member.token.cancel();
            }
        }
    }
}
