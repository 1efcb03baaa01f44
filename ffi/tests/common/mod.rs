//! Helpers shared by the C ABI's Rust-side tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::{CStr, CString, c_char};
use std::path::Path;
use std::ptr;

use tandem::engine::{
    tandem_engine, tandem_engine_config, tandem_engine_describe, tandem_engine_open,
};
use tandem::{Backend, TANDEM_OK};

/// An engine of the default cluster on a fresh store (the directory, kept until dropped), of
/// `backend` and one UED thread, opened as C opens it.
pub fn open_default_engine(backend: Backend) -> (tempfile::TempDir, *mut tandem_engine) {
    let genesis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/genesis/default.toml");
    let genesis = CString::new(genesis.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = CString::new(dir.path().to_str().unwrap()).unwrap();
    let config = tandem_engine_config {
        size: size_of::<tandem_engine_config>() as u32,
        backend: backend as u32,
        ued_threads: 1,
        cores: ptr::null(),
    };
    let mut engine = ptr::null_mut();
    // SAFETY: valid strings, config and out-pointer.
    let status =
        unsafe { tandem_engine_open(genesis.as_ptr(), store.as_ptr(), &config, &mut engine) };
    assert_eq!(status, TANDEM_OK);
    (dir, engine)
}

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
