//! A small non-cryptographic hasher for the per-packet CID / 4-tuple / key lookups.
//! SipHash's flooding resistance buys nothing when reading a file, and its cost shows
//! at millions of packets; FxHash (rustc-hash, what rustc uses) does not.

pub type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
