//! The panic boundary every status-returning export runs its body in.
//!
//! An export is written as
//!
//! ```
//! use tandem::args::output_slice;
//! use tandem::boundary::boundary;
//! use tandem::{TANDEM_ERR_INVALID_ARGUMENT, TANDEM_OK};
//!
//! /// Fills `out[0..n]` with 7.
//! #[unsafe(no_mangle)]
//! pub unsafe extern "C" fn tandem_example_fill(n: usize, out: *mut u8) -> i32 {
//!     boundary("tandem_example_fill", || {
//!         // SAFETY: the header tells the caller that out points to n writable bytes.
//!         let out = unsafe { output_slice(out, n, "out", "n") }?;
//!         out.fill(7);
//!         Ok(())
//!     })
//! }
//!
//! let mut buf = [0_u8; 3];
//! // SAFETY: buf holds 3 writable bytes; a NULL out with n > 0 is rejected, not dereferenced.
//! unsafe {
//!     assert_eq!(tandem_example_fill(3, buf.as_mut_ptr()), TANDEM_OK);
//!     assert_eq!(tandem_example_fill(3, std::ptr::null_mut()), TANDEM_ERR_INVALID_ARGUMENT);
//! }
//! assert_eq!(buf, [7, 7, 7]);
//! ```
//!
//! so that no Rust panic unwinds into C, every failure sets the thread's last error, every
//! success clears it, and the lines the call logged reach the host's log sink before it returns
//! ([`crate::log::flush`]). This module owns that contract and nothing else.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{FfiError, clear_last_error, set_last_error};
use crate::status::{TANDEM_ERR_INTERNAL, TANDEM_OK};

/// Runs `f` as the body of the export `name` and turns its outcome into a status code.
///
/// - `Ok(())`: clears the last error and returns `TANDEM_OK`;
/// - `Err(e)`: sets the last error to `"{name}: {e.message}"` and returns `e.code`;
/// - a panic: sets the last error to `"{name}: internal error (panic): {payload}"` and returns
///   `TANDEM_ERR_INTERNAL`.
///
/// `AssertUnwindSafe` is sound here because nothing `f` touches is observed after a panic except
/// through its own error reporting: each export builds its borrowed views of C memory inside `f`
/// and drops them with it. The global panic hook still runs (by default it prints the panic to
/// stderr); a library must not replace a process-wide hook.
pub fn boundary(name: &str, f: impl FnOnce() -> Result<(), FfiError>) -> i32 {
    crate::log::install();
    let outcome = catch_unwind(AssertUnwindSafe(f));
    crate::log::flush();
    match outcome {
        Ok(Ok(())) => {
            clear_last_error();
            TANDEM_OK
        }
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message));
            e.code
        }
        Err(payload) => {
            let text = panic_text(payload.as_ref());
            drop_payload(payload);
            set_last_error(&format!("{name}: internal error (panic): {text}"));
            TANDEM_ERR_INTERNAL
        }
    }
}

/// The message of a panic payload: `panic!("...")` gives a `&str` or a `String`.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

/// Drops a panic payload without letting a panicking `Drop` escape (see `catch_unwind`'s docs).
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // A second panicking payload is leaked rather than dropped: there is no end to
        // dropping payloads whose Drop panics, and a leak is harmless next to an unwind into C.
        std::mem::forget(nested);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::last_error_message;
    use crate::status::{TANDEM_ERR_INVALID_ARGUMENT, TANDEM_ERR_IO};

    #[test]
    fn ok_returns_tandem_ok_and_clears_the_last_error() {
        set_last_error("stale");
        assert_eq!(boundary("tandem_test", || Ok(())), TANDEM_OK);
        assert_eq!(last_error_message(), "");
    }

    #[test]
    fn err_returns_its_code_and_names_the_export() {
        let status = boundary("tandem_test", || {
            Err(FfiError::invalid_argument("signatures is NULL but n = 3"))
        });
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_test: signatures is NULL but n = 3"
        );
    }

    #[test]
    fn question_mark_maps_library_errors() {
        let status = boundary("tandem_test", || {
            Err(std::io::Error::other("disk on fire"))?;
            Ok(())
        });
        assert_eq!(status, TANDEM_ERR_IO);
        assert_eq!(last_error_message(), "tandem_test: disk on fire");
    }

    #[test]
    fn str_panic_is_caught() {
        let status = boundary("tandem_test", || panic!("boom"));
        assert_eq!(status, TANDEM_ERR_INTERNAL);
        assert_eq!(
            last_error_message(),
            "tandem_test: internal error (panic): boom"
        );
    }

    #[test]
    fn formatted_panic_is_caught() {
        let n = 7;
        let status = boundary("tandem_test", || panic!("index {n} out of range"));
        assert_eq!(status, TANDEM_ERR_INTERNAL);
        assert_eq!(
            last_error_message(),
            "tandem_test: internal error (panic): index 7 out of range"
        );
    }

    #[test]
    fn non_string_panic_is_caught() {
        let status = boundary("tandem_test", || std::panic::panic_any(42_u32));
        assert_eq!(status, TANDEM_ERR_INTERNAL);
        assert_eq!(
            last_error_message(),
            "tandem_test: internal error (panic): (a panic payload that is not a string)"
        );
    }

    #[test]
    fn payload_whose_drop_panics_is_contained() {
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("drop");
            }
        }
        let status = boundary("tandem_test", || std::panic::panic_any(PanicsOnDrop));
        assert_eq!(status, TANDEM_ERR_INTERNAL);
    }

    #[test]
    fn success_after_failure_clears_the_message() {
        assert_eq!(
            boundary("tandem_test", || panic!("boom")),
            TANDEM_ERR_INTERNAL
        );
        assert_ne!(last_error_message(), "");
        assert_eq!(boundary("tandem_test", || Ok(())), TANDEM_OK);
        assert_eq!(last_error_message(), "");
    }
}
