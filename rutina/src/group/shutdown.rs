//! The shutdown plan: when the members' contexts are cancelled (after the lame-duck
//! delay, if any), in which order, and when each member still running is aborted
//! (rules 6 and 7). Made when the shutdown begins, under the group's lock, and carried
//! out by whoever drives the group: `wait`, or the reaper of a group whose last handle
//! was dropped (or whose shutdown has a delay to wait out).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::members::Members;
use crate::id::IdMap;
use crate::member::Member;
use crate::{Id, ShutdownOrder};

pub(crate) struct Plan {
    order: ShutdownOrder,
    /// The group's grace period (its shutdown timeout), counted from `cancel_at`.
    grace: Option<Duration>,
    /// When the members' contexts are cancelled: the beginning of the shutdown plus its
    /// lame-duck delay.
    pub(crate) cancel_at: Instant,
    /// Whether `cancel_at` came and the plan began.
    begun: bool,
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
    /// The waiters of the members `begin` cancelled, for its caller to wake once it let
    /// go of the group's lock, which the routines they wake take as they end.
    waiters: Vec<Waker>,
}

/// What the plan asks for at one moment.
#[derive(Default)]
pub(crate) struct Step {
    /// The delay ended: the members' contexts were cancelled (all at once) or their
    /// turns began (reverse start order).
    pub(crate) began: bool,
    /// Members whose turn to stop came (reverse start order); their tokens are cancelled.
    pub(crate) stopping: Vec<Arc<Member>>,
    /// Members whose grace period ran out.
    pub(crate) due: Vec<Arc<Member>>,
    /// The waiters of the members cancelled, to wake once the group's lock is let go.
    pub(crate) waiters: Vec<Waker>,
    /// When to look again.
    pub(crate) next: Option<Instant>,
}

impl Plan {
    /// The plan of a shutdown beginning `now`, whose members' contexts are cancelled
    /// `delay` later.
    pub(crate) fn new(order: ShutdownOrder, grace: Option<Duration>, now: Instant, delay: Duration) -> Plan {
        Plan {
            order,
            grace,
            cancel_at: now.checked_add(delay).unwrap_or(now),
            begun: false,
            group_deadline: None,
            deadlines: BinaryHeap::new(),
            pending: Vec::new(),
            current: None,
            asked_at: IdMap::default(),
            waiters: Vec::new(),
        }
    }

    /// Whether the plan has anything left to do by itself (a delay to wait out, a turn
    /// to give, a member to abort), rather than only waiting for the members to return.
    pub(crate) fn is_active(&self) -> bool {
        !self.begun || self.group_deadline.is_some() || !self.deadlines.is_empty() || !self.pending.is_empty()
    }

    /// Ends the delay now (a second signal, a dropped group).
    pub(crate) fn skip_delay(&mut self, now: Instant) {
        self.cancel_at = self.cancel_at.min(now);
    }

    /// Whether `id`'s turn to stop has come (for all, all at once, once the delay is over).
    pub(crate) fn turn_came(&self, id: Id) -> bool {
        self.begun && (self.order == ShutdownOrder::AllAtOnce || self.asked_at.contains_key(&id))
    }

    /// When `id` was asked to stop: on its own turn, or when the contexts were cancelled.
    pub(crate) fn asked_at(&mut self, id: Id) -> Instant {
        let turn = if self.asked_at.is_empty() { None } else { self.asked_at.remove(&id) };
        turn.unwrap_or(self.cancel_at)
    }

    /// Carries the plan out as far as it goes at `now`.
    pub(crate) fn advance(&mut self, members: &Members, graced: usize, now: Instant) -> Step {
        let mut step = Step::default();
        if !self.begun {
            if now < self.cancel_at {
                step.next = Some(self.cancel_at);
                return step;
            }
            self.begin(members, graced);
            step.waiters = self.take_waiters();
            step.began = true;
        }
        if self.order == ShutdownOrder::ReverseStart {
            // The next member's turn comes when the current one ended.
            while self.current.is_none_or(|id| !members.contains_key(&id)) {
                self.current = None;
                let Some(id) = self.pending.pop() else { break };
                let Some(member) = members.get(&id) else { continue };
                self.asked_at.insert(id, now);
                member.cancel();
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

    /// The delay is over (or there is none): all at once, every member is cancelled (its
    /// waiter kept for `take_waiters`) and the grace periods start; in reverse start
    /// order, the turns begin.
    pub(crate) fn begin(&mut self, members: &Members, graced: usize) {
        self.begun = true;
        let at = self.cancel_at;
        match self.order {
            ShutdownOrder::AllAtOnce => {
                self.waiters.reserve(members.len());
                for member in members.values() {
                    member.cancel_waking_later(&mut self.waiters);
                }
                self.group_deadline = self.grace.and_then(|grace| at.checked_add(grace));
                // Most groups have no member with a grace period of its own: no walk.
                if graced > 0 {
                    for member in members.values() {
                        if let Some(deadline) = member.grace().and_then(|grace| at.checked_add(grace)) {
                            self.deadlines.push(Reverse((deadline, member.id)));
                        }
                    }
                }
            }
            ShutdownOrder::ReverseStart => {
                // Ascending: the last started is popped first.
                self.pending = members.keys().copied().collect();
            }
        }
    }

    /// The waiters of the members `begin` cancelled: the caller wakes them once it let go
    /// of the group's lock.
    pub(crate) fn take_waiters(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.waiters)
    }

    /// Every member not yet asked to stop is, now (nobody will drive the plan).
    pub(crate) fn stop_all_now(&mut self, members: &Members, now: Instant) {
        self.skip_delay(now);
        if !self.begun {
            self.begin(members, 0);
            // Nobody drives the plan: now, under the lock.
            self.take_waiters().into_iter().for_each(Waker::wake);
        }
        for id in self.pending.drain(..) {
            if let Some(member) = members.get(&id) {
                self.asked_at.insert(id, now);
                member.cancel();
            }
        }
    }
}
