//! Work split over the machine's cores with scoped threads. No pool: the callers are few and large (one auction and
//! one state root per epoch), so a thread's start (tens of microseconds) is noise next to the work it takes, and
//! small inputs stay on the calling thread.

use std::sync::OnceLock;

/// The cores this process may use (1 when unknown).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `(a(), b())`: on two threads when `large` and the machine has a second core, else one after the other.
pub fn join<RA: Send, RB: Send>(large: bool, a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB + Send) -> (RA, RB) {
    if !large || cores() == 1 {
        return (a(), b());
    }
    std::thread::scope(|scope| {
        let b = scope.spawn(b);
        let a = a();
        (a, b.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// `out[i] = f(&items[i])` for every `i`, each core taking one contiguous run of at least `min_run` items.
pub fn map_into<T: Sync, R: Send>(items: &[T], out: &mut [R], min_run: usize, f: impl Fn(&T) -> R + Sync) {
    assert_eq!(items.len(), out.len(), "one output slot per item");
    fill(out, min_run, |i| f(&items[i]));
}

/// `out[i] = f(i)` for every `i`, each core taking one contiguous run of at least `min_run` slots.
pub fn fill<R: Send>(out: &mut [R], min_run: usize, f: impl Fn(usize) -> R + Sync) {
    let threads = cores().min(out.len() / min_run.max(1)).max(1);
    if threads == 1 {
        out.iter_mut().enumerate().for_each(|(i, o)| *o = f(i));
        return;
    }
    let run = out.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (k, out) in out.chunks_mut(run).enumerate() {
            let f = &f;
            scope.spawn(move || out.iter_mut().enumerate().for_each(|(i, o)| *o = f(k * run + i)));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_into_covers_every_item_once_at_any_size() {
        for n in [0, 1, 7, 1_000, 10_001] {
            let items: Vec<u64> = (0..n).collect();
            let mut out = vec![0u64; items.len()];
            map_into(&items, &mut out, 10, |x| x * 3 + 1);
            assert_eq!(out, items.iter().map(|x| x * 3 + 1).collect::<Vec<_>>());
        }
    }

    #[test]
    fn join_returns_both_results_in_order() {
        assert_eq!(join(true, || 1, || "two"), (1, "two"));
        assert_eq!(join(false, || 1, || "two"), (1, "two"));
    }
}
