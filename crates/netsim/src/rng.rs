//! A small, fast random number generator (xoshiro256**), seeded from the
//! kernel or from a fixed seed for reproducible runs.

/// Pseudo-random numbers for the impairment models.
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn from_seed(seed: u64) -> Rng {
        let mut x: u64 = seed;
        let mut state: [u64; 4] = [0; 4];
        for slot in &mut state {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z: u64 = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *slot = z ^ (z >> 31);
        }
        Rng { state }
    }

    /// A generator seeded from the kernel's random source (or the clock if that fails).
    pub fn from_entropy() -> Rng {
        let mut seed: [u8; 8] = [0; 8];
        // SAFETY: the buffer is valid for 8 bytes of writes.
        let got: isize = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
        if got == 8 {
            return Rng::from_seed(u64::from_ne_bytes(seed));
        }
        let nanos: u128 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Rng::from_seed(nanos as u64 ^ u64::from(std::process::id()))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result: u64 = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t: u64 = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= t;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound.max(1))) >> 64) as u64
    }

    /// True with probability `percent` / 100.
    pub fn chance_percent(&mut self, percent: f64) -> bool {
        let unit: f64 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit * 100.0 < percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng: Rng = Rng::from_seed(1);
        let mut seen: [bool; 5] = [false; 5];
        for _ in 0..1000 {
            let v: u64 = rng.below(5);
            assert!(v < 5);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn chance_matches_percentage() {
        let mut rng: Rng = Rng::from_seed(7);
        let hits: usize = (0..100_000).filter(|_| rng.chance_percent(30.0)).count();
        assert!((29_000..31_000).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| rng.chance_percent(0.0)));
        assert!((0..1000).all(|_| rng.chance_percent(100.0)));
    }
}
