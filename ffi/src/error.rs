//! The error every export reports, and the per-thread "last error" message behind
//! `tandem_last_error()`.
//!
//! An [`FfiError`] is a status code (see [`crate::status`]) and a message. Errors of the Rust API
//! become `FfiError`s through `From` impls in this module, so each mapping from a library error to
//! a status code is written once. This module never decides *which* code a failure gets beyond
//! those impls, and never touches C pointers.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::fmt;

use tandem_engine::genesis::GenesisError;
use tandem_engine::ledger::LedgerError;
use tandem_engine::pipeline::{CoresError, EngineError, Failure, NoGpuAdapter};
use tandem_engine::runtime::RuntimeError;
use tandem_engine::runtime::segment_log::LogError;
use tandem_engine::runtime::state::StateFileError;
use tandem_engine::store::StoreError;

use crate::status::{
    TANDEM_ERR_BACKEND_UNAVAILABLE, TANDEM_ERR_CORRUPT, TANDEM_ERR_HALTED, TANDEM_ERR_INTERNAL,
    TANDEM_ERR_INVALID_ARGUMENT, TANDEM_ERR_IO, TANDEM_ERR_NOT_FOUND, TANDEM_ERR_REJECTED,
    TANDEM_ERR_TIMEOUT,
};

/// A failed export: the negative status code it returns and the message `tandem_last_error()`
/// will show (after the export's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FfiError {
    /// One of the `TANDEM_ERR_*` codes.
    pub code: i32,
    /// What went wrong, in words that name the offending argument or input.
    pub message: String,
}

impl FfiError {
    /// An error with an explicit code; prefer the named constructors.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        debug_assert!(
            code < 0,
            "an FfiError carries a negative status code, got {code}"
        );
        Self {
            code,
            message: message.into(),
        }
    }

    /// `TANDEM_ERR_INVALID_ARGUMENT`: a NULL pointer, a bad length or an unknown value.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_INVALID_ARGUMENT, message)
    }

    /// `TANDEM_ERR_BACKEND_UNAVAILABLE`: the requested backend cannot run here.
    pub fn backend_unavailable(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_BACKEND_UNAVAILABLE, message)
    }

    /// `TANDEM_ERR_IO`: an operating-system I/O error.
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_IO, message)
    }

    /// `TANDEM_ERR_CORRUPT`: data failed a consistency check.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_CORRUPT, message)
    }

    /// `TANDEM_ERR_REJECTED`: well-formed input that breaks a rule.
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_REJECTED, message)
    }

    /// `TANDEM_ERR_TIMEOUT`: a wait ran out of time.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_TIMEOUT, message)
    }

    /// `TANDEM_ERR_HALTED`: the engine has halted.
    pub fn halted(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_HALTED, message)
    }

    /// `TANDEM_ERR_NOT_FOUND`: what was asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_NOT_FOUND, message)
    }

    /// `TANDEM_ERR_INTERNAL`: a bug in tandem (a caught panic, a broken invariant).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(TANDEM_ERR_INTERNAL, message)
    }
}

impl fmt::Display for FfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FfiError {}

// The mapping hook: one `From` impl per error type of the Rust API, so an export can write
// `engine_call()?` and get the right status code.

impl From<std::io::Error> for FfiError {
    fn from(e: std::io::Error) -> Self {
        Self::io(e.to_string())
    }
}

impl From<StoreError> for FfiError {
    fn from(e: StoreError) -> Self {
        Self::from(&e)
    }
}

impl From<&StoreError> for FfiError {
    fn from(e: &StoreError) -> Self {
        let message = e.to_string();
        match e {
            _ if e.is_corruption() => Self::corrupt(message),
            StoreError::NotAStore { .. } => Self::corrupt(message),
            // Another process holds the store, or the directory is not one to create a store in.
            StoreError::Io { .. }
            | StoreError::Removed { .. }
            | StoreError::ReadOnlyRecovery { .. }
            | StoreError::Locked { .. }
            | StoreError::CreateInProgress(_) => Self::io(message),
            StoreError::AlreadyExists(_) | StoreError::NotEmpty { .. } => {
                Self::invalid_argument(message)
            }
            // The rest are refusals of a write the runtime asked for: a bug if they surface.
            _ => Self::internal(message),
        }
    }
}

