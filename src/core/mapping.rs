//! TEMPORARY stub (not committed): replaced by the planning branch.
pub fn parse_mapping(
    text: &str,
    path: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, String>, crate::config::ConfigError> {
    let _ = (text, path);
    todo!()
}
