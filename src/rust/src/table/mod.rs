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

mod read;
mod write;

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

/// `f(i)` for every `i` in `order`, on up to `threads` threads (the calling
/// thread included), items handed out in `order`. Results come back indexed
/// by `i` (`out[i] = f(i)`; `order` must be a permutation of `0..order.len()`).
/// A panic in a helper thread becomes an internal error.
pub(crate) fn par_map<T: Send>(
    order: &[usize],
    threads: usize,
    f: impl Fn(usize) -> T + Sync,
) -> crate::error::Result<Vec<T>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = order.len();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= n {
                break;
            }
            done.push((order[k], f(order[k])));
            // on R's main thread: report progress between pieces of work
            crate::runtime::progress::pulse();
        }
        done
    };
    let mut pieces: Vec<Vec<(usize, T)>> = Vec::new();
    if threads <= 1 || n <= 1 {
        pieces.push(work());
    } else {
        let joined = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads.min(n))
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
                .collect();
            let mine = work();
            let theirs: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            (mine, theirs)
        });
        pieces.push(joined.0);
        for t in joined.1 {
            pieces.push(t.map_err(|_| crate::error::Error::internal("a worker thread panicked"))?);
        }
    }
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for (i, v) in pieces.into_iter().flatten() {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(v);
        }
    }
    out.into_iter()
        .map(|v| v.ok_or_else(|| crate::error::Error::internal("parallel map lost an item")))
        .collect()
}
