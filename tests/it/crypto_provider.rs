//! One TLS crypto provider: reqwest and lettre share rustls with `ring` (not aws-lc-rs, whose C
//! library was a minute of a cold build; docs/design.md, "Cold build"). reqwest is built without
//! a provider of its own and panics when a client is built before one is installed, so every file
//! that builds a client also installs the provider, and the install is idempotent.

use crate::common::scan;

/// Ways code builds a reqwest client (or sends through a hidden one). Matched with all whitespace
/// removed.
const CLIENT_BUILDS: [&str; 5] = [
    "reqwest::Client::new(",
    "reqwest::Client::builder(",
    "reqwest::ClientBuilder::new(",
    "reqwest::get(",
    "Client::default(",
];

/// `(line number, line)` of each client build in `text` (comment lines are skipped).
fn client_builds(text: &str) -> Vec<(usize, String)> {
    scan::lines_with(text, &CLIENT_BUILDS)
}

#[test]
fn the_scan_recognises_each_way_of_building_a_client() {
    let code = "let a = reqwest::Client::new();\n\
                // reqwest::Client::new() in a comment builds nothing\n\
                let b = reqwest :: Client :: builder ().build();\n\
                let c = reqwest::get(url).await;\n\
                let d = reqwest::Client::builder().build().unwrap_or_default();\n\
                let e = reqwest::ClientBuilder::new();\n";
    let found: Vec<usize> = client_builds(code).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, [1, 3, 4, 5, 6]);
}

#[test]
fn every_http_client_is_built_after_the_crypto_provider() {
    let files: Vec<_> = ["src", "crates/sandbox/src", "tests", "examples"]
        .into_iter()
        .flat_map(scan::rust_files)
        .collect();
    assert!(
        files.len() > 100,
        "the scan found only {} files",
        files.len()
    );
    let this = std::path::Path::new(file!()).file_name().unwrap();
    let mut offenders = Vec::new();
    let mut builders = 0;
    for path in &files {
        if path.file_name() == Some(this) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let builds = client_builds(&text);
        builders += usize::from(!builds.is_empty());
        if !builds.is_empty() && !text.contains("install_crypto_provider()") {
            for (n, line) in builds {
                offenders.push(format!("{}:{n}: {line}", scan::relative(path)));
            }
        }
    }
    assert!(
        builders >= 4,
        "the scan saw {builders} files building clients"
    );
    assert!(
        offenders.is_empty(),
        "these build a reqwest client in a file that never installs the crypto provider \
         (use crate::common::http() in tests, replenish::adapters::http::build_client in the \
         product):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_installed_provider_is_ring_and_installing_again_changes_nothing() {
    replenish::adapters::http::install_crypto_provider();
    replenish::adapters::http::install_crypto_provider();
    replenish::sandbox::install_crypto_provider();
    let installed = rustls::crypto::CryptoProvider::get_default().expect("a provider is installed");
    let ring = rustls::crypto::ring::default_provider();
    // aws-lc-rs would also offer the post-quantum X25519MLKEM768 key exchange; ring does not.
    let names = |p: &rustls::crypto::CryptoProvider| -> Vec<String> {
        let suites = p.cipher_suites.iter().map(|s| format!("{:?}", s.suite()));
        let groups = p.kx_groups.iter().map(|g| format!("{:?}", g.name()));
        suites.chain(groups).collect()
    };
    assert_eq!(names(installed), names(&ring));
    assert!(!names(installed).is_empty());
    // And a client can now be built (reqwest panics without a provider).
    let _client = crate::common::http();
}
