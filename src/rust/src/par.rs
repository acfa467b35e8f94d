//! The engine's parallel map: scoped threads, results indexed by item, and
//! a panic in any worker (or in the calling thread's share of the work)
//! returned as an internal error — never a shorter result list, never an
//! unwinding caller.

use crate::error::{Error, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

fn panicked() -> Error {
    Error::internal("a worker thread panicked")
}

/// `f(i)` for every `i` in `order`, on up to `threads` threads (the calling
/// thread is one of them), items handed out in `order` (costliest first).
/// Results come back indexed by `i` (`out[i] = f(i)`; `order` must be a
/// permutation of `0..order.len()`). The signature of `table::par_map`,
/// which this replaces engine-wide.
pub fn par_map<T: Send>(order: &[usize], threads: usize, f: impl Fn(usize) -> T + Sync) -> Result<Vec<T>> {
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
    let helpers = threads.min(n).saturating_sub(1);
    let pieces: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        // a helper that cannot be started leaves its share to the others
        let handles: Vec<_> = (0..helpers).filter_map(|_| std::thread::Builder::new().spawn_scoped(s, &work).ok()).collect();
        let mine = catch_unwind(AssertUnwindSafe(&work)).map_err(|_| panicked());
        let theirs: Vec<_> = handles.into_iter().map(|h| h.join().map_err(|_| panicked())).collect();
        std::iter::once(mine).chain(theirs).collect::<Result<Vec<_>>>()
    })?;
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for (i, v) in pieces.into_iter().flatten() {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(v);
        }
    }
    out.into_iter().map(|v| v.ok_or_else(|| Error::internal("parallel map lost an item"))).collect()
}

/// `(a(), b())`, side by side: `a` on a helper thread, `b` on the calling one.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> Result<(A, B)> {
    std::thread::scope(|s| {
        let h = s.spawn(a);
        let rb = catch_unwind(AssertUnwindSafe(b)).map_err(|_| panicked());
        let ra = h.join().map_err(|_| panicked());
        Ok((ra?, rb?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn results_come_back_indexed_for_any_thread_count_and_order() {
        let fwd: Vec<usize> = (0..1000).collect();
        let rev: Vec<usize> = (0..1000).rev().collect();
        let want: Vec<usize> = (0..1000).map(|i| i * 3).collect();
        for threads in [0, 1, 2, 7, 5000] {
            assert_eq!(par_map(&fwd, threads, |i| i * 3).unwrap(), want);
            assert_eq!(par_map(&rev, threads, |i| i * 3).unwrap(), want);
        }
        assert!(par_map(&[], 4, |i| i).unwrap().is_empty());
        // not a permutation: an error, never a short or padded result
        assert_eq!(par_map(&[0, 0], 2, |i| i).unwrap_err().kind, Kind::Internal);
    }

    #[test]
    fn a_panicking_item_is_an_internal_error_on_any_thread() {
        let order: Vec<usize> = (0..64).collect();
        for threads in [1, 2, 4] {
            for bad in [0, 63] {
                let e = par_map(&order, threads, |x| if x == bad { panic!("boom") } else { x }).unwrap_err();
                assert_eq!(e.kind, Kind::Internal);
            }
        }
    }

    #[test]
    fn join_runs_both_and_reports_either_panic() {
        assert_eq!(join(|| 1, || "b").unwrap(), (1, "b"));
        assert_eq!(join(|| -> i32 { panic!("a") }, || 2).unwrap_err().kind, Kind::Internal);
        assert_eq!(join(|| 1, || -> i32 { panic!("b") }).unwrap_err().kind, Kind::Internal);
    }
}