impl From<RuntimeError> for FfiError {
    fn from(e: RuntimeError) -> Self {
        Self::from(&e)
    }
}

impl From<&RuntimeError> for FfiError {
    fn from(e: &RuntimeError) -> Self {
        let message = e.to_string();
        match e {
            // The block's own faults (`RuntimeError::is_the_blocks_fault`, which the CLI's
            // `replay` names by their place in the ledger): a test holds the two together.
            RuntimeError::ParentMismatch { .. }
            | RuntimeError::SlotNotAfterParent { .. }
            | RuntimeError::SlotGapTooLarge { .. }
            | RuntimeError::ClockViolation { .. }
            | RuntimeError::MalformedTransaction { .. }
            | RuntimeError::InvalidSlash { .. } => Self::rejected(message),
            RuntimeError::Store(store) => store.into(),
            RuntimeError::StateFile(StateFileError::Io { .. })
            | RuntimeError::Io { .. }
            | RuntimeError::StateNotRemoved { .. } => Self::io(message),
            RuntimeError::StateFile(_) | RuntimeError::CorruptFile { .. } => Self::corrupt(message),
            RuntimeError::Log(LogError::Io { .. }) => Self::io(message),
            // Another build's format: the store cannot be read here, as a damaged one cannot
            // (the message says which; SPEC §8 has no code of its own for it).
            RuntimeError::Log(LogError::Corrupt { .. } | LogError::OtherFormat { .. }) => {
                Self::corrupt(message)
            }
            RuntimeError::Kernel(kernel) => kernel.into(),
            RuntimeError::GenesisMismatch { .. } | RuntimeError::GenesisChanged { .. } => {
                Self::invalid_argument(message)
            }
            RuntimeError::Poisoned(_) => Self::io(message),
            // The VED's own crossing of a boundary disagrees with the runtime's: a fault in
            // the engine, not in the caller's input.
            RuntimeError::BoundaryMismatch { .. } => Self::internal(message),
        }
    }
}

impl From<EngineError> for FfiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rejected(runtime) | EngineError::Open(runtime) => runtime.into(),
            EngineError::OpenLog(LogError::Io { .. }) => Self::io(e.to_string()),
            EngineError::OpenLog(_) => Self::corrupt(e.to_string()),
            // A stage failed: the engine stopped; reopening resumes it. The status says what
            // failed (a disk, a damaged file, the GPU, a bug), the message the whole story.
            EngineError::Failed(ref failure) => {
                // Only statuses that say the engine is gone: a stopped engine never answers
                // one that means "the engine goes on" (REJECTED, INVALID_ARGUMENT).
                let code = match &**failure {
                    Failure::Runtime(runtime) => match Self::from(runtime).code {
                        // A rule ingest checks, failing inside a stage: a bug.
                        TANDEM_ERR_REJECTED | TANDEM_ERR_INVALID_ARGUMENT => TANDEM_ERR_INTERNAL,
                        code => code,
                    },
                    Failure::Log(LogError::Io { .. }) | Failure::Start(_) => TANDEM_ERR_IO,
                    // A damaged log, or blocks that are not the chain the store's logs hold.
                    Failure::Log(LogError::Corrupt { .. } | LogError::OtherFormat { .. })
                    | Failure::NotTheLoggedChain(_) => TANDEM_ERR_CORRUPT,
                    // A caught panic (SPEC §8), a stage that could not be pinned once running,
                    // or a stage gone without a word: a bug.
                    Failure::Panicked { .. } | Failure::Pin { .. } | Failure::StageStopped => {
                        TANDEM_ERR_INTERNAL
                    }
                };
                Self::new(code, e.to_string())
            }
            // The cores setting names PUs this process may not run on.
            EngineError::Pin(_) => Self::invalid_argument(e.to_string()),
            // Found as the engine walked the bytes: as a decode's error.
            EngineError::Undecodable(decode) => decode.into(),
            // No C hook runs on the UED's thread; a Rust host's hook misused the engine.
            EngineError::OnTheUedThread(_) | EngineError::FromAnExecutorHook { .. } => {
                Self::invalid_argument(e.to_string())
            }
        }
    }
}

