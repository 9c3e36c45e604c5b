//! Map a JSON Pointer back to where its value sits in the source text, so diagnostics can
//! point into the file like a compiler (file:line:col). A small scanner walks only the path
//! the pointer names and skips every other value; the text is assumed to be valid JSON
//! (the parser has already accepted it), and a pointer that does not resolve yields the
//! nearest enclosing value that does.

/// A byte range in the source, plus the 1-based line and column of its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

/// Find the span of the value at `pointer` (or of its deepest existing ancestor).
pub fn locate(text: &str, pointer: &str) -> Span {
    let bytes = text.as_bytes();
    let tokens = crate::pointer::tokens(pointer);
    let mut s = Scanner { b: bytes, i: 0 };
    s.ws();
    let mut start = s.i;
    let mut end = s.clone().skip_value();
    'tokens: for tok in &tokens {
        match s.peek() {
            Some(b'{') => {
                s.i += 1;
                loop {
                    s.ws();
                    if s.peek() != Some(b'"') {
                        break 'tokens;
                    }
                    let key = s.string();
                    s.ws();
                    s.i += 1; // ':'
                    s.ws();
                    if key.as_deref() == Some(tok.as_str()) {
                        start = s.i;
                        end = s.clone().skip_value();
                        continue 'tokens;
                    }
                    s.i = s.clone().skip_value();
                    s.ws();
                    if s.peek() == Some(b',') {
                        s.i += 1;
                    } else {
                        break 'tokens;
                    }
                }
            }
            Some(b'[') => {
                let Ok(want) = tok.parse::<usize>() else {
                    break;
                };
                s.i += 1;
                let mut idx = 0;
                loop {
                    s.ws();
                    if matches!(s.peek(), Some(b']') | None) {
                        break 'tokens;
                    }
                    if idx == want {
                        start = s.i;
                        end = s.clone().skip_value();
                        continue 'tokens;
                    }
                    s.i = s.clone().skip_value();
                    s.ws();
                    if s.peek() == Some(b',') {
                        s.i += 1;
                        idx += 1;
                    } else {
                        break 'tokens;
                    }
                }
            }
            _ => break,
        }
    }
    let (line, column) = line_col(text, start);
    Span {
        start,
        end: end.max(start),
        line,
        column,
    }
}

/// The keys of the top-level object, in document order (empty if it is not an object).
pub fn top_level_keys(bytes: &[u8]) -> Vec<String> {
    let mut s = Scanner { b: bytes, i: 0 };
    let mut keys = Vec::new();
    s.ws();
    if s.peek() != Some(b'{') {
        return keys;
    }
    s.i += 1;
    loop {
        s.ws();
        if s.peek() != Some(b'"') {
            break;
        }
        match s.string() {
            Some(k) => keys.push(k),
            None => break,
        }
        s.ws();
        s.i += 1; // ':'
        s.i = s.clone().skip_value();
        s.ws();
        if s.peek() == Some(b',') {
            s.i += 1;
        } else {
            break;
        }
    }
    keys
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&c| c == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let column = text
        .get(line_start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[derive(Clone)]
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }
    /// Read a string at the cursor, returning its unescaped contents.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => break,
                _ => {}
            }
        }
        let raw = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        serde_json::from_str(raw).ok()
    }
    /// Return the offset just past the value at the cursor.
    fn skip_value(mut self) -> usize {
        self.ws();
        match self.peek() {
            Some(b'"') => {
                self.string();
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
            }
        }
        self.i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values() {
        let text = "{\n  \"a\": [1, {\"b~/c\": \"x,]}\"}],\n  \"edges\": [{\"condition\": \"onTimeout\"}]\n}";
        let s = locate(text, "/edges/0/condition");
        assert_eq!(&text[s.start..s.end], "\"onTimeout\"");
        assert_eq!((s.line, s.column), (3, 27));
        let s = locate(text, "/a/1/b~0~1c");
        assert_eq!(&text[s.start..s.end], "\"x,]}\"");
        // A missing key falls back to the deepest ancestor that exists.
        let s = locate(text, "/edges/0/properties");
        assert_eq!(&text[s.start..s.end], "{\"condition\": \"onTimeout\"}");
        let s = locate(text, "");
        assert_eq!((s.start, s.end), (0, text.len()));
    }
}
