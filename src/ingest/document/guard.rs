//! Automerge 0.12 panics on some malformed documents instead of returning an error. Decoding a certified batch
//! runs under [`catch`], so such a panic becomes a `bad_document` rejection with a one-line reason, and prints
//! nothing: the default panic hook (a message and a backtrace on stderr) stays silent for panics caught here, on
//! this thread, and speaks as before for every other panic.

use std::cell::Cell;
use std::panic::{self, UnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a guarded decode.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static INSTALL: Once = Once::new();

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message (its first line, at most 200 bytes).
pub fn catch<T>(f: impl FnOnce() -> T + UnwindSafe) -> Result<T, String> {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = panic::catch_unwind(f);
    GUARDED.with(|g| g.set(was));
    outcome.map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        let line = text.lines().next().unwrap_or_default();
        crate::ingest::quote::prefix(line, 200)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        assert_eq!(super::catch(|| 7), Ok(7));
        let caught = super::catch(|| -> u8 { panic!("index out of bounds\nsecond line") });
        assert_eq!(caught, Err("index out of bounds".to_string()));
    }
}
