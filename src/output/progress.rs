//! Progress bars on stderr (indicatif), one line per endpoint, shown only on a terminal so that
//! cron logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A set of progress lines; inert when stderr is not a terminal.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Shows bars only when stderr is a terminal.
    pub fn auto() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress {
                multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            }
        } else {
            Progress::hidden()
        }
    }

    pub fn hidden() -> Progress {
        Progress { multi: None }
    }

    /// A new line for one endpoint.
    pub fn line(&self, name: &str) -> Line {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<28} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Line { bar }
    }
}

impl Progress {
    /// A bar counting `total` steps (e.g. simulated days × policies); safe to advance from
    /// several threads.
    pub fn bar(&self, name: &str, total: u64) -> Bar {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:<28} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar
        });
        Bar { bar }
    }
}

/// A counting progress bar.
#[derive(Clone)]
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn finish(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(message.into());
        }
    }
}

/// One progress line.
pub struct Line {
    bar: Option<ProgressBar>,
}

impl Line {
    pub fn set(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// Rows fetched so far, out of a total when the API told it.
    pub fn rows(&self, rows: usize, total: Option<usize>) {
        match total {
            Some(t) => self.set(format!("{rows}/{t} rows")),
            None => self.set(format!("{rows} rows")),
        }
    }

    pub fn finish(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(message.into());
        }
    }
}