impl From<GenesisError> for FfiError {
    fn from(e: GenesisError) -> Self {
        // A genesis comes from the `genesis_toml_path` argument: name it, since a syntax error
        // or a bad field (`cluster.slots_per_epoch: ...`) says nothing of the file by itself.
        let message = format!("genesis_toml_path: {e}");
        match e {
            GenesisError::Io { .. } => Self::io(message),
            _ => Self::corrupt(message),
        }
    }
}

impl From<CoresError> for FfiError {
    fn from(e: CoresError) -> Self {
        // Its message starts with "cores:", the setting's name.
        Self::invalid_argument(format!("config->{e}"))
    }
}

impl From<NoGpuAdapter> for FfiError {
    fn from(e: NoGpuAdapter) -> Self {
        Self::backend_unavailable(e.to_string())
    }
}

impl From<LedgerError> for FfiError {
    fn from(e: LedgerError) -> Self {
        // Bytes that are not one block in the ledger's encoding: the argument is wrong.
        Self::invalid_argument(format!("block: {e}"))
    }
}

thread_local! {
    /// The message of the last failed export on this thread; `None` after a success.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error.
///
/// An interior NUL would cut the C string short, so it is written as `\0`.
pub fn set_last_error(message: &str) {
    // After the replace there is no NUL left, so the fallback (an empty message) is never
    // taken; it is there so that this function, called outside `catch_unwind`, cannot panic.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with` fails only while the thread is being torn down; the message is then lost,
    // which is better than a panic inside an export.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(message);
        }
    });
}

/// Clears this thread's last error (after a successful export).
pub fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = None;
        }
    });
}

/// This thread's last error as a NUL-terminated string, `""` if none.
///
/// The pointer stays valid until the next [`set_last_error`] or [`clear_last_error`] on this
/// thread. Never panics.
pub fn last_error_ptr() -> *const c_char {
    const NONE: &CStr = c"";
    LAST_ERROR
        .try_with(|slot| match slot.try_borrow() {
            Ok(slot) => slot.as_deref().unwrap_or(NONE).as_ptr(),
            Err(_) => NONE.as_ptr(),
        })
        .unwrap_or(NONE.as_ptr())
}

