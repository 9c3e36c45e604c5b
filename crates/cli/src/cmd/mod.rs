//! One module per top-level command.

pub mod admin;
pub mod catalog;
pub mod flow;
pub mod remote;
pub mod run;
pub mod serve;
pub mod test;

use anyhow::Context;

/// The catalog to use: the built-in one, overridden by a directory of catalog JSON files.
pub fn load_catalog(dir: Option<&std::path::Path>) -> anyhow::Result<&'static ::catalog::Catalog> {
    let Some(dir) = dir else {
        return Ok(::catalog::Catalog::builtin());
    };
    let mut sources = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read catalog directory {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sources.push((name, text));
        }
    }
    sources.sort();
    // Files named like built-in ones replace them; other files add activities and events.
    let cat = ::catalog::Catalog::builtin_with_overrides(sources)
        .map_err(|e| anyhow::anyhow!("invalid catalog in {}: {e}", dir.display()))?;
    // The catalog lives for the whole process, like the built-in one.
    Ok(Box::leak(Box::new(cat)))
}

/// Output format shared by commands that print results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Readable text, with source snippets for diagnostics.
    #[default]
    Human,
    /// JSON for scripts (the API's shapes).
    Json,
}
