//! Benchmark support (`make bench`): the transfer rates of one object,
//! parallel and single-stream. Not used by any flow.

use super::*;

/// Throughput of a `mb` MiB object through `store`: (upload s, download s).
/// The object is written under `key`, read back, compared, and deleted.
pub fn transfer_timing(store: &S3Store, key: &str, mb: usize) -> Result<(f64, f64)> {
    use crate::store::Store;
    let data: Vec<u8> = (0..mb * 1024 * 1024).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect();
    let t = std::time::Instant::now();
    store.put(key, &data)?;
    let up = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let back = store.get(key)?;
    let down = t.elapsed().as_secs_f64();
    if back != data {
        return Err(Error::new(Kind::Integrity, "the downloaded object differs from the uploaded one"));
    }
    store.delete(key)?;
    Ok((up, down))
}

/// Seconds to download a `mb` MiB object with each of `stores` (same
/// bucket), after `stores[0]` uploaded it under `key`; it is deleted after.
pub fn download_timing(stores: &[&S3Store], key: &str, mb: usize) -> Result<Vec<f64>> {
    use crate::store::Store;
    let data: Vec<u8> = (0..mb * 1024 * 1024).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2]).collect();
    let first = stores.first().ok_or_else(|| Error::internal("no store to time"))?;
    first.put(key, &data)?;
    let mut out = Vec::new();
    for s in stores {
        let t = std::time::Instant::now();
        let back = s.get(key)?;
        out.push(t.elapsed().as_secs_f64());
        if back != data {
            return Err(Error::new(Kind::Integrity, "the downloaded object differs from the uploaded one"));
        }
    }
    first.delete(key)?;
    Ok(out)
}

impl S3Store {
    /// A store that uploads and downloads every object in one request (no
    /// multipart, no ranges): the single-stream baseline of the benchmark.
    pub fn single_stream(cfg: S3Config) -> Result<S3Store> {
        let tuning = Tuning { multipart_threshold: usize::MAX, split_over: Duration::MAX, concurrency: 1, ..Tuning::default() };
        Self::build(cfg, tuning, None)
    }

    /// A store that always uploads in parallel parts and downloads in
    /// parallel ranges (a download is split at once, whatever its speed).
    pub fn parallel(cfg: S3Config) -> Result<S3Store> {
        let tuning = Tuning { split_probe: Duration::ZERO, split_over: Duration::ZERO, ..Tuning::default() };
        Self::build(cfg, tuning, None)
    }
}
