//! The record of the last build into an output, so that the same build again, over
//! an output nobody touched since, is answered without building.
//!
//! A preview build of a committed tree (a clean work tree, or `--ref`) reads nothing
//! but the commit, the repository's tags, replace refs, grafts and shallow cut, its
//! options and procsite itself: with all of these the same, it writes the same bytes and says the same
//! things. After a build, procsite records a hash of those inputs, the output's
//! [identity](crate::output::identity) as the file system keeps it, and what the build
//! printed, in `$GIT_DIR/procsite/builds/`. A build whose inputs hash to the recorded
//! value, into an output whose identity is the recorded one, prints what was recorded
//! and writes nothing.
//!
//! Never for a release (which reads everything from git each time), a work tree with
//! uncommitted changes, or with `PROCSITE_HISTORY_CACHE=off`. Any change to the output
//! since the record (a file edited, added, removed or replaced, a write interrupted)
//! changes its identity, and the build runs and repairs it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostics;
use crate::plan::Request;
use crate::publish::BuildSummary;

/// Bumped when what a record holds, or what its inputs cover, changes.
const FORMAT: u32 = 1;

/// What a successful build printed, to be said again when it is not run again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// The diagnostics as printed, many of one code shortened, and in full (`-v`).
    pub diagnostics: String,
    pub diagnostics_verbose: String,
    pub warnings: usize,
    /// The output as the summary shows it.
    pub out: PathBuf,
    pub version: String,
    /// The built commit.
    pub commit: String,
    pub sites: usize,
    pub documents: usize,
    pub pages: usize,
    pub bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: u32,
    inputs: String,
    /// The output as the build named it (absolute), and the folder that was.
    named: PathBuf,
    output: PathBuf,
    identity: String,
    said: Said,
}

/// What `build` did.
pub enum Outcome {
    /// The build ran and wrote the output: what it did, and what it says.
    Ran(Box<BuildSummary>, Said),
    /// The record of the same build answered for it: nothing was written.
    Answered(Said),
}

/// Builds and writes, as [`crate::publish::build`], unless the record of the same
/// build over the untouched output answers for it; records a build that ran.
pub fn build(req: &Request) -> Result<Outcome, Diagnostics> {
    let probe = Probe::of(req);
    if let Some(said) = probe.as_ref().and_then(Probe::answer) {
        return Ok(Outcome::Answered(said));
    }
    let asked = Request {
        output_identity: probe.is_some(),
        ..req.clone()
    };
    let mut summary = crate::publish::build(&asked)?;
    if let (Some(pages), Some(identity)) = (summary.pages.take(), &summary.identity) {
        let rendered: Vec<String> = summary.sites.iter().map(|(s, _)| s.clone()).collect();
        pages.record(identity, &rendered);
    }
    let sorted = std::mem::take(&mut summary.diags).into_sorted();
    let said = said(&summary, &sorted);
    if let (Some(probe), Some(identity)) = (probe, &summary.identity) {
        // What opening the output found (a stale lock, a write left half-done) was
        // this run's to say, not the build's.
        let note = |d: &crate::diag::Diagnostic| d.code == crate::diag::Code::OutputNote;
        let own = if sorted.iter().any(note) {
            let own: Vec<_> = sorted.into_iter().filter(|d| !note(d)).collect();
            self::said(&summary, &own)
        } else {
            said.clone()
        };
        probe.record(&summary, identity.clone(), own);
    }
    Ok(Outcome::Ran(Box::new(summary), said))
}

/// What `summary`, with the diagnostics `sorted`, says.
fn said(summary: &BuildSummary, sorted: &[crate::diag::Diagnostic]) -> Said {
    let written: Vec<&(String, usize)> = summary
        .sites
        .iter()
        .filter(|(s, _)| !summary.unchanged.contains(s))
        .collect();
    Said {
        diagnostics: crate::diagfmt::to_text(sorted, false),
        diagnostics_verbose: crate::diagfmt::to_text(sorted, true),
        warnings: crate::diagfmt::Counts::of(sorted).warnings,
        out: summary
            .out
            .strip_prefix(".")
            .unwrap_or(&summary.out)
            .to_path_buf(),
        version: summary.version.clone(),
        commit: summary
            .info
            .commit
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default(),
        sites: written.len(),
        documents: summary.documents,
        pages: written.iter().map(|(_, n)| n).sum(),
        bytes: summary.bytes,
    }
}

