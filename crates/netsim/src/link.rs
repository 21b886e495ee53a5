//! One direction of the bottleneck: a drop-tail queue in front of a
//! serialiser at a fixed rate, followed by a fixed propagation delay. Time is
//! nanoseconds on any monotonic clock; the model never looks at a real clock,
//! so it is tested exactly.

use std::collections::VecDeque;

/// Something that occupies the link for `wire_len` bytes.
pub trait WireSize {
    fn wire_len(&self) -> usize;
}

impl WireSize for Vec<u8> {
    fn wire_len(&self) -> usize {
        self.len()
    }
}

/// One direction of the simulated link.
pub struct Link<T> {
    rate_bps: u64,
    delay_ns: u64,
    capacity: usize,
    waiting: VecDeque<T>,
    /// The packet on the serialiser and the time its last bit leaves it.
    serialising: Option<(u64, T)>,
    /// Packets on the wire with their arrival time at the far end (in order).
    propagating: VecDeque<(u64, T)>,
}

impl<T: WireSize> Link<T> {
    pub fn new(rate_bps: u64, delay_ns: u64, capacity: usize) -> Link<T> {
        Link {
            rate_bps: rate_bps.max(1),
            delay_ns,
            capacity,
            waiting: VecDeque::with_capacity(capacity),
            serialising: None,
            propagating: VecDeque::new(),
        }
    }

    /// Time the serialiser needs for `bytes` bytes, rounded up.
    pub fn transmission_ns(&self, bytes: usize) -> u64 {
        let bits: u128 = bytes as u128 * 8 * 1_000_000_000;
        bits.div_ceil(u128::from(self.rate_bps)) as u64
    }

    /// Offers a packet to the link at `now`; gives it back when the queue is full.
    pub fn enqueue(&mut self, now: u64, item: T) -> Result<(), T> {
        self.advance(now);
        if self.serialising.is_none() {
            let end: u64 = now + self.transmission_ns(item.wire_len());
            self.serialising = Some((end, item));
            return Ok(());
        }
        if self.waiting.len() >= self.capacity {
            return Err(item);
        }
        self.waiting.push_back(item);
        Ok(())
    }

    /// Moves every packet whose serialisation ended by `now` onto the wire.
    fn advance(&mut self, now: u64) {
        while let Some((end, _)) = &self.serialising {
            let end: u64 = *end;
            if end > now {
                break;
            }
            if let Some((_, item)) = self.serialising.take() {
                self.propagating.push_back((end + self.delay_ns, item));
            }
            if let Some(next) = self.waiting.pop_front() {
                let next_end: u64 = end + self.transmission_ns(next.wire_len());
                self.serialising = Some((next_end, next));
            }
        }
    }

    /// Takes the next packet that has reached the far end by `now`.
    pub fn pop_arrived(&mut self, now: u64) -> Option<T> {
        self.pop_arrived_by(now, now)
    }

    /// Like `pop_arrived` at `now`, but also takes a packet on the wire that
    /// will arrive by `horizon` (so that close arrivals share one wake-up);
    /// the serialiser's state still advances only to `now`.
    pub fn pop_arrived_by(&mut self, now: u64, horizon: u64) -> Option<T> {
        self.advance(now);
        match self.propagating.front() {
            Some((arrival, _)) if *arrival <= horizon.max(now) => {
                self.propagating.pop_front().map(|(_, item)| item)
            }
            _ => None,
        }
    }

    /// When the next packet reaches the far end, if any is under way.
    pub fn next_arrival(&self) -> Option<u64> {
        match (self.propagating.front(), &self.serialising) {
            (Some((arrival, _)), _) => Some(*arrival),
            (None, Some((end, _))) => Some(end + self.delay_ns),
            (None, None) => None,
        }
    }

    /// Packets waiting in the queue (not counting the one being serialised).
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn link() -> Link<Vec<u8>> {
        // 10 Mbit/s: a 1250-byte packet takes exactly 1 ms.
        Link::new(10_000_000, 15 * MS, 3)
    }

    #[test]
    fn single_packet_takes_serialisation_plus_delay() {
        let mut l: Link<Vec<u8>> = link();
        l.enqueue(0, vec![1; 1250]).unwrap();
        assert_eq!(l.next_arrival(), Some(16 * MS));
        assert!(l.pop_arrived(16 * MS - 1).is_none());
        assert_eq!(l.pop_arrived(16 * MS), Some(vec![1; 1250]));
        assert_eq!(l.next_arrival(), None);
    }

    #[test]
    fn back_to_back_packets_are_spaced_by_serialisation() {
        let mut l: Link<Vec<u8>> = link();
        for i in 0..3u8 {
            l.enqueue(0, vec![i; 1250]).unwrap();
        }
        let mut arrivals: Vec<(u64, u8)> = Vec::new();
        while let Some(t) = l.next_arrival() {
            let item: Vec<u8> = l.pop_arrived(t).unwrap();
            arrivals.push((t, item[0]));
        }
        assert_eq!(arrivals, vec![(16 * MS, 0), (17 * MS, 1), (18 * MS, 2)]);
    }

    #[test]
    fn full_queue_drops_at_the_tail() {
        let mut l: Link<Vec<u8>> = link();
        // One on the serialiser plus three waiting fit; the fifth is refused.
        for i in 0..4u8 {
            assert!(l.enqueue(0, vec![i; 1250]).is_ok());
        }
        assert_eq!(l.queued(), 3);
        assert_eq!(l.enqueue(0, vec![9; 1250]), Err(vec![9; 1250]));
        // After 1 ms the first packet has left the serialiser: room for one more.
        assert!(l.enqueue(MS, vec![5; 1250]).is_ok());
        assert_eq!(l.enqueue(MS, vec![6; 1250]), Err(vec![6; 1250]));
    }

    #[test]
    fn idle_link_starts_serialising_on_arrival() {
        let mut l: Link<Vec<u8>> = link();
        l.enqueue(0, vec![0; 1250]).unwrap();
        l.enqueue(100 * MS, vec![1; 1250]).unwrap();
        assert_eq!(l.pop_arrived(100 * MS).map(|p| p[0]), Some(0));
        assert_eq!(l.next_arrival(), Some(116 * MS));
    }

    #[test]
    fn early_pop_takes_only_packets_already_on_the_wire() {
        let mut l: Link<Vec<u8>> = link();
        l.enqueue(0, vec![0; 1250]).unwrap();
        l.enqueue(0, vec![1; 1250]).unwrap();
        // At 15.99 ms both are on the wire, arriving at 16 and 17 ms: a
        // horizon of 16.01 ms takes the first only.
        assert_eq!(
            l.pop_arrived_by(15_990_000, 16_010_000).map(|p| p[0]),
            Some(0)
        );
        assert!(l.pop_arrived_by(15_990_000, 16_010_000).is_none());
        assert_eq!(l.pop_arrived(17 * MS).map(|p| p[0]), Some(1));
    }

    #[test]
    fn rounding_never_makes_transmission_free() {
        let l: Link<Vec<u8>> = Link::new(3_000_000_000, 0, 1);
        assert_eq!(l.transmission_ns(1), 3);
    }
}
