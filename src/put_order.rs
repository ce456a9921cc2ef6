//! The idle set's entries in put-time order: a queue for the entries that
//! arrive in order, and a heap for the few that do not.
//!
//! Almost every entry arrives with a later put time than any before it: an
//! evictor's own entry (taken from the clock just before), the first put
//! after an allocation. Those go to the back of a ring buffer, and the
//! earliest entry is at its front, so an eviction that takes the earliest
//! entry and adds its own touches the two ends of one buffer, two cache
//! lines, where a binary heap of the same entries sifts through one line per
//! level. The rest (an entry filed again with its resource's newer put time,
//! which may be earlier than the back's; entries that arrive out of order
//! when two threads race) go to a binary heap. The earliest entry is the
//! earlier of the queue's front and the heap's top, so the order is exact
//! whatever the order of arrival.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// An entry: a put time and what was put.
pub(crate) struct Timed<T> {
    pub(crate) put_time: u64,
    pub(crate) item: T,
}

// `BinaryHeap` is a max-heap: the entry with the *earliest* put time is the
// greatest.
impl<T> Ord for Timed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.put_time.cmp(&self.put_time)
    }
}
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> PartialEq for Timed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.put_time == other.put_time
    }
}
impl<T> Eq for Timed<T> {}

/// Entries, earliest put time first (see the module docs).
pub(crate) struct PutOrder<T> {
    /// Entries in increasing put time, front to back.
    in_order: VecDeque<Timed<T>>,
    /// Entries that came earlier than the back of `in_order`.
    late: BinaryHeap<Timed<T>>,
}

/// Where the earliest entry is.
#[derive(Clone, Copy)]
enum Earliest {
    InOrder,
    Late,
}

impl<T> Default for PutOrder<T> {
    fn default() -> Self {
        PutOrder {
            in_order: VecDeque::new(),
            late: BinaryHeap::new(),
        }
    }
}

impl<T> PutOrder<T> {
    /// Adds an entry.
    pub(crate) fn push(&mut self, entry: Timed<T>) {
        match self.in_order.back() {
            Some(back) if back.put_time > entry.put_time => self.late.push(entry),
            _ => self.in_order.push_back(entry),
        }
    }

    fn earliest(&self) -> Option<Earliest> {
        match (self.in_order.front(), self.late.peek()) {
            (None, None) => None,
            (Some(_), None) => Some(Earliest::InOrder),
            (None, Some(_)) => Some(Earliest::Late),
            (Some(queued), Some(late)) if queued.put_time <= late.put_time => {
                Some(Earliest::InOrder)
            }
            (Some(_), Some(_)) => Some(Earliest::Late),
        }
    }

    /// The entry with the earliest put time.
    pub(crate) fn first(&self) -> Option<&Timed<T>> {
        match self.earliest()? {
            Earliest::InOrder => self.in_order.front(),
            Earliest::Late => self.late.peek(),
        }
    }

    /// Takes out the entry with the earliest put time.
    pub(crate) fn pop_first(&mut self) -> Option<Timed<T>> {
        match self.earliest()? {
            Earliest::InOrder => self.in_order.pop_front(),
            Earliest::Late => self.late.pop(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.in_order.len() + self.late.len()
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Timed<T>> {
        self.in_order.iter().chain(self.late.iter())
    }

    /// Keeps the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Timed<T>) -> bool) {
        self.in_order.retain(&mut keep);
        self.late.retain(keep);
    }

    /// Takes out every entry, in no particular order.
    pub(crate) fn take_all(&mut self) -> Vec<Timed<T>> {
        let mut all: Vec<_> = core::mem::take(&mut self.in_order).into();
        all.append(&mut core::mem::take(&mut self.late).into_vec());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(put_time: u64) -> Timed<u64> {
        Timed {
            put_time,
            item: put_time,
        }
    }

    fn drain(order: &mut PutOrder<u64>) -> Vec<u64> {
        core::iter::from_fn(|| order.pop_first().map(|entry| entry.item)).collect()
    }

    #[test]
    fn entries_in_order_come_out_in_order_without_the_heap() {
        let mut order = PutOrder::default();
        for time in [1, 2, 5, 9] {
            order.push(entry(time));
        }
        assert_eq!(order.late.len(), 0);
        assert_eq!(order.first().map(|entry| entry.put_time), Some(1));
        assert_eq!(drain(&mut order), [1, 2, 5, 9]);
    }

    #[test]
    fn late_entries_come_out_in_put_time_order() {
        let mut order = PutOrder::default();
        for time in [4, 8, 2, 9, 6, 1, 7] {
            order.push(entry(time));
        }
        assert_eq!(order.len(), 7);
        assert_eq!(drain(&mut order), [1, 2, 4, 6, 7, 8, 9]);
        assert!(order.first().is_none());
    }

    #[test]
    fn any_mix_of_pushes_and_pops_takes_the_earliest() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut order = PutOrder::default();
        let mut model = Vec::new();
        let mut clock = 0_u64;
        let rounds = if cfg!(miri) { 500 } else { 10_000 };
        for _ in 0..rounds {
            if next() % 3 == 0 {
                let earliest = model.iter().copied().min();
                model.retain(|&time| Some(time) != earliest);
                assert_eq!(order.pop_first().map(|entry| entry.item), earliest);
            } else {
                clock += 1;
                // Mostly in order; now and then an earlier time.
                let time = if next() % 4 == 0 {
                    (clock * 16).saturating_sub(next() % 64)
                } else {
                    clock * 16
                };
                if !model.contains(&time) {
                    model.push(time);
                    order.push(entry(time));
                }
            }
            assert_eq!(order.len(), model.len());
        }
    }

    #[test]
    fn retain_and_take_all_see_both_parts() {
        let mut order = PutOrder::default();
        for time in [5, 6, 1, 7, 2] {
            order.push(entry(time));
        }
        order.retain(|entry| entry.put_time % 2 == 1);
        let mut left: Vec<_> = order.iter().map(|entry| entry.item).collect();
        left.sort_unstable();
        assert_eq!(left, [1, 5, 7]);
        let mut all: Vec<_> = order
            .take_all()
            .into_iter()
            .map(|entry| entry.item)
            .collect();
        all.sort_unstable();
        assert_eq!(all, [1, 5, 7]);
        assert_eq!(order.len(), 0);
    }
}
