//! datom's engine: identity hashing, Arrow/parquet tables, storage.
//!
//! Every module except `r` is free of R types and covered by `cargo test`;
//! `r` is the binding layer (extendr) and the only place R values appear.

pub mod column;
pub mod error;
pub mod git;
pub mod github;
pub mod identity;
pub mod layout;
pub mod model;
pub mod ops;
pub mod runtime;
pub mod store;
pub mod table;

mod r;
