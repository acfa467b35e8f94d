//! A fast, non-cryptographic hasher (Fx mixing, splitmix64 finish) for
//! in-memory tables keyed by bytes: the diff's row keys, the reader's
//! per-column string cache. Never persisted.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default)]
pub struct Fx(u64);

/// For `HashMap<K, V, FxBuild>`.
pub type FxBuild = BuildHasherDefault<Fx>;

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = (self.0.rotate_left(5) ^ v as u64).wrapping_mul(K);
    }
    fn finish(&self) -> u64 {
        // splitmix64 finaliser: spread every input bit over the low bits a
        // hash table indexes with
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: &[u8]) -> u64 {
        let mut x = Fx::default();
        x.write(b);
        x.finish()
    }

    #[test]
    fn stable_and_sensitive_to_every_byte() {
        assert_eq!(h(b"abc"), h(b"abc"));
        assert_ne!(h(b"abc"), h(b"abd"));
        assert_ne!(h(b"abcdefgh1"), h(b"abcdefgh2"));
        // the low bits differ too (what a table indexes with)
        assert_ne!(h(b"1") & 0xff, h(b"2") & 0xff);
    }
}
