//! Which log lines the library's front ends pass on — the `tandem` command's standard error
//! and the C ABI's log sink: tandem's own at the level asked for, those of the libraries under
//! it (wgpu, naga, Mesa's loader) errors only. At debug level the first GPU call alone logged
//! some 13,000 lines of wgpu's shader compiler, and a sink's queue dropped tandem's own lines
//! among them (a black-box test of the C ABI, 2026-12-07).

/// Whether a line of `metadata` goes on, under `log::max_level()`.
pub fn passes(metadata: &log::Metadata<'_>) -> bool {
    passes_at(metadata, log::max_level())
}

/// Whether a line of `metadata` goes on where the level asked for is `max`.
pub fn passes_at(metadata: &log::Metadata<'_>, max: log::LevelFilter) -> bool {
    if metadata.target().starts_with("tandem") {
        metadata.level() <= max
    } else {
        metadata.level() == log::Level::Error && max >= log::LevelFilter::Error
    }
}

#[cfg(test)]
mod tests {
    use super::passes_at;

    #[test]
    fn tandems_lines_pass_at_the_level_asked_and_the_libraries_errors_only() {
        let line = |target: &'static str, level| {
            let metadata = log::Metadata::builder().target(target).level(level).build();
            passes_at(&metadata, log::LevelFilter::Debug)
        };
        assert!(line("tandem_engine::pipeline", log::Level::Debug));
        assert!(!line("tandem_engine::pipeline", log::Level::Trace));
        assert!(!line("naga::front::wgsl", log::Level::Debug));
        assert!(!line("wgpu_core::device", log::Level::Warn));
        assert!(line("wgpu_core::device", log::Level::Error));
        let off = log::Metadata::builder()
            .target("wgpu_core::device")
            .level(log::Level::Error)
            .build();
        assert!(!passes_at(&off, log::LevelFilter::Off), "off is off");
    }
}
