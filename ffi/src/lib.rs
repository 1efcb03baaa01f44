//! tandem-ffi: the C ABI of tandem (`libtandem`, shared and static), SPEC §8.
//!
//! This crate is a thin skin over the Rust API of tandem-engine and tandem-kernels: it converts C
//! arguments into Rust values, calls the library, and converts the outcome into a status code. It
//! holds no logic of its own, so behaviour is tested once, in the libraries; the tests here cover
//! only what the skin adds (pointer checks, error codes, the panic boundary).
//!
//! The rules every export follows:
//! - it returns an `int32_t` status (`TANDEM_OK` = 0, negative = error) unless SPEC §8 says
//!   otherwise, and runs its body inside [`boundary::boundary`], so **no Rust panic crosses the
//!   boundary**: a panic becomes `TANDEM_ERR_INTERNAL`;
//! - every pointer goes through the helpers of [`args`]: **NULL pointers and bad lengths give
//!   `TANDEM_ERR_INVALID_ARGUMENT`**, never a crash;
//! - a failure records a message naming the export and the argument, read with
//!   [`tandem_last_error`]; the **last error is kept per thread** and cleared by every success.
//!
//! The C header `ffi/include/tandem.h` is generated from this crate by cbindgen (see
//! `ffi/cbindgen.toml`) and checked in; `tests/header.rs` fails when it is stale. Doc comments on
//! exported items become the comments of the header, so they are written for C readers.
//!
//! [`args`], [`boundary`] and [`error`] are public only so that later exports (and their tests)
//! can use them without dead-code allowances; they are not part of the API, which is the header.
//! Nor is [`fuzzing`], the code the `submit_block` fuzz target (`ffi/fuzz`) and its stable test
//! share.

#[doc(hidden)]
pub mod args;
#[doc(hidden)]
pub mod boundary;
pub mod engine;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod log;
pub mod sigverify;
mod stack;
pub mod status;

use std::ffi::{CStr, c_char};

pub use status::*;

// Literals because cbindgen cannot evaluate `env!`; `version_macros_are_the_crate_version` fails
// when the workspace version moves without them.
/// The major version of libtandem (the X of "X.Y.Z"); the soname is `libtandem.so.X`.
///
/// Compare with `tandem_version()` to see whether the library loaded at run time is the one
/// the program was compiled against.
pub const TANDEM_VERSION_MAJOR: u32 = 0;
/// The minor version of libtandem (the Y of "X.Y.Z").
pub const TANDEM_VERSION_MINOR: u32 = 1;
/// The patch version of libtandem (the Z of "X.Y.Z").
pub const TANDEM_VERSION_PATCH: u32 = 0;

/// The version of libtandem, e.g. `"0.1.0"`, checked at compile time to have no interior NUL.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("CARGO_PKG_VERSION contains a NUL byte"),
    };

/// The version of libtandem as a NUL-terminated string, e.g. "0.1.0".
///
/// The string is static: never free or modify it. Does not change `tandem_last_error()`.
#[unsafe(no_mangle)]
pub extern "C" fn tandem_version() -> *const c_char {
    // Returns a constant and cannot panic, so it needs no panic boundary.
    VERSION.as_ptr()
}

/// The message of the last failed tandem call on the calling thread, or "" if the last call
/// succeeded or none has failed yet.
///
/// Never NULL. The string belongs to tandem: never free or modify it. It stays valid until the
/// next tandem call on the same thread (`tandem_version()` and `tandem_last_error()` themselves
/// leave it unchanged); copy it to keep it longer. Each thread has its own last error.
#[unsafe(no_mangle)]
pub extern "C" fn tandem_last_error() -> *const c_char {
    // last_error_ptr never panics (it falls back to "" rather than fail), so it needs no
    // panic boundary; it must not go through `boundary`, which would clear the message.
    error::last_error_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: tandem_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(tandem_version()) };
        assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn version_macros_are_the_crate_version() {
        let part = |text: &str| text.parse::<u32>().expect("a numeric version part");
        assert_eq!(
            (
                TANDEM_VERSION_MAJOR,
                TANDEM_VERSION_MINOR,
                TANDEM_VERSION_PATCH
            ),
            (
                part(env!("CARGO_PKG_VERSION_MAJOR")),
                part(env!("CARGO_PKG_VERSION_MINOR")),
                part(env!("CARGO_PKG_VERSION_PATCH")),
            ),
            "set TANDEM_VERSION_* in ffi/src/lib.rs to the workspace version, then `make header`"
        );
    }

    #[test]
    fn last_error_is_empty_then_follows_the_boundary() {
        // SAFETY: tandem_last_error returns a NUL-terminated string valid until the next call.
        let read = || unsafe { CStr::from_ptr(tandem_last_error()) }.to_owned();
        assert_eq!(read().to_bytes(), b"");
        let status = boundary::boundary("tandem_test", || {
            Err(error::FfiError::timeout("no hash after 5 s"))
        });
        assert_eq!(status, TANDEM_ERR_TIMEOUT);
        assert_eq!(read().to_bytes(), b"tandem_test: no hash after 5 s");
        // Reading the version or the message does not clear it.
        let _ = tandem_version();
        assert_eq!(read().to_bytes(), b"tandem_test: no hash after 5 s");
        assert_eq!(boundary::boundary("tandem_test", || Ok(())), TANDEM_OK);
        assert_eq!(read().to_bytes(), b"");
    }
}
