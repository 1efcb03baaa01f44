//! The one place that decides which CPU implementation a kernel runs.
//!
//! [`Platform::detect`] tries the widest instruction set first; every kernel family just
//! `match`es on the platform it is given. Tests and benches force the narrower ones with
//! [`Platform::available`] or the environment variable `TANDEM_CPU_PLATFORM`
//! (`portable`, `avx2`, `avx512`), so every backend is covered on one machine.

use std::fmt;

/// A CPU implementation of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Plain Rust, one message at a time (the reference: the crates everyone trusts).
    Portable,
    /// AVX2: 8 lanes of 32 bits.
    Avx2,
    /// AVX-512 (F): 16 lanes of 32 bits.
    Avx512,
}

/// The environment variable that narrows [`Platform::detect`].
pub const PLATFORM_ENV: &str = "TANDEM_CPU_PLATFORM";

impl Platform {
    /// The widest platform this CPU supports, narrowed by `TANDEM_CPU_PLATFORM` if it is set.
    /// Read once per process. A value that names no platform, or one the CPU lacks, is the
    /// widest it has, with a warning logged ([`Platform::from_env`] says why; the CLI refuses
    /// it).
    pub fn detect() -> Platform {
        static DETECTED: std::sync::OnceLock<Platform> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| match Platform::from_env() {
            Ok(forced) => forced.unwrap_or_else(Platform::widest_supported),
            Err(e) => {
                let widest = Platform::widest_supported();
                log::warn!("{e}: the kernels run on {widest}, the widest this CPU has");
                widest
            }
        })
    }

    /// The platform `TANDEM_CPU_PLATFORM` asks for: `None` where it is not set; an error naming
    /// the value where it names no platform, or one this CPU cannot run.
    pub fn from_env() -> Result<Option<Platform>, String> {
        // (Set empty, as an env file may leave it: not set.)
        let Some(value) = std::env::var_os(PLATFORM_ENV).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let value = value.to_string_lossy();
        let names = |platforms: &[Platform]| {
            platforms
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match Platform::from_name(&value) {
            None => Err(format!(
                "{PLATFORM_ENV}={value} names no CPU platform (one of: {})",
                names(&[Platform::Portable, Platform::Avx2, Platform::Avx512])
            )),
            Some(p) if !p.is_supported() => Err(format!(
                "{PLATFORM_ENV}={value}: this CPU cannot run it (it can: {})",
                names(&Platform::available())
            )),
            Some(p) => Ok(Some(p)),
        }
    }

    /// The widest platform the CPU supports, ignoring the environment.
    pub fn widest_supported() -> Platform {
        [Platform::Avx512, Platform::Avx2]
            .into_iter()
            .find(|p| p.is_supported())
            .unwrap_or(Platform::Portable)
    }

    /// Every platform this CPU supports, narrowest first.
    pub fn available() -> Vec<Platform> {
        [Platform::Portable, Platform::Avx2, Platform::Avx512]
            .into_iter()
            .filter(|p| p.is_supported())
            .collect()
    }

    /// Whether this CPU can run the platform.
    pub fn is_supported(self) -> bool {
        match self {
            Platform::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Platform::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Platform::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            Platform::Avx2 | Platform::Avx512 => false,
        }
    }

    /// `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Portable => "portable",
            Platform::Avx2 => "avx2",
            Platform::Avx512 => "avx512",
        }
    }

    /// Parses [`Platform::name`].
    pub fn from_name(name: &str) -> Option<Platform> {
        [Platform::Portable, Platform::Avx2, Platform::Avx512]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_is_always_available_and_names_round_trip() {
        assert!(Platform::available().contains(&Platform::Portable));
        for p in [Platform::Portable, Platform::Avx2, Platform::Avx512] {
            assert_eq!(Platform::from_name(p.name()), Some(p));
        }
        assert!(Platform::widest_supported().is_supported());
        assert!(Platform::detect().is_supported());
    }
}
