//! Helpers shared by the C ABI's Rust-side tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::{CStr, c_char};
use std::ptr;

use tandem::TANDEM_OK;
use tandem::engine::{tandem_engine, tandem_engine_describe};

/// `tandem_engine_describe`'s text, asked as C asks it: its length first (`cap` 0, a NULL
/// buffer), then into a buffer of that length and its NUL; the length it gave checked.
pub fn describe(engine: *mut tandem_engine) -> String {
    let mut len = 0;
    // SAFETY: cap 0 with a NULL buffer asks for the length.
    assert_eq!(
        unsafe { tandem_engine_describe(engine, ptr::null_mut(), 0, &mut len) },
        TANDEM_OK
    );
    let mut text = vec![0 as c_char; len + 1];
    // SAFETY: len + 1 writable bytes.
    assert_eq!(
        unsafe { tandem_engine_describe(engine, text.as_mut_ptr(), len + 1, &mut len) },
        TANDEM_OK
    );
    // SAFETY: describe NUL-terminates.
    let text = unsafe { CStr::from_ptr(text.as_ptr()) }.to_str().unwrap();
    assert_eq!(text.len(), len);
    text.to_owned()
}
