//! The seeded generator behind `[P]` ordering, pinned down to the bit.
//!
//! Plans must be byte-identical on every machine and with every dependency version, so nothing
//! here leans on a convenience whose algorithm a crate may change in a minor release
//! (`SeedableRng::seed_from_u64`'s default, `rand`'s `gen_range`). The seed is expanded with
//! SplitMix64 (as the xoshiro authors recommend) into xoshiro256++'s state, and bounded draws use
//! rejection sampling. Changing anything here changes plans: bump `PLANNER_VERSION`.

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

pub struct PlanRng(Xoshiro256PlusPlus);

impl PlanRng {
    pub fn new(seed: u64) -> Self {
        let mut mix = SplitMix64::from_seed(seed.to_le_bytes());
        let mut state = [0u8; 32];
        for chunk in state.chunks_exact_mut(8) {
            chunk.copy_from_slice(&mix.next_u64().to_le_bytes());
        }
        PlanRng(Xoshiro256PlusPlus::from_seed(state))
    }

    /// A uniform draw from `0..n` (`n > 0`), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        let n = n as u64;
        // Largest multiple of n that fits; draws at or above it are rejected.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.0.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let a: Vec<usize> = {
            let mut r = PlanRng::new(7);
            (0..20).map(|_| r.below(10)).collect()
        };
        let b: Vec<usize> = {
            let mut r = PlanRng::new(7);
            (0..20).map(|_| r.below(10)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().all(|&x| x < 10));
    }

    #[test]
    fn draws_are_pinned_across_versions() {
        // If this fails, plans changed for every seed: bump PLANNER_VERSION and update this.
        let mut r = PlanRng::new(42);
        let got: Vec<usize> = (0..8).map(|_| r.below(1000)).collect();
        assert_eq!(got, PINNED_42);
    }

    /// Computed independently of this code (a Python transcription of SplitMix64 and
    /// xoshiro256++ from the authors' reference C), so the pin is not circular.
    const PINNED_42: [usize; 8] = [951, 753, 100, 464, 331, 965, 78, 430];
}