/// This thread's last error as an owned string, `""` if none (for Rust tests).
pub fn last_error_message() -> String {
    // SAFETY: last_error_ptr returns a NUL-terminated string that stays valid until the next
    // set/clear on this thread, and we copy it out before returning.
    unsafe { CStr::from_ptr(last_error_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocks_faults_are_what_the_c_abi_rejects() {
        use std::path::PathBuf;
        let path = || PathBuf::from("f");
        let errors = [
            RuntimeError::ParentMismatch {
                slot: 2,
                parent: 1,
                last: 0,
                logged: None,
            },
            RuntimeError::SlotNotAfterParent { slot: 1, parent: 1 },
            RuntimeError::SlotGapTooLarge {
                slot: 90,
                parent: 1,
                slots_per_epoch: 32,
            },
            RuntimeError::ClockViolation {
                slot: 2,
                timestamp_ms: 0,
                parent_ms: 5_000,
            },
            RuntimeError::MalformedTransaction {
                slot: 2,
                index: 0,
                error: tandem_engine::tx::TxError::TooLong { len: 2_000 },
            },
            RuntimeError::InvalidSlash {
                vote_account: tandem_engine::account::Pubkey([1; 32]),
                reason: "x".into(),
            },
            RuntimeError::Io {
                path: path(),
                source: std::io::Error::other("x"),
            },
            RuntimeError::CorruptFile {
                path: path(),
                reason: "x".into(),
            },
            RuntimeError::Log(LogError::OtherFormat {
                path: path(),
                reason: "x".into(),
            }),
            RuntimeError::GenesisChanged {
                path: path(),
                hash: "x".into(),
            },
            RuntimeError::BoundaryMismatch {
                slot: 2,
                reason: "x".into(),
            },
            RuntimeError::Poisoned("x".into()),
        ];
        for e in &errors {
            let rejected = FfiError::from(e).code == TANDEM_ERR_REJECTED;
            assert_eq!(rejected, e.is_the_blocks_fault(), "{e}");
        }
        assert_eq!(errors.iter().filter(|e| e.is_the_blocks_fault()).count(), 6);
    }

    #[test]
    fn constructors_carry_their_codes() {
        let cases = [
            (FfiError::invalid_argument("x"), TANDEM_ERR_INVALID_ARGUMENT),
            (
                FfiError::backend_unavailable("x"),
                TANDEM_ERR_BACKEND_UNAVAILABLE,
            ),
            (FfiError::io("x"), TANDEM_ERR_IO),
            (FfiError::corrupt("x"), TANDEM_ERR_CORRUPT),
            (FfiError::rejected("x"), TANDEM_ERR_REJECTED),
            (FfiError::timeout("x"), TANDEM_ERR_TIMEOUT),
            (FfiError::halted("x"), TANDEM_ERR_HALTED),
            (FfiError::internal("x"), TANDEM_ERR_INTERNAL),
        ];
        for (error, code) in cases {
            assert_eq!(error.code, code);
            assert_eq!(error.message, "x");
            assert_eq!(error.to_string(), "x");
        }
    }

    #[test]
    fn io_errors_map_to_err_io() {
        let e: FfiError = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file").into();
        assert_eq!(e.code, TANDEM_ERR_IO);
        assert_eq!(e.message, "no such file");
    }

    #[test]
    fn a_stopped_engine_says_what_stopped_it() {
        use std::sync::Arc;
        use tandem_kernels::KernelError;
        use tandem_kernels::gpu::GpuError;
        let stopped = |failure: Failure| FfiError::from(EngineError::Failed(Arc::new(failure)));
        let panicked = stopped(Failure::Panicked {
            thread: "tandem-ued".into(),
            what: "a bug".into(),
        });
        assert_eq!(
            panicked.code, TANDEM_ERR_INTERNAL,
            "a caught panic (SPEC §8)"
        );
        assert_eq!(
            panicked.message,
            "the engine stopped: the tandem-ued thread panicked: a bug"
        );
        let gpu = stopped(Failure::Runtime(RuntimeError::Kernel(KernelError::Gpu(
            GpuError::Failed("device lost".into()),
        ))));
        assert_eq!(gpu.code, TANDEM_ERR_BACKEND_UNAVAILABLE);
        let disk = stopped(Failure::Log(LogError::Io {
            path: "ved-1.log".into(),
            source: std::io::Error::other("no space left"),
        }));
        assert_eq!(disk.code, TANDEM_ERR_IO);
        // A damaged status file is corruption, not an I/O failure (it was TANDEM_ERR_IO).
        let damaged = stopped(Failure::Runtime(RuntimeError::CorruptFile {
            path: "status-3.idx".into(),
            reason: "checksum mismatch".into(),
        }));
        assert_eq!(damaged.code, TANDEM_ERR_CORRUPT);
        // Never a status that says the engine goes on.
        let chain = stopped(Failure::NotTheLoggedChain("block 5".into()));
        assert_eq!(chain.code, TANDEM_ERR_CORRUPT);
        let rule = stopped(Failure::Runtime(RuntimeError::SlotNotAfterParent {
            slot: 5,
            parent: 5,
        }));
        assert_eq!(rule.code, TANDEM_ERR_INTERNAL);
    }

    #[test]
    fn last_error_is_empty_until_set_and_after_clear() {
        assert_eq!(last_error_message(), "");
        assert!(!last_error_ptr().is_null());
        set_last_error("tandem_x: broken");
        assert_eq!(last_error_message(), "tandem_x: broken");
        clear_last_error();
        assert_eq!(last_error_message(), "");
    }

    #[test]
    fn interior_nul_does_not_truncate_the_message() {
        set_last_error("a\0b");
        assert_eq!(last_error_message(), "a\\0b");
    }

    #[test]
    fn last_error_is_per_thread() {
        set_last_error("main thread");
        let other = std::thread::spawn(last_error_message)
            .join()
            .expect("thread joins");
        assert_eq!(other, "");
        assert_eq!(last_error_message(), "main thread");
        std::thread::spawn(|| set_last_error("other thread"))
            .join()
            .expect("thread joins");
        assert_eq!(last_error_message(), "main thread");
    }
}
