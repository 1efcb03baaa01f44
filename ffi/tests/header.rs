//! The checked-in header `ffi/include/tandem.h` is exactly what cbindgen generates from `src/`.
//!
//! Run with `TANDEM_BLESS_HEADER=1` (what `make header` does) to rewrite the header instead.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(crate_dir).join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header from ffi/src");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let generated =
        parenthesize_negative_defines(&String::from_utf8(raw).expect("UTF-8 header")).into_bytes();

    let header_path = Path::new(crate_dir).join("include").join("tandem.h");
    if std::env::var_os("TANDEM_BLESS_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&header_path, &generated).expect("ffi/include/tandem.h is writable");
        return;
    }

    let checked_in = std::fs::read(&header_path).unwrap_or_default();
    if checked_in != generated {
        panic!(
            "ffi/include/tandem.h is stale: run `make header`\n{}",
            first_difference(&checked_in, &generated)
        );
    }
}

/// A host's own macros cannot collide with the header's: every one is named `TANDEM_…` (or is
/// the include guard).
#[test]
fn every_macro_of_the_header_is_named_tandem() {
    let header = include_str!("../include/tandem.h");
    for line in header.lines() {
        let Some(define) = line.strip_prefix("#define ") else {
            continue;
        };
        let name = define.split_whitespace().next().unwrap_or_default();
        assert!(name.starts_with("TANDEM_"), "#define {name} in tandem.h");
    }
}

/// cbindgen writes `#define TANDEM_ERR_IO -3`; SPEC §8 (and macro hygiene: `x-TANDEM_ERR_IO`)
/// wants `#define TANDEM_ERR_IO (-3)`.
fn parenthesize_negative_defines(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 64);
    for line in header.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let mut words = body.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("#define"), Some(name), Some(value))
                if value.starts_with('-') && value[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                out.push_str(&format!("#define {name} ({value})"));
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The first line where the checked-in and generated headers differ, for the failure message.
fn first_difference(checked_in: &[u8], generated: &[u8]) -> String {
    let checked_in = String::from_utf8_lossy(checked_in);
    let generated = String::from_utf8_lossy(generated);
    let mut old = checked_in.lines();
    let mut new = generated.lines();
    for number in 1.. {
        match (old.next(), new.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                return format!(
                    "first difference at line {number}:\n  checked in: {}\n  generated:  {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                );
            }
        }
    }
    "the headers differ only in line endings or a final newline".to_owned()
}
