//! The fuzz targets' checks; see `targets.rs` (shared with `tests/fuzz_regressions.rs`).
pub mod targets;
