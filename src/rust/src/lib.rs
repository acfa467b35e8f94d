//! datom's engine: identity hashing, Arrow/parquet tables, storage.
//!
//! Every module except `r` is free of R types and covered by `cargo test`;
//! `r` is the binding layer (extendr) and the only place R values appear.

pub mod column;
pub mod error;
pub mod failpoint;
pub(crate) mod fxhash;
pub mod git;
pub mod github;
pub mod identity;
pub mod layout;
pub mod model;
pub mod ops;
pub(crate) mod par;
pub mod runtime;
pub mod secret;
pub mod store;
pub mod table;

mod r;

/// Helpers shared by the engine's tests.
#[cfg(test)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// An empty scratch directory for one test (`datom-{tag}-{pid}` in the
    /// system temp dir), emptied first if a previous run left it behind.
    pub fn scratch_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("datom-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
