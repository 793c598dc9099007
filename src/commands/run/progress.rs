//! The progress bar of long runs, on stderr: bytes read of the total (when every input is a file),
//! rows and rows per second. It watches the input bytes as they are read, so the replay's hot loop
//! does nothing for it. Shown with `--progress auto` only when stderr is a terminal, so logs and
//! pipes never get control characters; `always` forces it, `never` turns it off.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, IsTerminal, Read};

/// When the bar is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ProgressMode {
    Never,
    /// Only when stderr is a terminal.
    #[default]
    Auto,
    Always,
}

/// Redraws per second at most.
const REFRESH_HZ: u8 = 10;

/// The bar of one run, or nothing.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for inputs totalling `total` bytes (`None` when one is stdin or not a regular file).
    pub(crate) fn new(mode: ProgressMode, total: Option<u64>) -> Progress {
        let target = match mode {
            ProgressMode::Never => return Progress { bar: None },
            ProgressMode::Auto if !io::stderr().is_terminal() => return Progress { bar: None },
            ProgressMode::Auto => ProgressDrawTarget::stderr_with_hz(REFRESH_HZ),
            // A terminal-like target draws even when stderr is a file or a pipe.
            ProgressMode::Always => {
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), REFRESH_HZ)
            }
        };
        let (bar, template) = match total {
            Some(total) => (ProgressBar::new(total), "{bar:24} {bytes}/{total_bytes} {msg} eta {eta}"),
            None => (ProgressBar::no_length(), "{spinner} {bytes} {msg} {elapsed}"),
        };
        let style =
            ProgressStyle::with_template(template).expect("the progress templates are valid").progress_chars("=> ");
        bar.set_style(style);
        bar.set_draw_target(target);
        bar.set_message("0 rows");
        Progress { bar: Some(bar) }
    }

    /// The total size of `inputs` when all are regular files.
    pub(crate) fn total_size(inputs: &[String]) -> Option<u64> {
        inputs.iter().map(|p| std::fs::metadata(p).ok().filter(|m| p != "-" && m.is_file()).map(|m| m.len())).sum()
    }

    /// `source`, counted into the bar as it is read.
    pub(crate) fn watch(&self, source: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        match &self.bar {
            Some(bar) => Box::new(Watched { inner: source, bar: bar.clone(), rows: 0 }),
            None => source,
        }
    }

    /// Removes the bar, before the summary is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

struct Watched {
    inner: Box<dyn Read + Send>,
    bar: ProgressBar,
    /// Lines seen so far, the header included: rows as a CSV reader sees them.
    rows: u64,
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.rows += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        let seconds = self.bar.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 { self.rows as f64 / seconds } else { 0.0 };
        self.bar.set_message(format!("{} rows {:.0} rows/s", self.rows, rate));
        self.bar.inc(n as u64);
        Ok(n)
    }
}
