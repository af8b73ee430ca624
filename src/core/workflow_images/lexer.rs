//! The lexing the WDL and Nextflow extractors share: a cursor that knows its line, tokens,
//! and string literals split into text and interpolated placeholders.

/// Part of a string literal: text, or an interpolated expression (`~{x}`, `${x}`, `$x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    Text(String),
    /// Expression source and the line it starts on.
    Expr(String, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    Str(Vec<Part>),
    Punct(&'static str),
    Other(char),
    Newline,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
    /// Byte offsets in the source, to quote expressions back.
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Token {
    /// A token that began at (`line`, `start`) and ends where the cursor stands.
    pub(super) fn ending_at(tok: Tok, line: usize, start: usize, c: &Cursor) -> Self {
        Self {
            tok,
            line,
            start,
            end: c.pos,
        }
    }
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A cursor over source text that knows its line.
pub(super) struct Cursor<'a> {
    src: &'a str,
    pub(super) pos: usize,
    pub(super) line: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a str, line: usize) -> Self {
        Self { src, pos: 0, line }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    pub(super) fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    pub(super) fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s)
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    pub(super) fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    pub(super) fn skip_to_eol(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }
}

/// Reads a `{…}` placeholder body after its opening brace; nested braces and quoted strings are
/// skipped so `~{sep=" " xs}` or `${ a ? 'x' : 'y' }` end at the right brace.
fn read_placeholder(c: &mut Cursor) -> String {
    let start = c.pos;
    let mut depth = 1usize;
    while let Some(ch) = c.peek() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let body = c.src[start..c.pos].to_owned();
                    c.bump();
                    return body;
                }
            }
            '\'' | '"' => {
                c.bump();
                while let Some(inner) = c.peek() {
                    if inner == '\\' {
                        c.skip(2);
                        continue;
                    }
                    c.bump();
                    if inner == ch {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        c.bump();
    }
    c.src[start..c.pos].to_owned()
}

/// A string body up to `quote` (which may be `'''` or `"""`); `interpolate` enables `${…}`,
/// `~{…}` (WDL) and `$name` (Groovy). Single-line strings stop at a newline when unterminated.
pub(super) fn read_string(
    c: &mut Cursor,
    quote: &str,
    interpolate: bool,
    tilde: bool,
    dollar_ident: bool,
) -> Vec<Part> {
    let multiline = quote.len() == 3;
    let mut parts = Vec::new();
    let mut text = String::new();
    loop {
        if c.starts_with(quote) {
            c.skip(quote.len());
            break;
        }
        let Some(ch) = c.peek() else { break };
        if ch == '\n' && !multiline {
            break;
        }
        if ch == '\\' {
            c.bump();
            if let Some(escaped) = c.bump() {
                match escaped {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    other => text.push(other),
                }
            }
            continue;
        }
        if interpolate && (ch == '$' || (tilde && ch == '~')) && c.peek_at(1) == Some('{') {
            let line = c.line;
            c.skip(2);
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Expr(read_placeholder(c), line));
            continue;
        }
        if interpolate && dollar_ident && ch == '$' && c.peek_at(1).is_some_and(is_ident_start) {
            let line = c.line;
            c.bump();
            let start = c.pos;
            // `$params.name` is one property path in a GString.
            loop {
                while c.peek().is_some_and(is_ident_char) {
                    c.bump();
                }
                if c.peek() == Some('.') && c.peek_at(1).is_some_and(is_ident_start) {
                    c.bump();
                    continue;
                }
                break;
            }
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Expr(c.src[start..c.pos].to_owned(), line));
            continue;
        }
        text.push(ch);
        c.bump();
    }
    if !text.is_empty() || parts.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

pub(super) fn plain_text(parts: &[Part]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Expr(..) => return None,
        }
    }
    Some(out)
}

const PUNCTS: [&str; 20] = [
    "?:", "?.", "==", "!=", "&&", "||", "{", "}", "[", "]", "(", ")", ":", "=", ",", "?", ".", "+",
    "!", ";",
];

pub(super) fn punct_at(c: &Cursor) -> Option<&'static str> {
    PUNCTS.iter().copied().find(|p| c.starts_with(p))
}

/// The token at the cursor when nothing longer starts there: punctuation, else the one
/// character `ch`. Both lexers end a step with this.
pub(super) fn punct_or_other(c: &mut Cursor, ch: char, line: usize, start: usize) -> Token {
    if let Some(p) = punct_at(c) {
        c.skip(p.chars().count());
        return Token::ending_at(Tok::Punct(p), line, start, c);
    }
    c.bump();
    Token::ending_at(Tok::Other(ch), line, start, c)
}