/// A build that may be answered from its record, with what its record is checked
/// against.
#[derive(Debug)]
struct Probe {
    path: PathBuf,
    inputs: String,
    /// What the repository held when the build was asked for, so that a build the
    /// repository changed under (a commit, a checkout, an edit, a tag) is not recorded.
    root: PathBuf,
    commit: git2::Oid,
    committed: String,
}

impl Probe {
    /// `None` when the build cannot be answered from a record: a release, no commit,
    /// uncommitted changes, not in git, or the cache off.
    fn of(req: &Request) -> Option<Probe> {
        if req.release || std::env::var_os(crate::repo::cache::ENV).is_some_and(|v| v == "off") {
            return None;
        }
        let git = crate::repo::git::GitRepo::open(&req.root)?;
        let (commit, committed) = git.committed_inputs(req.refname.as_deref())?;
        let root = req.root.canonicalize().ok()?;
        let out = match &req.out {
            Some(o) => Some(std::path::absolute(o).ok()?),
            None => None,
        };
        // The options that reach the output or what the build says (paths are shown
        // from the current folder): one record each.
        let asked = format!(
            "root {}\ncwd {}\nout {:?}\nsites {:?}\nversion {:?}\nref {:?}\nas-of {:?}\n",
            root.display(),
            std::env::current_dir().ok()?.display(),
            out,
            req.sites,
            req.version,
            req.refname,
            req.as_of.map(|d| d.to_string()),
        );
        let key = crate::manifest::sha256_hex(asked.as_bytes());
        // And procsite itself, its environment, the repository.
        let inputs = format!(
            "format {FORMAT}\nprocsite {}\nexe {}\nenv {:?}\n{asked}{committed}",
            env!("CARGO_PKG_VERSION"),
            exe_identity()?,
            procsite_env(),
        );
        Some(Probe {
            path: git
                .git_dir()
                .join("procsite")
                .join("builds")
                .join(format!("{}.json", &key[..32])),
            inputs: crate::manifest::sha256_hex(inputs.as_bytes()),
            root: req.root.clone(),
            commit,
            committed,
        })
    }

    /// What the recorded build said, when it holds for this one: the same inputs,
    /// and its output, where the same path leads, untouched since.
    fn answer(&self) -> Option<Said> {
        let bytes = std::fs::read(&self.path).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        (record.format == FORMAT
            && record.inputs == self.inputs
            && record.named.canonicalize().ok().as_ref() == Some(&record.output)
            && crate::output::identity(&record.output).as_deref() == Some(&record.identity))
        .then_some(record.said)
    }

    /// Records a successful build of these inputs that left its output with
    /// `identity`, if the build read what the probe saw: the same commit, from git's
    /// objects (the build's own look at the work tree found it clean), with the same
    /// tags, grafts and shallow cut. A record that cannot be written only means the
    /// next build runs in full.
    fn record(&self, summary: &BuildSummary, identity: String, said: Said) {
        let unchanged = !summary.info.dirty
            && summary.info.commit.as_ref().map(|c| c.id.as_str())
                == Some(self.commit.to_string().as_str())
            && crate::repo::git::GitRepo::open(&self.root)
                .and_then(|g| g.inputs_of(self.commit))
                .as_ref()
                == Some(&self.committed);
        let (Ok(named), Ok(output)) = (
            std::path::absolute(&summary.out),
            summary.out.canonicalize(),
        ) else {
            return;
        };
        if !unchanged {
            return;
        }
        let record = Record {
            format: FORMAT,
            inputs: self.inputs.clone(),
            named,
            output,
            identity,
            said,
        };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            crate::fs::write_aside(&self.path, &bytes);
        }
    }
}

/// Which procsite executable runs: a new build or install of it is another file, or
/// the same file changed (its change time, which no copy keeps).
pub(crate) fn exe_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = exe.metadata().ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = ();
    Some(format!(
        "{} {} {} {changed:?}",
        exe.display(),
        meta.len(),
        modified.as_nanos()
    ))
}

/// procsite's own environment variables (test hooks among them), sorted.
fn procsite_env() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| k.starts_with("PROCSITE_"))
        .collect();
    vars.sort();
    vars
}
