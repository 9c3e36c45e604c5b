//! Human rendering of diagnostics, pointing into the source like a compiler:
//! `file:line:col`, the JSON Pointer, the code, the message, a snippet and a hint.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use validate::{Diagnostic, Severity};

struct Rendered<'a> {
    d: &'a Diagnostic,
    src: &'a NamedSource<String>,
    span: SourceSpan,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = if self.d.path.is_empty() {
            "document".to_string()
        } else {
            self.d.path.clone()
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            self.span,
        ))))
    }
}

/// Render diagnostics for one file. `color` selects ANSI styling.
pub fn render(file: &str, text: &str, diags: &[Diagnostic], color: bool) -> String {
    let src = NamedSource::new(file, text.to_string());
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    let mut out = String::new();
    for d in diags {
        let span = flow::locate::locate(text, &d.path);
        // Keep the label to the first line of a multi-line value so the snippet stays short.
        let len = text[span.start..span.end]
            .find('\n')
            .unwrap_or(span.end - span.start);
        let r = Rendered {
            d,
            src: &src,
            span: (span.start, len.max(1)).into(),
        };
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "{file}:{}:{}: {sev}[{}] {} (at {})\n",
            span.line,
            span.column,
            d.code,
            d.message,
            if d.path.is_empty() { "/" } else { &d.path }
        ));
        let _ = handler.render_report(&mut out, &r);
        out.push('\n');
    }
    out
}
