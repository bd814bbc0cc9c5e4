//! The pipeline: config → scan → parse → validate → compose and render per site → write.

use std::path::{Path, PathBuf};

use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::parse::{self, Corpus};
use crate::render::{self, context::BuildView, theme, OutFile};
use crate::repo::scan;
use crate::site;
use crate::write;

pub const PREVIEW_VERSION: &str = "preview";

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The repository root (where book.toml is).
    pub root: PathBuf,
    /// Overrides `[build] output`; relative paths are taken from the current directory.
    pub out: Option<PathBuf>,
    /// Sites to build; empty means every site.
    pub sites: Vec<String>,
    pub version: Option<String>,
}

/// What a run produced: the diagnostics, and the rendered sites when there were no errors.
pub struct Rendered {
    pub config: Option<Config>,
    pub theme: Option<theme::Theme>,
    pub version: String,
    pub sites: Vec<(String, Vec<OutFile>)>,
    pub diags: Diagnostics,
}

#[derive(Debug)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub version: String,
    pub sites: Vec<(String, usize)>,
    pub diags: Diagnostics,
}

fn load(root: &Path, diags: &mut Diagnostics) -> Option<(Config, Corpus)> {
    let config = match config::load(root) {
        Ok(c) => c,
        Err(d) => {
            diags.extend(d.into_sorted());
            return None;
        }
    };
    let sources = scan::scan_work_tree(root, diags);
    let corpus = parse::parse_corpus(&sources, &config, diags);
    site::validate(&corpus, &config, diags);
    Some((config, corpus))
}

fn check_version_name(v: &str, diags: &mut Diagnostics) {
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !v.starts_with('.')
        && v != "latest";
    if !ok {
        diags.push(
            Diagnostic::error("--version", 0, format!("'{v}' cannot be a version name"))
                .help("use letters, digits, '.', '-' and '_', e.g. 2026.1; 'latest' is reserved"),
        );
    }
}

/// Loads, checks and renders the selected sites, all in memory.
pub fn render(opts: &BuildOptions) -> Rendered {
    let mut diags = Diagnostics::new();
    let version = opts
        .version
        .clone()
        .unwrap_or_else(|| PREVIEW_VERSION.to_string());
    check_version_name(&version, &mut diags);
    let Some((config, corpus)) = load(&opts.root, &mut diags) else {
        return Rendered {
            config: None,
            theme: None,
            version,
            sites: Vec::new(),
            diags,
        };
    };
    for s in &opts.sites {
        if !config.site.contains_key(s) {
            diags.push(
                Diagnostic::error(
                    "--site",
                    0,
                    format!(
                        "there is no site '{s}'{}",
                        crate::diag::did_you_mean(s, config.site.keys().map(String::as_str))
                    ),
                )
                .help(format!(
                    "sites in book.toml: {}",
                    config.site.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }
    let Some(theme) = theme::load(&opts.root, &config.build.theme, &mut diags) else {
        return Rendered {
            config: Some(config),
            theme: None,
            version,
            sites: Vec::new(),
            diags,
        };
    };
    let build = build_view(&version);
    let mut sites = Vec::new();
    for id in config.site.keys() {
        if !opts.sites.is_empty() && !opts.sites.contains(id) {
            continue;
        }
        let plan = site::plan(&corpus, &config, id, &mut diags);
        let files = render::render_site(&plan, &corpus, &config, &theme, &build, &mut diags);
        sites.push((id.clone(), files));
    }
    Rendered {
        config: Some(config),
        theme: Some(theme),
        version,
        sites,
        diags,
    }
}

fn build_view(version: &str) -> BuildView {
    BuildView {
        version: version.to_string(),
        preview: true,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Validates every site without writing anything.
pub fn check(root: &Path) -> Diagnostics {
    render(&BuildOptions {
        root: root.to_path_buf(),
        ..Default::default()
    })
    .diags
}

/// Builds and writes. With any error, nothing is written and the diagnostics come back.
pub fn build(opts: &BuildOptions) -> Result<BuildSummary, Diagnostics> {
    let rendered = render(opts);
    let mut diags = rendered.diags;
    let (config, theme) = match (rendered.config, rendered.theme) {
        (Some(c), Some(t)) if !diags.has_errors() => (c, t),
        _ => return Err(diags),
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| opts.root.join(&config.build.output));
    let units: Vec<write::Unit> = rendered
        .sites
        .iter()
        .map(|(id, files)| write::Unit {
            dir: format!("{id}/{}", rendered.version),
            files: files.clone(),
        })
        .collect();
    let portal_sites = config
        .site
        .iter()
        .map(|(id, s)| {
            let built = rendered.sites.iter().any(|(b, _)| b == id)
                || out
                    .join(id)
                    .join(&rendered.version)
                    .join("index.html")
                    .is_file();
            render::context::PortalSite {
                id: id.clone(),
                name: s.name.clone(),
                markets: s.markets.clone(),
                version: rendered.version.clone(),
                href: if built {
                    format!("{id}/{}/index.html", rendered.version)
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let build = build_view(&rendered.version);
    let Some(portal) = render::render_portal(&config, &theme, portal_sites, &build, &mut diags)
    else {
        return Err(diags);
    };
    if let Err(e) = write::publish(&out, &units, &[portal]) {
        diags.push(Diagnostic::error(&out, 0, e.to_string()).help(
            "choose another folder with --out, or remove the folder if it holds nothing of value",
        ));
        return Err(diags);
    }
    Ok(BuildSummary {
        out,
        version: rendered.version,
        sites: rendered
            .sites
            .iter()
            .map(|(id, f)| {
                (
                    id.clone(),
                    f.iter().filter(|f| f.path.ends_with(".html")).count(),
                )
            })
            .collect(),
        diags,
    })
}
