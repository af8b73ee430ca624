//! The `clone` command's progress bar: the copy's blob progress, the same reports the MCP tool
//! sends as progress notifications, drawn on stderr only when stderr is a terminal (a script's
//! log gets no control characters).

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::oci::{CopyProgress, ProgressFn};

pub struct CopyBar(ProgressBar);

/// A bar for copying `image`, or none when stderr is not a terminal.
pub fn copy_bar(image: &str) -> Option<CopyBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta})",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("copying {image}"));
    Some(CopyBar(bar))
}

impl CopyBar {
    /// The callback the copy reports to; it only updates the bar, so it never blocks.
    pub fn reporter(&self) -> ProgressFn {
        let bar = self.0.clone();
        Arc::new(move |p: CopyProgress| {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_done);
            bar.set_message(format!("{} of {} blobs", p.blobs_done, p.blobs_total));
        })
    }

    /// Removes the bar: the result printed next says what was copied.
    pub fn finish(self) {
        self.0.finish_and_clear();
    }
}
