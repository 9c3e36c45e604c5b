//! Captured function output (`console.*` in JavaScript, `print` in Python): one entry per
//! line, joined by `'\n'`, capped so a chatty function cannot make the host buffer unbounded
//! memory outside the sandbox's own memory limit.

/// The most log text one call may keep. Beyond it lines are dropped and a marker says so.
pub(crate) const MAX_LOG_BYTES: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    text: String,
    truncated: bool,
}

impl LogBuffer {
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.truncated = false;
    }

    /// Appends one entry (a `console.log` call, or one line of Python output).
    pub(crate) fn push(&mut self, prefix: &str, line: &str) {
        if self.truncated {
            return;
        }
        let needed = prefix.len() + line.len() + usize::from(!self.text.is_empty());
        if self.text.len() + needed > MAX_LOG_BYTES {
            self.truncated = true;
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(prefix);
        self.text.push_str(line);
    }

    /// The captured text; `self` is left empty for the next call.
    pub(crate) fn take(&mut self) -> String {
        let mut text = std::mem::take(&mut self.text);
        if self.truncated {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("[logs truncated at {} KiB]", MAX_LOG_BYTES / 1024));
        }
        self.truncated = false;
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_entries_with_newlines_and_prefixes() {
        let mut logs = LogBuffer::default();
        logs.push("", "a");
        logs.push("WARN: ", "b");
        assert_eq!(logs.take(), "a\nWARN: b");
        assert_eq!(logs.take(), "");
    }

    #[test]
    fn caps_total_size() {
        let mut logs = LogBuffer::default();
        let line = "x".repeat(1000);
        for _ in 0..2000 {
            logs.push("", &line);
        }
        let text = logs.take();
        assert!(text.len() <= MAX_LOG_BYTES + 100);
        assert!(text.ends_with("[logs truncated at 1024 KiB]"));
    }
}
