//! Parquet storage of data frames.
//!
//! `write_parquet` turns the R-free column views of `crate::column` into a
//! Snappy-compressed parquet file (Arrow types, every column nullable) and
//! hashes the bytes while they are produced; `read_parquet` decodes a parquet
//! file into Arrow arrays and lets the binding fill R vectors it allocated
//! itself (`ReadTable::fill_*`), restoring storage types, classes, `tzone`
//! and `units` from the `datom.r` key-value metadata, or inferring them for
//! files written by other tools.
//!
//! Type mapping (write):
//!
//! | R column                  | Arrow type                                  |
//! |---------------------------|---------------------------------------------|
//! | logical                   | Boolean                                     |
//! | integer                   | Int32                                       |
//! | double                    | Float64 (R `NA` -> null, other NaN kept)    |
//! | character                 | Utf8                                        |
//! | factor                    | Dictionary(Int32, Utf8), levels in metadata |
//! | Date                      | Date32, or Float64 when not integral        |
//! | POSIXct                   | Timestamp(us, tzone), or Float64 if inexact |
//! | difftime                  | Duration(us), or Float64 if inexact         |
//! | hms (within one day)      | Time64(us)                                  |
//! | integer64                 | Int64                                       |
//!
//! The `datom.r` metadata is JSON
//! `{"format":1,"df_class":[...]?,"columns":[{RColumnInfo fields, "levels":[...]?, "ordered":bool?}, ...]}`.
//! Factor levels live there (the parquet dictionary only keeps used values,
//! in first-seen order), with `null` for an `NA` level.

pub(super) mod dict;
mod read;
pub(super) mod write;

#[cfg(test)]
mod tests;

pub use read::{read_parquet, RTarget, ReadColumn, ReadTable, StrPiece};
pub use write::{write_parquet, write_parquet_into, Written};

use crate::column::RColumnInfo;

/// Key of the parquet key-value metadata entry written by datom.
pub const DATOM_META_KEY: &str = "datom.r";
/// Version of the `datom.r` metadata layout.
pub const DATOM_META_FORMAT: u32 = 1;

/// Maximum number of rows per record batch / row group.
pub(crate) const MAX_ROWS_PER_GROUP: usize = 1 << 20;
/// A chunk is cut early when one of its string columns would hold more than
/// this many bytes (keeps i32 offsets safe).
pub(crate) const MAX_CHUNK_STRING_BYTES: usize = 1 << 30;
/// At most this many threads encode / decode columns.
pub(crate) const MAX_THREADS: usize = 2;
/// Below this many cells (rows x columns) everything runs on the calling thread.
pub(crate) const PARALLEL_MIN_CELLS: usize = 200_000;

/// Per-column entry of the `datom.r` metadata.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ColumnMeta {
    #[serde(flatten)]
    pub info: RColumnInfo,
    /// Factor levels in order (`null` for an `NA` level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<Option<String>>>,
    /// Ordered factor flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
}

/// The `datom.r` metadata document.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DatomMeta {
    pub format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df_class: Option<Vec<String>>,
    pub columns: Vec<ColumnMeta>,
}

/// Seconds per difftime unit, `None` for unknown units.
pub(crate) fn units_factor(units: &str) -> Option<f64> {
    match units {
        "secs" => Some(1.0),
        "mins" => Some(60.0),
        "hours" => Some(3600.0),
        "days" => Some(86400.0),
        "weeks" => Some(604800.0),
        _ => None,
    }
}

/// Microseconds -> seconds, exactly as the writer checks round trips.
#[inline]
pub(crate) fn micros_to_secs(i: i64) -> f64 {
    i as f64 / 1e6
}

/// Microseconds -> a difftime value in units of `factor` seconds; the writer
/// only stores microseconds when this gives back the original bits.
#[inline]
pub(crate) fn micros_to_units(i: i64, factor: f64) -> f64 {
    micros_to_secs(i) / factor
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Threads to use for a table of `cells` values.
pub(crate) fn thread_count(cells: usize) -> usize {
    if cells < PARALLEL_MIN_CELLS {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_THREADS)
}

pub(crate) use crate::par::par_map;
