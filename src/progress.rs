//! Progress of long work on a terminal: a spinner while the history is read, then a
//! bar over the sites. Nothing is drawn when stderr is not a terminal, in CI (`CI`
//! set) or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A handle every stage may tick; cloning shares the one bar. The default draws
/// nothing.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

impl Default for Progress {
    fn default() -> Self {
        Progress(ProgressBar::hidden())
    }
}

impl Progress {
    /// A bar on stderr when a person is watching it, else a hidden one.
    pub fn on_terminal(quiet: bool) -> Progress {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        if quiet || ci || !std::io::stderr().is_terminal() {
            return Progress::default();
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("the spinner template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(bar)
    }

    /// Names the stage now running.
    pub fn stage(&self, message: &'static str) {
        self.0.set_message(message);
    }

    /// Work over `sites` sites begins: the spinner becomes a bar.
    pub fn sites(&self, sites: usize) {
        if self.0.is_hidden() {
            return;
        }
        self.0.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} sites {elapsed}")
                .expect("the bar template is valid")
                .progress_chars("=> "),
        );
        self.0.set_length(sites as u64);
        self.0.set_position(0);
    }

    /// One site is done.
    pub fn site_done(&self) {
        self.0.inc(1);
    }

    /// Clears the bar, so the summary that follows stands alone.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
