//! Source scans for the guard tests (`clock`, `crypto_provider`): the workspace's Rust files, and
//! the lines of one that contain any of a list of code patterns.

use std::path::{Path, PathBuf};

/// The workspace's root (where `Cargo.toml` is).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir` (relative to the workspace's root), recursively.
pub fn rust_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out
}

/// `path` relative to the workspace's root, with `/` separators.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `(line number, line)` of each line of `text` holding one of `patterns` once all whitespace is
/// removed from it (so `Utc :: now ()` matches `Utc::now(`). Comment lines are skipped.
pub fn lines_with(text: &str, patterns: &[&str]) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| {
            let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            patterns.iter().any(|p| squeezed.contains(p))
        })
        .map(|(i, line)| (i + 1, line.trim().to_string()))
        .collect()
}
