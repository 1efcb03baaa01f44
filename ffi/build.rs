//! Gives libtandem.so the soname `libtandem.so.<MAJOR>` on Linux, so that programs linked against
//! it record that name (`NEEDED`) and keep loading any later release of the same major version.
//! `make install` installs the matching `libtandem.so.<MAJOR>` symlink.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The target's OS, not the host's: a build script runs on the host.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtandem.so.{major}");
    }
}
