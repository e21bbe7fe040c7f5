//! Where the shared data and the Python tools are, and how tests skip without them.

use std::path::PathBuf;

/// `../shared/data` of the checkout, or `None` (with a message) when it is absent.
pub fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent (the team's shared data)", dir.display());
        None
    }
}

/// Reads a file under the shared data.
pub fn read(dir: &std::path::Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The Python interpreter of the test venv (`VIGIL_PYTHON`), or `None` with a message. Fails
/// instead when `VIGIL_REQUIRE_TOOLS=1`.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_PYTHON") {
        return Some(PathBuf::from(p));
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "VIGIL_REQUIRE_TOOLS=1 but VIGIL_PYTHON is not set (run scripts/test.sh)"
    );
    eprintln!("SKIPPED: VIGIL_PYTHON is not set (scripts/test.sh sets up the venv)");
    None
}

/// A Python script of this crate's `tests/py`.
pub fn py_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py").join(name)
}
