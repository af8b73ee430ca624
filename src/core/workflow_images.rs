//! Finds the container images a workflow definition uses (WDL, Nextflow, CWL), so a registry
//! map can be checked against what the workflow really pulls instead of what the user remembers.
//!
//! The extractors are small hand-written lexers over the file text, not full parsers: they know
//! the shapes images are written in (runtime `docker:`, `container` directives and config scopes,
//! `DockerRequirement.dockerPull`), resolve simple parameters from defaults in the same files, and
//! report what they cannot resolve instead of guessing. Nothing here touches the file system:
//! `crate::workflow_files::scan_path` walks a folder, reads the files and hands their text to
//! [`scan_sources`].

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::core::registry_map::ImageUse;

/// One image reference found in a workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FoundImage {
    /// The image (resolved from defaults where possible); for unresolved ones, the expression.
    pub reference: String,
    /// 1-based line where the image is used.
    pub line: usize,
    /// Where it is used, e.g. `runtime.docker`, `container directive (process FASTQC)`,
    /// `hints.DockerRequirement.dockerPull`.
    pub context: String,
    /// How the reference was obtained when it is not a plain literal, or why it is unresolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// False when `reference` is an expression that could not be turned into an image.
    pub resolved: bool,
}

impl FoundImage {
    fn literal(reference: String, line: usize, context: &str) -> Self {
        Self {
            reference,
            line,
            context: context.to_owned(),
            note: None,
            resolved: true,
        }
    }

    fn add_note(&mut self, note: String) {
        self.note = Some(match self.note.take() {
            Some(old) => format!("{old}; {note}"),
            None => note,
        });
    }
}

/// A HealthOmics workflow engine, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Engine {
    Wdl,
    Nextflow,
    Cwl,
}

/// The images found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FileImages {
    /// Path relative to the scanned folder, with `/` separators.
    pub path: String,
    pub engine: Engine,
    pub images: Vec<FoundImage>,
}

/// A file that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ScanResult {
    /// The scanned path as given.
    pub root: String,
    /// The engine most of the workflow files belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Every engine seen, when there is more than one kind of workflow file.
    pub engines: Vec<Engine>,
    /// Workflow files read, with the images in each (files without images included).
    pub files: Vec<FileImages>,
    pub skipped: Vec<SkippedFile>,
    /// Files looked at (all kinds).
    pub files_seen: usize,
    /// True when the scan stopped at its file limit (`crate::workflow_files::MAX_FILES`).
    pub truncated: bool,
    /// Nextflow `docker.registry`, applied to bare image names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_registry: Option<String>,
}

impl ScanResult {
    /// Every resolved image with its file and line, for `registry_map::coverage`.
    pub fn image_uses(&self) -> Vec<ImageUse> {
        self.files
            .iter()
            .flat_map(|f| {
                f.images.iter().filter(|i| i.resolved).map(|i| ImageUse {
                    reference: i.reference.clone(),
                    file: Some(f.path.clone()),
                    line: Some(i.line),
                    context: Some(i.context.clone()),
                })
            })
            .collect()
    }

    /// Images that are expressions we could not resolve, with their file.
    pub fn unresolved(&self) -> Vec<(&str, &FoundImage)> {
        self.files
            .iter()
            .flat_map(|f| {
                f.images
                    .iter()
                    .filter(|i| !i.resolved)
                    .map(move |i| (f.path.as_str(), i))
            })
            .collect()
    }

    /// Distinct resolved references, in first-seen order.
    pub fn distinct_images(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.files {
            for i in f.images.iter().filter(|i| i.resolved) {
                if !out.contains(&i.reference) {
                    out.push(i.reference.clone());
                }
            }
        }
        out
    }
}

// =============================================================================================
// Shared lexing helpers
// =============================================================================================

/// Part of a string literal: text, or an interpolated expression (`~{x}`, `${x}`, `$x`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// Expression source and the line it starts on.
    Expr(String, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(Vec<Part>),
    Punct(&'static str),
    Other(char),
    Newline,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    /// Byte offsets in the source, to quote expressions back.
    start: usize,
    end: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A cursor over source text that knows its line.
struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn new(src: &'a str, line: usize) -> Self {
        Self { src, pos: 0, line }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn skip_to_eol(&mut self) {
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
fn read_string(
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

fn plain_text(parts: &[Part]) -> Option<String> {
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

fn punct_at(c: &Cursor) -> Option<&'static str> {
    PUNCTS.iter().copied().find(|p| c.starts_with(p))
}

// =============================================================================================
// WDL
// =============================================================================================

fn lex_wdl(src: &str) -> Vec<Token> {
    let mut c = Cursor::new(src, 1);
    let mut out = Vec::new();
    while let Some(ch) = c.peek() {
        let (start, line) = (c.pos, c.line);
        if ch.is_whitespace() {
            c.bump();
            continue;
        }
        if ch == '#' {
            c.skip_to_eol();
            continue;
        }
        if ch == '"' || ch == '\'' {
            c.bump();
            let quote = if ch == '"' { "\"" } else { "'" };
            let parts = read_string(&mut c, quote, true, true, false);
            out.push(Token {
                tok: Tok::Str(parts),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        if is_ident_start(ch) {
            while c.peek().is_some_and(is_ident_char) {
                c.bump();
            }
            let word = &src[start..c.pos];
            if word == "command" {
                skip_wdl_command(&mut c);
                continue;
            }
            out.push(Token {
                tok: Tok::Ident(word.to_owned()),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        if let Some(p) = punct_at(&c) {
            c.skip(p.chars().count());
            out.push(Token {
                tok: Tok::Punct(p),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        c.bump();
        out.push(Token {
            tok: Tok::Other(ch),
            line,
            start,
            end: c.pos,
        });
    }
    out
}

/// Skips a `command <<< … >>>` or `command { … }` section: shell code, whose quotes and braces
/// mean nothing to WDL.
fn skip_wdl_command(c: &mut Cursor) {
    let save = (c.pos, c.line);
    while c.peek().is_some_and(char::is_whitespace) {
        c.bump();
    }
    if c.starts_with("<<<") {
        c.skip(3);
        while c.peek().is_some() && !c.starts_with(">>>") {
            c.bump();
        }
        c.skip(3);
    } else if c.peek() == Some('{') {
        c.bump();
        let mut depth = 1usize;
        while let Some(ch) = c.bump() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
    } else {
        // Not a command section (e.g. a variable named `command`): rewind.
        c.pos = save.0;
        c.line = save.1;
    }
}

/// A value in a WDL declaration or call input that might be an image.
#[derive(Debug, Clone)]
enum WdlValue {
    Str(Vec<Part>),
    Ident(String),
}

/// One `docker:` / `container:` entry before parameters are resolved.
#[derive(Debug, Clone)]
struct WdlUse {
    task: Option<String>,
    context: String,
    line: usize,
    /// The expression tokens of the value.
    tokens: Vec<Token>,
    source: String,
}

/// What one WDL file declares, for resolving parameters (possibly across files).
#[derive(Debug, Clone, Default)]
struct WdlSymbols {
    /// (task or workflow name, variable) → default value and its line.
    defaults: Vec<(String, String, WdlValue, usize)>,
    /// Calls: (calling workflow, called task or workflow, input name, value, line).
    call_inputs: Vec<CallInput>,
}

#[derive(Debug, Clone)]
struct CallInput {
    caller: Option<String>,
    callee: String,
    input: String,
    value: WdlValue,
    line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum WdlBlock {
    Named(String),
    Runtime(&'static str),
    Other,
}

fn analyse_wdl(src: &str) -> (Vec<WdlUse>, WdlSymbols) {
    let toks = lex_wdl(src);
    let mut uses = Vec::new();
    let mut syms = WdlSymbols::default();
    let mut stack: Vec<WdlBlock> = Vec::new();
    let mut i = 0;
    let top_name = |stack: &[WdlBlock]| {
        stack.iter().find_map(|b| match b {
            WdlBlock::Named(n) => Some(n.clone()),
            _ => None,
        })
    };
    while i < toks.len() {
        let t = &toks[i];
        match &t.tok {
            Tok::Punct("{") => {
                let kind = wdl_block_kind(&toks, i);
                // A call block: record its inputs.
                if let Some(task) = call_target(&toks, i) {
                    let end = matching_brace(&toks, i);
                    record_call_inputs(&toks[i + 1..end], top_name(&stack), &task, &mut syms);
                }
                stack.push(kind);
                i += 1;
            }
            Tok::Punct("}") => {
                stack.pop();
                i += 1;
            }
            Tok::Ident(key)
                if matches!(stack.last(), Some(WdlBlock::Runtime(_)))
                    && (key == "docker" || key == "container")
                    && matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Punct(":"))) =>
            {
                let section = match stack.last() {
                    Some(WdlBlock::Runtime(s)) => *s,
                    _ => "runtime",
                };
                let (value, next) = runtime_value(&toks, i + 2);
                let source = match (value.first(), value.last()) {
                    (Some(a), Some(b)) => src[a.start..b.end].to_owned(),
                    _ => String::new(),
                };
                uses.push(WdlUse {
                    task: top_name(&stack),
                    context: format!("{section}.{key}"),
                    line: t.line,
                    tokens: value,
                    source,
                });
                i = next;
            }
            Tok::Ident(ty) if ty == "String" => {
                // `String [?] name = <value>`
                let mut j = i + 1;
                if matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Punct("?"))) {
                    j += 1;
                }
                if let (Some(Tok::Ident(name)), Some(Tok::Punct("="))) =
                    (toks.get(j).map(|t| &t.tok), toks.get(j + 1).map(|t| &t.tok))
                    && let Some(value) = single_value(&toks, j + 2)
                    && let Some(owner) = top_name(&stack)
                {
                    syms.defaults
                        .push((owner, name.clone(), value, toks[j].line));
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    (uses, syms)
}

fn wdl_block_kind(toks: &[Token], brace: usize) -> WdlBlock {
    let prev = |n: usize| {
        brace
            .checked_sub(n)
            .and_then(|k| toks.get(k))
            .map(|t| &t.tok)
    };
    match (prev(2), prev(1)) {
        (Some(Tok::Ident(kw)), Some(Tok::Ident(name)))
            if matches!(kw.as_str(), "task" | "workflow") =>
        {
            WdlBlock::Named(name.clone())
        }
        (_, Some(Tok::Ident(kw))) if kw == "runtime" => WdlBlock::Runtime("runtime"),
        (_, Some(Tok::Ident(kw))) if kw == "requirements" => WdlBlock::Runtime("requirements"),
        _ => WdlBlock::Other,
    }
}

/// `call a.Task [as alias] {` → `Task`.
fn call_target(toks: &[Token], brace: usize) -> Option<String> {
    let mut k = brace;
    let mut names = Vec::new();
    while k > 0 {
        k -= 1;
        match &toks[k].tok {
            Tok::Ident(w) if w == "call" => {
                // names holds the tokens after `call`, reversed.
                names.reverse();
                let mut path = Vec::new();
                for n in names {
                    if n == "as" || n == "after" {
                        break;
                    }
                    if n != "." {
                        path.push(n);
                    }
                }
                return path.last().cloned();
            }
            Tok::Ident(w) => names.push(w.clone()),
            Tok::Punct(".") => names.push(".".into()),
            _ => return None,
        }
        if names.len() > 8 {
            return None;
        }
    }
    None
}

fn matching_brace(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct("{") => depth += 1,
            Tok::Punct("}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

fn record_call_inputs(body: &[Token], caller: Option<String>, task: &str, syms: &mut WdlSymbols) {
    let mut k = 0;
    while k + 2 < body.len() + 1 {
        if let (Some(Tok::Ident(name)), Some(Tok::Punct("="))) =
            (body.get(k).map(|t| &t.tok), body.get(k + 1).map(|t| &t.tok))
            && let Some(value) = single_value(body, k + 2)
        {
            syms.call_inputs.push(CallInput {
                caller: caller.clone(),
                callee: task.to_owned(),
                input: name.clone(),
                value,
                line: body[k].line,
            });
        }
        k += 1;
    }
}

/// A value that is one string or one identifier, followed by a separator (not an operator).
fn single_value(toks: &[Token], at: usize) -> Option<WdlValue> {
    let value = match toks.get(at).map(|t| &t.tok) {
        Some(Tok::Str(parts)) => WdlValue::Str(parts.clone()),
        Some(Tok::Ident(name)) if !matches!(name.as_str(), "true" | "false" | "None") => {
            WdlValue::Ident(name.clone())
        }
        _ => return None,
    };
    match toks.get(at + 1).map(|t| &t.tok) {
        Some(Tok::Punct("+" | "." | "(" | "[" | "==" | "!=" | "&&" | "||")) => None,
        _ => Some(value),
    }
}

/// The tokens of a runtime value: up to the next `key:` at this level or the closing brace.
fn runtime_value(toks: &[Token], from: usize) -> (Vec<Token>, usize) {
    let mut depth = 0i32;
    let mut k = from;
    while k < toks.len() {
        match &toks[k].tok {
            Tok::Punct("{" | "[" | "(") => depth += 1,
            Tok::Punct("]" | ")") => depth -= 1,
            Tok::Punct("}") => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Tok::Ident(_)
                if depth == 0
                    && k > from
                    && matches!(toks.get(k + 1).map(|t| &t.tok), Some(Tok::Punct(":"))) =>
            {
                break;
            }
            _ => {}
        }
        k += 1;
    }
    (toks[from..k].to_vec(), k)
}

/// Resolves WDL identifiers in a scope (a task or workflow): the values calls pass to that
/// input win (they override the default at run time), then the scope's own default; without a
/// scope, a default of that name anywhere in the files.
struct WdlResolver<'a> {
    syms: &'a [&'a WdlSymbols],
    /// Lookups left for the current image, so a file full of calls cannot make resolution
    /// combinatorial.
    budget: std::cell::Cell<usize>,
}

/// Lookups allowed per image; real workflows need a handful.
const WDL_RESOLVE_BUDGET: usize = 2_000;

impl<'a> WdlResolver<'a> {
    fn new(syms: &'a [&'a WdlSymbols]) -> Self {
        Self {
            syms,
            budget: std::cell::Cell::new(WDL_RESOLVE_BUDGET),
        }
    }
}

#[derive(Debug, Clone)]
struct Resolved {
    value: String,
    how: String,
}

fn push_distinct(out: &mut Vec<Resolved>, r: Resolved) {
    if !out.iter().any(|o| o.value == r.value) {
        out.push(r);
    }
}

impl WdlResolver<'_> {
    fn resolve_ident(&self, scope: Option<&str>, name: &str, depth: usize) -> Vec<Resolved> {
        let mut out = Vec::new();
        let left = self.budget.get();
        if depth > 6 || left == 0 {
            return out;
        }
        self.budget.set(left - 1);
        let defaults = || self.syms.iter().flat_map(|s| s.defaults.iter());
        if let Some(scope) = scope {
            let calls: Vec<&CallInput> = self
                .syms
                .iter()
                .flat_map(|s| s.call_inputs.iter())
                .filter(|c| c.callee == scope && c.input == name)
                .collect();
            if !calls.is_empty() {
                for call in calls {
                    for r in self.resolve_value(call.caller.as_deref(), &call.value, depth + 1) {
                        push_distinct(
                            &mut out,
                            Resolved {
                                value: r.value,
                                how: format!(
                                    "the value a call of `{scope}` passes to `{name}` (line {}){}",
                                    call.line, r.how
                                ),
                            },
                        );
                    }
                }
                return out;
            }
            if let Some((_, _, value, line)) =
                defaults().find(|(o, n, _, _)| o == scope && n == name)
            {
                for r in self.resolve_value(Some(scope), value, depth + 1) {
                    push_distinct(
                        &mut out,
                        Resolved {
                            value: r.value,
                            how: format!("the default of `{name}` (line {line}){}", r.how),
                        },
                    );
                }
            }
            return out;
        }
        for (owner, _, value, line) in defaults().filter(|(_, n, _, _)| n == name) {
            for r in self.resolve_value(Some(owner), value, depth + 1) {
                push_distinct(
                    &mut out,
                    Resolved {
                        value: r.value,
                        how: format!("the default of `{name}` (line {line}){}", r.how),
                    },
                );
            }
        }
        out
    }

    fn resolve_value(&self, scope: Option<&str>, value: &WdlValue, depth: usize) -> Vec<Resolved> {
        match value {
            WdlValue::Ident(n) => self
                .resolve_ident(scope, n, depth)
                .into_iter()
                .map(|r| Resolved {
                    value: r.value,
                    how: format!(", from {}", r.how),
                })
                .collect(),
            WdlValue::Str(parts) => self
                .resolve_parts(scope, parts, depth)
                .into_iter()
                .collect(),
        }
    }

    /// A string with `~{name}` placeholders; each must resolve to exactly one value.
    fn resolve_parts(&self, scope: Option<&str>, parts: &[Part], depth: usize) -> Option<Resolved> {
        let mut value = String::new();
        let mut hows = Vec::new();
        for p in parts {
            match p {
                Part::Text(t) => value.push_str(t),
                Part::Expr(e, _) => {
                    let name = e.trim();
                    if name.is_empty() || !name.chars().all(is_ident_char) {
                        return None;
                    }
                    let found = self.resolve_ident(scope, name, depth + 1);
                    let [r] = found.as_slice() else {
                        return None;
                    };
                    value.push_str(&r.value);
                    hows.push(format!("`~{{{name}}}` = `{}` from {}", r.value, r.how));
                }
            }
        }
        Some(Resolved {
            value,
            how: if hows.is_empty() {
                String::new()
            } else {
                format!(" with {}", hows.join(", "))
            },
        })
    }
}

fn resolve_wdl_uses(uses: &[WdlUse], resolver: &WdlResolver) -> Vec<FoundImage> {
    let mut out = Vec::new();
    for u in uses {
        let task = u.task.as_deref();
        let toks: Vec<&Token> = u.tokens.iter().collect();
        // Candidate values: one string or identifier, or the elements of a list.
        let mut candidates: Vec<(WdlValue, usize)> = Vec::new();
        let simple = |t: &Token| match &t.tok {
            Tok::Str(p) => Some(WdlValue::Str(p.clone())),
            Tok::Ident(n) => Some(WdlValue::Ident(n.clone())),
            _ => None,
        };
        let is_list = matches!(toks.first().map(|t| &t.tok), Some(Tok::Punct("[")))
            && matches!(toks.last().map(|t| &t.tok), Some(Tok::Punct("]")));
        let mut note = None;
        if toks.len() == 1 {
            if let Some(v) = simple(toks[0]) {
                candidates.push((v, toks[0].line));
            }
        } else if is_list {
            let inner = &toks[1..toks.len() - 1];
            let elements: Vec<&&Token> = inner
                .iter()
                .filter(|t| !matches!(t.tok, Tok::Punct(",")))
                .collect();
            if elements.iter().all(|t| simple(t).is_some()) {
                for t in &elements {
                    if let Some(v) = simple(t) {
                        candidates.push((v, t.line));
                    }
                }
                note = Some(format!(
                    "one of {} candidate images in a list: the engine uses the first one it can pull",
                    elements.len()
                ));
            }
        } else {
            // An expression (`select_first([x, "ubuntu:22.04"])`, `if … then … else …`):
            // report its literal strings and the identifiers we can resolve.
            for t in &toks {
                if let Tok::Str(_) = t.tok
                    && let Some(v) = simple(t)
                {
                    candidates.push((v, t.line));
                }
            }
            if !candidates.is_empty() {
                note = Some(format!(
                    "a literal inside the expression `{}`: the run may use another image",
                    u.source
                ));
            }
        }
        if candidates.is_empty() {
            out.push(unresolved(
                u.source.clone(),
                u.line,
                &u.context,
                "the image is an expression",
            ));
            continue;
        }
        for (value, line) in candidates {
            resolver.budget.set(WDL_RESOLVE_BUDGET);
            let resolved = resolver.resolve_value(task, &value, 0);
            let several = resolved.len() > 1;
            let mut found: Vec<FoundImage> = match &value {
                WdlValue::Str(parts) if plain_text(parts).is_some() => resolved
                    .into_iter()
                    .map(|r| FoundImage::literal(r.value, line, &u.context))
                    .collect(),
                WdlValue::Str(_) => resolved
                    .into_iter()
                    .map(|r| {
                        let mut f = FoundImage::literal(r.value, line, &u.context);
                        f.add_note(format!(
                            "interpolated{} (a run can override parameters)",
                            r.how
                        ));
                        f
                    })
                    .collect(),
                WdlValue::Ident(name) => resolved
                    .into_iter()
                    .map(|r| {
                        let mut f = FoundImage::literal(r.value, line, &u.context);
                        f.add_note(format!(
                            "the image is the parameter `{name}`; resolved {} (a run can override it)",
                            r.how.trim_start_matches(", ")
                        ));
                        f
                    })
                    .collect(),
            };
            if found.is_empty() {
                found.push(match &value {
                    WdlValue::Ident(name) => unresolved(
                        name.clone(),
                        line,
                        &u.context,
                        &format!(
                            "the image is the parameter `{name}`, which has no default or call value in these files: the run must pass it, and the map must cover what it passes"
                        ),
                    ),
                    WdlValue::Str(_) => unresolved(
                        u.source.clone(),
                        line,
                        &u.context,
                        "the image is built from parameters without defaults here",
                    ),
                });
            }
            for mut f in found {
                if several {
                    f.add_note("calls pass different values, so each is listed".into());
                }
                if let Some(n) = &note {
                    f.add_note(n.clone());
                }
                out.push(f);
            }
        }
    }
    out
}

fn unresolved(reference: String, line: usize, context: &str, why: &str) -> FoundImage {
    FoundImage {
        reference,
        line,
        context: context.to_owned(),
        note: Some(format!(
            "not resolved: {why}; check which image a run really uses"
        )),
        resolved: false,
    }
}

/// Images of a WDL file: `runtime { docker: … }`, `runtime { container: … }` (WDL 1.1),
/// `requirements { container: … }` (1.2), lists of candidates, and parameters resolved from
/// defaults and call inputs in the same file.
pub fn images_in_wdl(text: &str) -> Vec<FoundImage> {
    let (uses, syms) = analyse_wdl(text);
    let all = [&syms];
    resolve_wdl_uses(&uses, &WdlResolver::new(&all))
}

// =============================================================================================
// Nextflow
// =============================================================================================

fn lex_groovy(src: &str, first_line: usize) -> Vec<Token> {
    let mut c = Cursor::new(src, first_line);
    let mut out = Vec::new();
    while let Some(ch) = c.peek() {
        let (start, line) = (c.pos, c.line);
        if ch == '\n' {
            c.bump();
            out.push(Token {
                tok: Tok::Newline,
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        if ch.is_whitespace() {
            c.bump();
            continue;
        }
        if c.starts_with("//") {
            c.skip_to_eol();
            continue;
        }
        if c.starts_with("/*") {
            c.skip(2);
            while c.peek().is_some() && !c.starts_with("*/") {
                c.bump();
            }
            c.skip(2);
            continue;
        }
        if ch == '\\' && c.peek_at(1) == Some('\n') {
            c.skip(2);
            continue;
        }
        if ch == '"' || ch == '\'' {
            let triple = if ch == '"' { "\"\"\"" } else { "'''" };
            let quote = if c.starts_with(triple) {
                triple
            } else if ch == '"' {
                "\""
            } else {
                "'"
            };
            c.skip(quote.len());
            let parts = read_string(&mut c, quote, ch == '"', false, true);
            out.push(Token {
                tok: Tok::Str(parts),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        if is_ident_start(ch) || ch == '$' {
            c.bump();
            while c.peek().is_some_and(is_ident_char) {
                c.bump();
            }
            out.push(Token {
                tok: Tok::Ident(src[start..c.pos].to_owned()),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        if let Some(p) = punct_at(&c) {
            c.skip(p.chars().count());
            out.push(Token {
                tok: Tok::Punct(p),
                line,
                start,
                end: c.pos,
            });
            continue;
        }
        c.bump();
        out.push(Token {
            tok: Tok::Other(ch),
            line,
            start,
            end: c.pos,
        });
    }
    out
}

/// A `container` setting before parameters and `docker.registry` are applied.
#[derive(Debug, Clone)]
struct NfUse {
    context: String,
    line: usize,
    src: String,
    tokens: Vec<Token>,
}

/// Settings that apply across a Nextflow pipeline's files.
#[derive(Debug, Clone, Default)]
struct NfSymbols {
    params: Vec<(String, String, usize)>,
    docker_registry: Option<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
enum NfScope {
    Process(String),
    ProcessConfig,
    WithName(String),
    WithLabel(String),
    Params,
    Docker,
    Other,
}

fn tok_at(toks: &[Token], k: usize) -> Option<&Tok> {
    toks.get(k).map(|t| &t.tok)
}

fn analyse_nextflow(src: &str) -> (Vec<NfUse>, NfSymbols) {
    let toks = lex_groovy(src, 1);
    let mut uses = Vec::new();
    let mut syms = NfSymbols::default();
    let mut stack: Vec<NfScope> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].tok {
            Tok::Punct("{") => {
                stack.push(nf_scope(&toks, i, src));
                i += 1;
            }
            Tok::Punct("}") => {
                stack.pop();
                i += 1;
            }
            Tok::Ident(word) => {
                let after_dot = matches!(
                    i.checked_sub(1).and_then(|k| tok_at(&toks, k)),
                    Some(Tok::Punct("."))
                );
                let statement_start = i == 0
                    || matches!(
                        tok_at(&toks, i - 1),
                        Some(Tok::Newline | Tok::Punct("{" | ";" | "}"))
                    );
                // `a.b.c = value` at the start of a statement.
                if statement_start && !after_dot {
                    let mut path = vec![word.clone()];
                    let mut k = i + 1;
                    while let (Some(Tok::Punct(".")), Some(Tok::Ident(next))) =
                        (tok_at(&toks, k), tok_at(&toks, k + 1))
                    {
                        path.push(next.clone());
                        k += 2;
                    }
                    let assigns = matches!(tok_at(&toks, k), Some(Tok::Punct("=")));
                    let (expr, next) = expression_to_eol(&toks, if assigns { k + 1 } else { k });
                    let scope = stack.last().cloned();
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    match (path.as_slice(), assigns) {
                        (["container"], false) if !expr.is_empty() => {
                            let context = scope_context(&stack)
                                .unwrap_or_else(|| "container directive".to_owned());
                            uses.push(nf_use(src, context, &toks[i], expr));
                            i = next;
                            continue;
                        }
                        (["container"], true) => {
                            let context = scope_context(&stack)
                                .unwrap_or_else(|| "container setting".to_owned());
                            uses.push(nf_use(src, context, &toks[i], expr));
                            i = next;
                            continue;
                        }
                        (["process", "container"], true) => {
                            uses.push(nf_use(src, "process.container".into(), &toks[i], expr));
                            i = next;
                            continue;
                        }
                        (["params", name], true) => {
                            if let Some(v) = literal_of(&expr) {
                                syms.params.push(((*name).to_owned(), v, toks[i].line));
                            }
                        }
                        ([name], true) if scope == Some(NfScope::Params) => {
                            if let Some(v) = literal_of(&expr) {
                                syms.params.push(((*name).to_owned(), v, toks[i].line));
                            }
                        }
                        (["docker", "registry"], true) => {
                            if let Some(v) = literal_of(&expr) {
                                syms.docker_registry = Some((v, toks[i].line));
                            }
                        }
                        (["registry"], true) if scope == Some(NfScope::Docker) => {
                            if let Some(v) = literal_of(&expr) {
                                syms.docker_registry = Some((v, toks[i].line));
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    (uses, syms)
}

fn nf_use(src: &str, context: String, at: &Token, expr: Vec<Token>) -> NfUse {
    let text = match (expr.first(), expr.last()) {
        (Some(a), Some(b)) => src[a.start..b.end].to_owned(),
        _ => String::new(),
    };
    NfUse {
        context,
        line: at.line,
        src: text,
        tokens: expr,
    }
}

fn scope_context(stack: &[NfScope]) -> Option<String> {
    stack.iter().rev().find_map(|s| match s {
        NfScope::WithName(sel) => Some(format!("withName:{sel} container")),
        NfScope::WithLabel(sel) => Some(format!("withLabel:{sel} container")),
        NfScope::ProcessConfig => Some("process.container".to_owned()),
        NfScope::Process(name) => Some(format!("container directive (process {name})")),
        _ => None,
    })
}

fn nf_scope(toks: &[Token], brace: usize, src: &str) -> NfScope {
    // Walk back over the selector to the keyword on the same statement.
    let prev = |n: usize| brace.checked_sub(n).and_then(|k| tok_at(toks, k));
    match (prev(3), prev(2), prev(1)) {
        (Some(Tok::Ident(kw)), Some(Tok::Punct(":")), Some(sel))
            if kw == "withName" || kw == "withLabel" =>
        {
            let selector = match sel {
                Tok::Str(parts) => plain_text(parts).unwrap_or_default(),
                Tok::Ident(name) => name.clone(),
                _ => String::new(),
            };
            if kw == "withName" {
                NfScope::WithName(selector)
            } else {
                NfScope::WithLabel(selector)
            }
        }
        (_, Some(Tok::Ident(kw)), Some(Tok::Ident(name))) if kw == "process" => {
            NfScope::Process(name.clone())
        }
        (_, _, Some(Tok::Ident(kw))) if kw == "process" => NfScope::ProcessConfig,
        (_, _, Some(Tok::Ident(kw))) if kw == "params" => NfScope::Params,
        (_, _, Some(Tok::Ident(kw))) if kw == "docker" => NfScope::Docker,
        _ => {
            // `withName: 'A|B' {` written over a selector of several tokens: find `withName :`.
            let mut k = brace;
            while k > 0 {
                k -= 1;
                match tok_at(toks, k) {
                    Some(Tok::Newline | Tok::Punct("{" | "}")) => break,
                    Some(Tok::Ident(kw)) if kw == "withName" || kw == "withLabel" => {
                        let from = toks.get(k + 2).map_or(0, |t| t.start);
                        let to = toks.get(brace).map_or(from, |t| t.start);
                        let sel = src
                            .get(from..to)
                            .unwrap_or_default()
                            .trim()
                            .trim_matches(['\'', '"'])
                            .to_owned();
                        return if kw == "withName" {
                            NfScope::WithName(sel)
                        } else {
                            NfScope::WithLabel(sel)
                        };
                    }
                    _ => {}
                }
            }
            NfScope::Other
        }
    }
}

/// Tokens up to the end of the statement: a newline outside brackets, unless the line ends in
/// an operator that continues it.
fn expression_to_eol(toks: &[Token], from: usize) -> (Vec<Token>, usize) {
    let mut depth = 0i32;
    let mut k = from;
    while k < toks.len() {
        match &toks[k].tok {
            Tok::Punct("{" | "[" | "(") => depth += 1,
            Tok::Punct("}" | "]" | ")") => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Tok::Punct(";") if depth == 0 => break,
            Tok::Newline if depth == 0 => {
                let continues = k > from
                    && matches!(
                        &toks[k - 1].tok,
                        Tok::Punct("?" | ":" | "?:" | "+" | "&&" | "||" | "=" | "==" | "!=" | ",")
                    );
                let next_continues = matches!(
                    toks[k + 1..]
                        .iter()
                        .find(|t| t.tok != Tok::Newline)
                        .map(|t| &t.tok),
                    Some(Tok::Punct("?" | ":" | "?:" | "+"))
                );
                if !(continues || next_continues) {
                    break;
                }
            }
            _ => {}
        }
        k += 1;
    }
    let expr = toks[from..k]
        .iter()
        .filter(|t| t.tok != Tok::Newline)
        .cloned()
        .collect();
    (expr, k)
}

fn literal_of(expr: &[Token]) -> Option<String> {
    match expr {
        [
            Token {
                tok: Tok::Str(parts),
                ..
            },
        ] => plain_text(parts),
        _ => None,
    }
}

/// What a Nextflow expression may evaluate to.
#[derive(Debug, Clone)]
struct Candidate {
    value: Option<String>,
    line: usize,
    notes: Vec<String>,
}

struct NfEval<'a> {
    params: &'a [(String, String, usize)],
}

fn split_top(toks: &[Token], at: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Punct("{" | "[" | "(") => depth += 1,
            Tok::Punct("}" | "]" | ")") => depth -= 1,
            Tok::Punct(p) if depth == 0 && *p == at => return Some(k),
            _ => {}
        }
    }
    None
}

fn looks_like_non_docker(value: &str) -> bool {
    value.contains("://") || value.ends_with(".sif") || value.ends_with(".img")
}

impl NfEval<'_> {
    fn eval(&self, toks: &[Token], depth: usize) -> Vec<Candidate> {
        let line = toks.first().map_or(0, |t| t.line);
        if depth > 6 || toks.is_empty() {
            return vec![Candidate {
                value: None,
                line,
                notes: vec![],
            }];
        }
        // A closure `{ … }`: its body.
        if matches!(toks.first().map(|t| &t.tok), Some(Tok::Punct("{")))
            && matches!(toks.last().map(|t| &t.tok), Some(Tok::Punct("}")))
        {
            return self.eval(&toks[1..toks.len() - 1], depth + 1);
        }
        // `a ?: b`
        if let Some(k) = split_top(toks, "?:") {
            let mut left = self.eval(&toks[..k], depth + 1);
            let right = self.eval(&toks[k + 1..], depth + 1);
            left.retain(|c| c.value.is_some());
            let mut out: Vec<Candidate> = left;
            for mut c in right {
                c.notes
                    .push("the fallback of a `?:` expression: a run may use another image".into());
                out.push(c);
            }
            return out;
        }
        // `cond ? a : b`
        if let Some(q) = split_top(toks, "?")
            && let Some(colon) = split_top(&toks[q + 1..], ":").map(|c| c + q + 1)
        {
            return self.ternary(&toks[..q], &toks[q + 1..colon], &toks[colon + 1..], depth);
        }
        // `a + b`
        if let Some(k) = split_top(toks, "+") {
            let left = self.eval(&toks[..k], depth + 1);
            let right = self.eval(&toks[k + 1..], depth + 1);
            if let ([l], [r]) = (left.as_slice(), right.as_slice())
                && let (Some(a), Some(b)) = (&l.value, &r.value)
            {
                let mut notes = l.notes.clone();
                notes.extend(r.notes.iter().cloned());
                return vec![Candidate {
                    value: Some(format!("{a}{b}")),
                    line,
                    notes,
                }];
            }
            return vec![Candidate {
                value: None,
                line,
                notes: vec![],
            }];
        }
        // `( … )`
        if matches!(toks.first().map(|t| &t.tok), Some(Tok::Punct("(")))
            && matches!(toks.last().map(|t| &t.tok), Some(Tok::Punct(")")))
        {
            return self.eval(&toks[1..toks.len() - 1], depth + 1);
        }
        match toks {
            [t] => match &t.tok {
                Tok::Str(parts) => vec![self.string(parts, t.line, depth)],
                _ => vec![Candidate {
                    value: None,
                    line,
                    notes: vec![],
                }],
            },
            _ => {
                // `params.name`
                let words: Vec<&str> = toks
                    .iter()
                    .filter_map(|t| match &t.tok {
                        Tok::Ident(w) => Some(w.as_str()),
                        Tok::Punct(".") => Some("."),
                        _ => None,
                    })
                    .collect();
                if words.len() == toks.len() {
                    let path = words.concat();
                    if let Some(c) = self.param(&path, line) {
                        return vec![c];
                    }
                }
                vec![Candidate {
                    value: None,
                    line,
                    notes: vec![],
                }]
            }
        }
    }

    fn param(&self, path: &str, line: usize) -> Option<Candidate> {
        let name = path.strip_prefix("params.")?;
        let (_, value, at) = self.params.iter().find(|(n, _, _)| n == name)?;
        Some(Candidate {
            value: Some(value.clone()),
            line,
            notes: vec![format!(
                "from the default of `params.{name}` (line {at}; a run can override it)"
            )],
        })
    }

    fn string(&self, parts: &[Part], line: usize, depth: usize) -> Candidate {
        let mut value = String::new();
        let mut notes = Vec::new();
        let mut line = line;
        for p in parts {
            match p {
                Part::Text(t) => value.push_str(t),
                Part::Expr(e, at) => {
                    let inner = lex_groovy(e, *at)
                        .into_iter()
                        .filter(|t| t.tok != Tok::Newline)
                        .collect::<Vec<_>>();
                    let candidates = self.eval(&inner, depth + 1);
                    match candidates.as_slice() {
                        [c] if c.value.is_some() => {
                            value.push_str(c.value.as_deref().unwrap_or_default());
                            notes.extend(c.notes.iter().cloned());
                            if parts.len() == 1 {
                                line = c.line;
                            }
                        }
                        _ => {
                            return Candidate {
                                value: None,
                                line,
                                notes,
                            };
                        }
                    }
                }
            }
        }
        Candidate {
            value: Some(value),
            line,
            notes,
        }
    }

    /// nf-core writes `engine == 'singularity' … ? '<https URL>' : '<docker image>'`: take the
    /// branch a Docker engine (HealthOmics) uses.
    fn ternary(&self, cond: &[Token], a: &[Token], b: &[Token], depth: usize) -> Vec<Candidate> {
        let yes = self.eval(a, depth + 1);
        let no = self.eval(b, depth + 1);
        let non_docker = |cs: &[Candidate]| {
            cs.iter()
                .all(|c| c.value.as_deref().is_some_and(looks_like_non_docker))
        };
        let mentions = |word: &str| {
            cond.iter().any(|t| match &t.tok {
                Tok::Ident(w) => w.to_ascii_lowercase().contains(word),
                Tok::Str(p) => plain_text(p).is_some_and(|s| s.contains(word)),
                _ => false,
            })
        };
        let note = |mut cs: Vec<Candidate>, other: &[Candidate]| {
            let skipped = other
                .iter()
                .filter_map(|c| c.value.clone())
                .collect::<Vec<_>>();
            for c in &mut cs {
                c.notes.push(if skipped.is_empty() {
                    "the Docker branch of a conditional".to_owned()
                } else {
                    format!(
                        "the Docker branch of a conditional (not the Singularity one: {})",
                        skipped.join(", ")
                    )
                });
            }
            cs
        };
        if non_docker(&yes) && !non_docker(&no) {
            return note(no, &yes);
        }
        if non_docker(&no) && !non_docker(&yes) {
            return note(yes, &no);
        }
        let negated = cond.iter().any(|t| matches!(t.tok, Tok::Punct("!=")));
        if mentions("singularity") && !negated {
            return note(no, &yes);
        }
        if mentions("docker") && !negated {
            return note(yes, &no);
        }
        let mut out = yes;
        out.extend(no);
        for c in &mut out {
            c.notes
                .push("one branch of a conditional: the run uses one of them".into());
        }
        out
    }
}

/// Nextflow's rule: a name whose first component has no `.` or `:` (and any name without `/`)
/// gets `docker.registry` in front.
fn apply_registry(image: &str, registry: &str) -> Option<String> {
    let absolute = image
        .split_once('/')
        .is_some_and(|(first, _)| first.contains('.') || first.contains(':'));
    if absolute || registry.is_empty() {
        return None;
    }
    Some(format!("{}/{image}", registry.trim_end_matches('/')))
}

fn resolve_nf_uses(uses: &[NfUse], syms: &NfSymbols) -> Vec<FoundImage> {
    let eval = NfEval {
        params: &syms.params,
    };
    let mut out = Vec::new();
    for u in uses {
        for c in eval.eval(&u.tokens, 0) {
            let Some(mut value) = c.value else {
                out.push(unresolved(
                    u.src.clone(),
                    u.line,
                    &u.context,
                    "the container is an expression",
                ));
                continue;
            };
            let mut notes = c.notes.clone();
            if value.trim().is_empty() {
                continue;
            }
            if let Some(rest) = value.strip_prefix("docker://") {
                value = rest.to_owned();
                notes.push("`docker://` dropped".into());
            }
            if let Some((registry, at)) = &syms.docker_registry
                && let Some(full) = apply_registry(&value, registry)
            {
                notes.push(format!(
                    "`{value}` resolved against docker.registry = '{registry}' (line {at} of the config), as Nextflow does"
                ));
                value = full;
            }
            let mut found = FoundImage::literal(value, c.line.max(u.line), &u.context);
            for n in notes {
                found.add_note(n);
            }
            out.push(found);
        }
    }
    out
}

/// Images of Nextflow text (a `.nf` script or a `.config`): `container` directives, `container =`
/// in `process`, `withName:` and `withLabel:` scopes, `process.container`, nf-core's
/// Singularity/Docker ternaries (the Docker branch), `params.*` defaults, and `docker.registry`
/// applied to bare names. Parameters and the registry are looked up in this text only; use
/// [`scan_sources`] (or `crate::workflow_files::scan_path`) to resolve them across a pipeline's
/// files.
pub fn images_in_nextflow(text: &str) -> Vec<FoundImage> {
    let (uses, syms) = analyse_nextflow(text);
    resolve_nf_uses(&uses, &syms)
}

// =============================================================================================
// CWL
// =============================================================================================

/// True when YAML text is a CWL document, so unrelated `.yml` files are left alone.
pub fn looks_like_cwl(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start_matches('\u{feff}');
        l.starts_with("cwlVersion:")
            || l.starts_with("\"cwlVersion\"")
            || matches!(
                l.trim_end(),
                "class: CommandLineTool" | "class: Workflow" | "class: ExpressionTool"
            )
    })
}

/// Images of a CWL document (YAML or JSON): every `DockerRequirement.dockerPull` under
/// `requirements` or `hints`, in list form (`- class: DockerRequirement`), map form
/// (`DockerRequirement: {dockerPull: …}`) and flow style, in tools and in steps' inline `run`.
pub fn images_in_cwl(text: &str) -> Vec<FoundImage> {
    if text.trim_start().starts_with('{')
        && let Ok(value) = serde_json::from_str::<Value>(text)
    {
        return cwl_json(text, &value);
    }
    cwl_yaml(text)
}

fn cwl_json(text: &str, value: &Value) -> Vec<FoundImage> {
    let mut found = Vec::new();
    walk_json(value, &mut Vec::new(), &mut found);
    // The k-th dockerPull in document order is the k-th `"dockerPull"` key in the text.
    let lines: Vec<usize> = text
        .match_indices("\"dockerPull\"")
        .map(|(pos, _)| text[..pos].matches('\n').count() + 1)
        .collect();
    found
        .into_iter()
        .enumerate()
        .map(|(k, (path, image))| {
            let line = lines.get(k).copied().unwrap_or(0);
            cwl_found(image, line, &path)
        })
        .collect()
}

fn walk_json(value: &Value, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(image)) = map.get("dockerPull") {
                out.push((cwl_context(path), image.clone()));
            }
            for (key, child) in map {
                if key == "dockerPull" {
                    continue;
                }
                path.push(key.clone());
                walk_json(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for item in items {
                walk_json(item, path, out);
            }
        }
        _ => {}
    }
}

/// `requirements.DockerRequirement.dockerPull`, or `hints.…`, from the keys above the value.
fn cwl_context(path: &[String]) -> String {
    let section = path
        .iter()
        .rev()
        .find(|k| *k == "requirements" || *k == "hints")
        .map_or("requirements", String::as_str);
    let step = path
        .iter()
        .position(|k| k == "steps")
        .and_then(|p| path.get(p + 1))
        .filter(|s| !matches!(s.as_str(), "run" | "requirements" | "hints" | "in" | "out"));
    match step {
        Some(step) => format!("steps.{step}.{section}.DockerRequirement.dockerPull"),
        None => format!("{section}.DockerRequirement.dockerPull"),
    }
}

fn cwl_found(image: String, line: usize, context: &str) -> FoundImage {
    let expression = image.starts_with("$(") || image.starts_with("${");
    if expression {
        return unresolved(image, line, context, "dockerPull is a CWL expression");
    }
    FoundImage::literal(image, line, context)
}

struct YamlLine<'a> {
    no: usize,
    /// Column of the content (after `- ` for list items).
    col: usize,
    /// Column of the `-` for list items.
    dash: Option<usize>,
    key: Option<&'a str>,
    content: &'a str,
}

fn yaml_lines(text: &str) -> Vec<YamlLine<'_>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let (dash, col, content) = match trimmed
            .strip_prefix("- ")
            .or_else(|| (trimmed == "-").then_some(""))
        {
            Some(rest) => {
                let rest_trim = rest.trim_start();
                (
                    Some(indent),
                    indent + 2 + (rest.len() - rest_trim.len()),
                    rest_trim,
                )
            }
            None => (None, indent, trimmed),
        };
        out.push(YamlLine {
            no: n + 1,
            col,
            dash,
            key: yaml_key(content),
            content,
        });
    }
    out
}

fn yaml_key(content: &str) -> Option<&str> {
    let (key, _) = if let Some(rest) = content.strip_prefix('"') {
        let end = rest.find('"')?;
        let after = rest[end + 1..].trim_start();
        after.starts_with(':').then_some((&rest[..end], ()))?
    } else {
        let colon = content.find(':')?;
        let key = &content[..colon];
        let after = &content[colon + 1..];
        if key.is_empty()
            || key.contains([' ', '{', '[', ',', '"', '\''])
            || !(after.is_empty() || after.starts_with(' '))
        {
            return None;
        }
        (key, ())
    };
    Some(key)
}

/// The keys above line `idx`, innermost first.
fn yaml_ancestors<'a>(lines: &'a [YamlLine<'a>], idx: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut threshold = lines[idx].dash.unwrap_or(lines[idx].col);
    for l in lines[..idx].iter().rev() {
        if threshold == 0 {
            break;
        }
        if let Some(d) = l.dash
            && d < threshold
        {
            // The list item we are in; its own key is a sibling, not a parent.
            threshold = d;
            continue;
        }
        if l.dash.is_none() && l.col < threshold {
            if let Some(k) = l.key {
                out.push(k);
            }
            threshold = l.col;
        }
    }
    out
}

/// Finds `dockerPull: <value>` (or `"dockerPull": "<value>"`) in a line; returns the value.
fn docker_pull_value(content: &str) -> Option<(usize, String)> {
    let mut search = 0;
    while let Some(pos) = content[search..].find("dockerPull") {
        let at = search + pos;
        search = at + "dockerPull".len();
        let before_ok = at == 0
            || content[..at]
                .chars()
                .next_back()
                .is_some_and(|c| matches!(c, ' ' | '{' | ',' | '"' | '\''));
        let mut rest = &content[search..];
        rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        if !before_ok {
            continue;
        }
        let rest = rest.trim_start();
        let value = if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.chars();
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else if let Some(q) = rest.strip_prefix('\'') {
            let mut v = String::new();
            let mut chars = q.chars().peekable();
            while let Some(ch) = chars.next() {
                if ch == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        v.push('\'');
                        continue;
                    }
                    break;
                }
                v.push(ch);
            }
            v
        } else {
            let end = rest
                .find(" #")
                .into_iter()
                .chain(rest.find([',', '}', ']']))
                .min()
                .unwrap_or(rest.len());
            rest[..end].trim().to_owned()
        };
        if value.is_empty() {
            return None;
        }
        return Some((at, value));
    }
    None
}

fn cwl_yaml(text: &str) -> Vec<FoundImage> {
    let lines = yaml_lines(text);
    let mut out = Vec::new();
    for (idx, line) in lines.iter().enumerate() {
        let Some((at, value)) = docker_pull_value(line.content) else {
            continue;
        };
        // Keys written before it on the same line (flow style) are innermost.
        let mut path: Vec<String> = yaml_ancestors(&lines, idx)
            .into_iter()
            .rev()
            .map(str::to_owned)
            .collect();
        let before = &line.content[..at];
        for section in ["requirements", "hints"] {
            if before.contains(&format!("{section}:")) {
                path.push(section.to_owned());
            }
        }
        out.push(cwl_found(value, line.no, &cwl_context(&path)));
    }
    out
}

// =============================================================================================
// Scanning
// =============================================================================================

/// Which extractor a file name calls for (`.yml`/`.yaml` only when the text is CWL).
fn engine_for(path: &str, text: &str) -> Option<Engine> {
    let lower = path.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "wdl" => Some(Engine::Wdl),
        "nf" | "config" => Some(Engine::Nextflow),
        "cwl" => Some(Engine::Cwl),
        "yml" | "yaml" if looks_like_cwl(text) => Some(Engine::Cwl),
        _ => None,
    }
}

/// Whether a file name has an extension a workflow file can have (the walk in
/// `crate::workflow_files` reads only these; `scan_sources` then decides from the text).
pub fn is_candidate_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".wdl", ".nf", ".config", ".cwl", ".yml", ".yaml"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Extracts the images of already-read files (`(relative path, text)`), resolving WDL
/// parameters, Nextflow `params.*` and `docker.registry` across all of them. Pure:
/// `crate::workflow_files::scan_path` reads the files, callers with files from elsewhere (S3, a
/// zip) call this directly.
pub fn scan_sources(sources: &[(String, String)]) -> ScanResult {
    let mut result = ScanResult::default();
    let mut wdl: Vec<(usize, Vec<WdlUse>, WdlSymbols)> = Vec::new();
    let mut nf: Vec<(usize, Vec<NfUse>)> = Vec::new();
    let mut nf_syms: Vec<(bool, NfSymbols)> = Vec::new();
    for (path, text) in sources {
        let Some(engine) = engine_for(path, text) else {
            continue;
        };
        let slot = result.files.len();
        result.files.push(FileImages {
            path: path.clone(),
            engine,
            images: Vec::new(),
        });
        match engine {
            Engine::Wdl => {
                let (uses, syms) = analyse_wdl(text);
                wdl.push((slot, uses, syms));
            }
            Engine::Nextflow => {
                let (uses, syms) = analyse_nextflow(text);
                let is_main_config =
                    path == "nextflow.config" || path.ends_with("/nextflow.config");
                nf.push((slot, uses));
                nf_syms.push((is_main_config, syms));
            }
            Engine::Cwl => result.files[slot].images = images_in_cwl(text),
        }
    }

    let wdl_syms: Vec<&WdlSymbols> = wdl.iter().map(|(_, _, s)| s).collect();
    let resolver = WdlResolver::new(&wdl_syms);
    for (slot, uses, _) in &wdl {
        result.files[*slot].images = resolve_wdl_uses(uses, &resolver);
    }

    // nextflow.config wins over other files for params and docker.registry.
    nf_syms.sort_by_key(|(main, _)| !*main);
    let mut merged = NfSymbols::default();
    for (_, s) in &nf_syms {
        for p in &s.params {
            if !merged.params.iter().any(|(n, _, _)| *n == p.0) {
                merged.params.push(p.clone());
            }
        }
        if merged.docker_registry.is_none() {
            merged.docker_registry = s.docker_registry.clone();
        }
    }
    result.docker_registry = merged.docker_registry.as_ref().map(|(r, _)| r.clone());
    for (slot, uses) in &nf {
        result.files[*slot].images = resolve_nf_uses(uses, &merged);
    }

    let mut counts: HashMap<Engine, usize> = HashMap::new();
    for f in &result.files {
        *counts.entry(f.engine).or_default() += 1;
    }
    let mut engines: Vec<Engine> = counts.keys().copied().collect();
    engines.sort();
    result.engine = engines
        .iter()
        .copied()
        .max_by_key(|e| (counts.get(e).copied().unwrap_or(0), std::cmp::Reverse(*e)));
    result.engines = engines;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (reference, line, context, resolved) of each finding, what the tables compare.
    type Row = (String, usize, String, bool);

    fn rows(found: &[FoundImage]) -> Vec<Row> {
        found
            .iter()
            .map(|f| (f.reference.clone(), f.line, f.context.clone(), f.resolved))
            .collect()
    }

    fn row(reference: &str, line: usize, context: &str) -> Row {
        (reference.into(), line, context.into(), true)
    }

    fn unresolved_row(reference: &str, line: usize, context: &str) -> Row {
        (reference.into(), line, context.into(), false)
    }

    fn note_of(found: &[FoundImage], k: usize) -> String {
        found
            .get(k)
            .and_then(|f| f.note.clone())
            .unwrap_or_default()
    }

    // ----- WDL -----

    #[test]
    fn wdl_shapes() {
        let rt = "runtime.docker";
        let cases: Vec<(&str, Vec<Row>)> = vec![
            (
                "task a {\n  runtime {\n    docker: \"ubuntu:22.04\"\n  }\n}",
                vec![row("ubuntu:22.04", 3, rt)],
            ),
            (
                "task a {\n  runtime { docker: 'quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8' cpu: 2 }\n}",
                vec![row("quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8", 2, rt)],
            ),
            (
                "version 1.1\ntask a {\n  runtime {\n    container: \"ubuntu:22.04\"\n    memory: \"2 GiB\"\n  }\n}",
                vec![row("ubuntu:22.04", 4, "runtime.container")],
            ),
            (
                "version 1.2\ntask a {\n  requirements {\n    container: \"ubuntu:22.04\"\n  }\n}",
                vec![row("ubuntu:22.04", 4, "requirements.container")],
            ),
            (
                "task a {\n  runtime {\n    docker: [\"a/b:1\",\n      \"quay.io/c/d:2\"]\n  }\n}",
                vec![row("a/b:1", 3, rt), row("quay.io/c/d:2", 4, rt)],
            ),
            // A parameter with a default in the same task.
            (
                "task a {\n  input {\n    String img = \"ubuntu:22.04\"\n  }\n  runtime { docker: img }\n}",
                vec![row("ubuntu:22.04", 5, rt)],
            ),
            // An optional parameter with a default.
            (
                "task a {\n  input {\n    String? img = \"ubuntu:22.04\"\n  }\n  runtime { docker: img }\n}",
                vec![row("ubuntu:22.04", 5, rt)],
            ),
            // A parameter without a default.
            (
                "task a {\n  input {\n    String img\n  }\n  runtime { docker: img }\n}",
                vec![unresolved_row("img", 5, rt)],
            ),
            // Interpolation, both placeholder styles.
            (
                "task a {\n  input { String v = \"1.17\" }\n  runtime { docker: \"quay.io/x/samtools:~{v}\" }\n}",
                vec![row("quay.io/x/samtools:1.17", 3, rt)],
            ),
            (
                "task a {\n  String v = \"1.17\"\n  runtime { docker: \"quay.io/x/samtools:${v}\" }\n}",
                vec![row("quay.io/x/samtools:1.17", 3, rt)],
            ),
            (
                "task a {\n  input { Int n }\n  runtime { docker: \"quay.io/x/y:~{n + 1}\" }\n}",
                vec![unresolved_row("\"quay.io/x/y:~{n + 1}\"", 3, rt)],
            ),
            // An expression: its literals are reported.
            (
                "task a {\n  input { String? d }\n  runtime { docker: select_first([d, \"ubuntu:22.04\"]) }\n}",
                vec![row("ubuntu:22.04", 3, rt)],
            ),
            (
                "task a {\n  input { String? d }\n  runtime { docker: select_first([d]) }\n}",
                vec![unresolved_row("select_first([d])", 3, rt)],
            ),
            // Commands, comments, meta and other blocks are not runtime.
            (
                "task a {\n  command <<<\n    echo '{ docker: \"x:1\" }'\n  >>>\n  # docker: \"commented:1\"\n  meta { docker: \"meta:1\" }\n  runtime { docker: \"real:1\" }\n}",
                vec![row("real:1", 7, rt)],
            ),
            (
                "task a {\n  command {\n    echo ${x} | awk '{print $1}' \"unbalanced\n  }\n  runtime { docker: \"real:1\" }\n}",
                vec![row("real:1", 5, rt)],
            ),
            // A variable named `command` is not a command section.
            (
                "task a {\n  input { String command = \"ls\" }\n  runtime { docker: \"real:1\" }\n}",
                vec![row("real:1", 3, rt)],
            ),
            // A call's value wins over the task's default.
            (
                "workflow w {\n  input { String img = \"quay.io/a/b:2\" }\n  call t { input: d = img }\n}\ntask t {\n  input { String d = \"quay.io/a/b:1\" }\n  runtime { docker: d }\n}",
                vec![row("quay.io/a/b:2", 7, rt)],
            ),
            // WDL 1.1 call without `input:`; two calls with different values list both.
            (
                "workflow w {\n  call t as t1 { d = \"x/a:1\" }\n  call t as t2 { d = \"x/a:2\" }\n}\ntask t {\n  input { String d }\n  runtime { docker: d }\n}",
                vec![row("x/a:1", 7, rt), row("x/a:2", 7, rt)],
            ),
            // A call passing a workflow input without default leaves the image unresolved.
            (
                "workflow w {\n  input { String img }\n  call t { input: d = img }\n}\ntask t {\n  input { String d = \"x/a:1\" }\n  runtime { docker: d }\n}",
                vec![unresolved_row("d", 7, rt)],
            ),
            // Same name in two tasks: each task uses its own default.
            (
                "task a {\n  String docker = \"x/a:1\"\n  runtime { docker: docker }\n}\ntask b {\n  String docker = \"x/b:1\"\n  runtime { docker: docker }\n}",
                vec![row("x/a:1", 3, rt), row("x/b:1", 7, rt)],
            ),
            // No runtime at all.
            ("workflow w { call t }", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(rows(&images_in_wdl(text)), expected, "{text}");
        }
    }

    #[test]
    fn wdl_notes_say_where_values_come_from() {
        let text = "workflow w {\n  input { String img = \"quay.io/a/b:2\" }\n  call t { input: d = img }\n}\ntask t {\n  input { String d = \"quay.io/a/b:1\" }\n  runtime { docker: d }\n}";
        let found = images_in_wdl(text);
        let note = note_of(&found, 0);
        assert!(note.contains("parameter `d`"), "{note}");
        assert!(note.contains("call of `t`"), "{note}");
        assert!(note.contains("default of `img` (line 2)"), "{note}");
        let found = images_in_wdl("task a {\n  input { String img }\n  runtime { docker: img }\n}");
        assert!(
            note_of(&found, 0).contains("no default"),
            "{}",
            note_of(&found, 0)
        );
        let found =
            images_in_wdl("task a {\n  runtime {\n    docker: [\"a/b:1\", \"c/d:1\"]\n  }\n}");
        assert!(
            note_of(&found, 1).contains("one of 2 candidate"),
            "{}",
            note_of(&found, 1)
        );
        assert_eq!(
            images_in_wdl("task a { runtime { docker: \"a:1\" } }")[0].note,
            None
        );
    }

    // ----- Nextflow -----

    #[test]
    fn nextflow_shapes() {
        let p = |name: &str| format!("container directive (process {name})");
        let cases: Vec<(&str, Vec<Row>)> = vec![
            (
                "process A {\n  container 'ubuntu:22.04'\n}",
                vec![row("ubuntu:22.04", 2, &p("A"))],
            ),
            (
                "process A {\n  container \"quay.io/x/y:1\"\n  cpus 2\n}",
                vec![row("quay.io/x/y:1", 2, &p("A"))],
            ),
            (
                "process {\n  container = 'quay.io/x/default:1'\n  withName: 'FASTQC' {\n    container = 'quay.io/x/fastqc:1'\n  }\n  withName: BWA {\n    container = \"quay.io/x/bwa:1\"\n  }\n  withLabel: 'big' { container = 'quay.io/x/big:1' }\n  withName: '.*:SAMTOOLS_.*|PICARD' { container = 'quay.io/x/st:1' }\n}",
                vec![
                    row("quay.io/x/default:1", 2, "process.container"),
                    row("quay.io/x/fastqc:1", 4, "withName:FASTQC container"),
                    row("quay.io/x/bwa:1", 7, "withName:BWA container"),
                    row("quay.io/x/big:1", 9, "withLabel:big container"),
                    row(
                        "quay.io/x/st:1",
                        10,
                        "withName:.*:SAMTOOLS_.*|PICARD container",
                    ),
                ],
            ),
            (
                "process.container = 'quay.io/x/y:1'",
                vec![row("quay.io/x/y:1", 1, "process.container")],
            ),
            // nf-core ternary: the Docker branch, not the Singularity URL.
            (
                "process A {\n  container \"${ workflow.containerEngine == 'singularity' && !task.ext.singularity_pull_docker_container ?\n    'https://depot.galaxyproject.org/singularity/fastqc:0.12.1--hdfd78af_0' :\n    'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0' }\"\n}",
                vec![row(
                    "quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0",
                    4,
                    &p("A"),
                )],
            ),
            // The same on one line, and with Seqera's oras:// Singularity images.
            (
                "process A {\n  container \"${ workflow.containerEngine == 'singularity' ? 'oras://community.wave.seqera.io/library/x:1--abc' : 'community.wave.seqera.io/library/x:1--def' }\"\n}",
                vec![row("community.wave.seqera.io/library/x:1--def", 2, &p("A"))],
            ),
            // Docker first, and neither branch a URL: the condition decides.
            (
                "process A {\n  container \"${ workflow.containerEngine == 'docker' ? 'quay.io/x/d:1' : 'quay.io/x/other:1' }\"\n}",
                vec![row("quay.io/x/d:1", 2, &p("A"))],
            ),
            (
                "process A {\n  container \"${ workflow.containerEngine == 'singularity' ? 'quay.io/x/s:1' : 'quay.io/x/d:1' }\"\n}",
                vec![row("quay.io/x/d:1", 2, &p("A"))],
            ),
            // An undecidable conditional lists both.
            (
                "process A {\n  container params.big ? 'quay.io/x/a:1' : 'quay.io/x/b:1'\n}",
                vec![
                    row("quay.io/x/a:1", 2, &p("A")),
                    row("quay.io/x/b:1", 2, &p("A")),
                ],
            ),
            // Elvis fallback.
            (
                "process A {\n  container task.ext.container ?: 'quay.io/x/a:1'\n}",
                vec![row("quay.io/x/a:1", 2, &p("A"))],
            ),
            // A closure in config.
            (
                "process {\n  withName: A {\n    container = { task.attempt > 1 ? 'quay.io/x/a:1' : 'quay.io/x/b:1' }\n  }\n}",
                vec![
                    row("quay.io/x/a:1", 3, "withName:A container"),
                    row("quay.io/x/b:1", 3, "withName:A container"),
                ],
            ),
            // Parameters: dotted, interpolated, GString `$params.x`, and the params block.
            (
                "params.img = 'quay.io/x/a:1'\nprocess A {\n  container params.img\n}",
                vec![row("quay.io/x/a:1", 3, &p("A"))],
            ),
            (
                "params { v = '1.2' }\nprocess A {\n  container \"quay.io/x/a:${params.v}\"\n}",
                vec![row("quay.io/x/a:1.2", 3, &p("A"))],
            ),
            (
                "params.img = \"quay.io/x/a:1\"\nprocess A {\n  container \"$params.img\"\n}",
                vec![row("quay.io/x/a:1", 3, &p("A"))],
            ),
            (
                "process A {\n  container params.missing\n}",
                vec![unresolved_row("params.missing", 2, &p("A"))],
            ),
            (
                "process A {\n  container \"${task.ext.image}\"\n}",
                vec![unresolved_row("\"${task.ext.image}\"", 2, &p("A"))],
            ),
            // docker.registry, both spellings, and docker://
            (
                "docker.registry = 'quay.io'\nprocess A {\n  container 'biocontainers/x:1'\n}\nprocess B {\n  container 'ghcr.io/o/y:1'\n}",
                vec![
                    row("quay.io/biocontainers/x:1", 3, &p("A")),
                    row("ghcr.io/o/y:1", 6, &p("B")),
                ],
            ),
            (
                "docker {\n  enabled = true\n  registry = 'public.ecr.aws/'\n}\nprocess A { container 'ubuntu:22.04' }",
                vec![row("public.ecr.aws/ubuntu:22.04", 5, &p("A"))],
            ),
            (
                "process A {\n  container 'docker://quay.io/x/y:1'\n}",
                vec![row("quay.io/x/y:1", 2, &p("A"))],
            ),
            // Not container settings: comments, scripts, other objects' properties, variables.
            (
                "// container 'commented:1'\n/* container 'block:1' */\nprocess A {\n  input:\n  val container\n  script:\n  \"\"\"\n  echo \"container 'script:1'\"\n  \"\"\"\n}\ndef container = 'var:1'\nx.container = 'prop:1'\nprintln task.container",
                vec![],
            ),
            // Concatenation.
            (
                "process A {\n  container 'quay.io/x/' + 'y:1'\n}",
                vec![row("quay.io/x/y:1", 2, &p("A"))],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(rows(&images_in_nextflow(text)), expected, "{text}");
        }
    }

    #[test]
    fn nextflow_notes() {
        let found = images_in_nextflow(
            "docker.registry = 'quay.io'\nprocess A {\n  container \"${ workflow.containerEngine == 'singularity' ? 'https://depot.galaxyproject.org/singularity/x:1--0' : 'biocontainers/x:1--0' }\"\n}",
        );
        assert_eq!(
            rows(&found),
            vec![row(
                "quay.io/biocontainers/x:1--0",
                3,
                "container directive (process A)"
            )]
        );
        let note = note_of(&found, 0);
        assert!(note.contains("Docker branch"), "{note}");
        assert!(
            note.contains("https://depot.galaxyproject.org/singularity/x:1--0"),
            "{note}"
        );
        assert!(note.contains("docker.registry = 'quay.io'"), "{note}");
        let found = images_in_nextflow("params.img = 'a/b:1'\nprocess A { container params.img }");
        assert!(
            note_of(&found, 0).contains("params.img"),
            "{}",
            note_of(&found, 0)
        );
    }

    #[test]
    fn registry_prefix_follows_nextflow() {
        let rows = [
            ("biocontainers/x:1", Some("quay.io/biocontainers/x:1")),
            ("ubuntu:22.04", Some("quay.io/ubuntu:22.04")),
            ("localhost/x:1", Some("quay.io/localhost/x:1")),
            ("ghcr.io/x/y:1", None),
            ("localhost:5000/x:1", None),
        ];
        for (image, expected) in rows {
            assert_eq!(
                apply_registry(image, "quay.io/").as_deref(),
                expected,
                "{image}"
            );
        }
    }

    // ----- CWL -----

    #[test]
    fn cwl_shapes() {
        let req = "requirements.DockerRequirement.dockerPull";
        let hints = "hints.DockerRequirement.dockerPull";
        let cases: Vec<(&str, Vec<Row>)> = vec![
            (
                "cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  - class: DockerRequirement\n    dockerPull: quay.io/x/y:1\n",
                vec![row("quay.io/x/y:1", 5, req)],
            ),
            (
                "class: CommandLineTool\nrequirements:\n- class: InlineJavascriptRequirement\n- dockerPull: \"quay.io/x/y:1\"\n  class: DockerRequirement\n",
                vec![row("quay.io/x/y:1", 4, req)],
            ),
            (
                "class: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerPull: 'ubuntu:22.04'   # pinned later\n",
                vec![row("ubuntu:22.04", 4, hints)],
            ),
            (
                "class: CommandLineTool\nhints:\n  DockerRequirement: {dockerPull: ubuntu:22.04}\n",
                vec![row("ubuntu:22.04", 3, hints)],
            ),
            (
                "class: CommandLineTool\nhints: [{class: DockerRequirement, dockerPull: \"ubuntu:22.04\"}]\n",
                vec![row("ubuntu:22.04", 2, hints)],
            ),
            (
                "class: CommandLineTool\nrequirements:\n  - {class: DockerRequirement, dockerPull: 'it''s/odd:1'}\n",
                vec![row("it's/odd:1", 3, req)],
            ),
            (
                "class: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerPull: $(inputs.image)\n",
                vec![unresolved_row("$(inputs.image)", 4, hints)],
            ),
            // Steps: map form with inline run, and list form.
            (
                "class: Workflow\nsteps:\n  align:\n    run:\n      class: CommandLineTool\n      requirements:\n        DockerRequirement:\n          dockerPull: quay.io/x/bwa:1\n",
                vec![row(
                    "quay.io/x/bwa:1",
                    8,
                    "steps.align.requirements.DockerRequirement.dockerPull",
                )],
            ),
            (
                "class: Workflow\nsteps:\n  - id: align\n    run:\n      class: CommandLineTool\n      hints:\n        - class: DockerRequirement\n          dockerPull: quay.io/x/bwa:1\n",
                vec![row("quay.io/x/bwa:1", 8, hints)],
            ),
            // dockerImageId alone is not pullable; other keys mentioning it are not images.
            (
                "class: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerImageId: local-image\ndoc: uses no dockerPullX\n",
                vec![],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(rows(&images_in_cwl(text)), expected, "{text}");
        }
    }

    #[test]
    fn cwl_json() {
        let text = r#"{
  "cwlVersion": "v1.2",
  "$graph": [
    {
      "class": "CommandLineTool",
      "id": "bwa",
      "requirements": [
        {"class": "DockerRequirement", "dockerPull": "quay.io/x/bwa:1"}
      ]
    },
    {
      "class": "Workflow",
      "steps": {
        "sort": {
          "run": {
            "class": "CommandLineTool",
            "hints": {"DockerRequirement": {"dockerPull": "quay.io/x/samtools:1"}}
          }
        }
      }
    }
  ]
}"#;
        assert_eq!(
            rows(&images_in_cwl(text)),
            vec![
                row(
                    "quay.io/x/bwa:1",
                    8,
                    "requirements.DockerRequirement.dockerPull"
                ),
                row(
                    "quay.io/x/samtools:1",
                    17,
                    "steps.sort.hints.DockerRequirement.dockerPull"
                ),
            ]
        );
    }

    #[test]
    fn cwl_detection() {
        assert!(looks_like_cwl("cwlVersion: v1.0\nclass: CommandLineTool\n"));
        assert!(looks_like_cwl(
            "#!/usr/bin/env cwl-runner\nclass: Workflow\n"
        ));
        assert!(!looks_like_cwl(
            "name: nf-core/module\ntools:\n  - fastqc\n"
        ));
        assert!(!looks_like_cwl("  class: Workflow\n"));
    }

    #[test]
    fn scan_sources_resolves_across_files() {
        let sources = vec![
            ("conf/base.config".to_owned(), "params.tag = '2.0'\ndocker.registry = 'ghcr.io'".to_owned()),
            ("nextflow.config".to_owned(), "docker.registry = 'quay.io'\nparams { tag = '1.0' }".to_owned()),
            ("modules/a.nf".to_owned(), "process A {\n  container \"biocontainers/a:${params.tag}\"\n}".to_owned()),
            ("wf.wdl".to_owned(), "workflow w {\n  input { String img = \"quay.io/a/b:3\" }\n  call lib.T { input: d = img }\n}".to_owned()),
            ("lib.wdl".to_owned(), "task T {\n  input { String d }\n  runtime { docker: d }\n}".to_owned()),
        ];
        let r = scan_sources(&sources);
        assert_eq!(
            r.docker_registry.as_deref(),
            Some("quay.io"),
            "nextflow.config wins"
        );
        assert_eq!(
            r.distinct_images(),
            vec![
                "quay.io/biocontainers/a:1.0".to_owned(),
                "quay.io/a/b:3".to_owned()
            ]
        );
    }

    #[test]
    fn wdl_resolution_stays_bounded() {
        // Every task input is passed by many calls, from variables passed on by other calls.
        let mut text = String::from("workflow w {\n");
        for k in 0..40 {
            text.push_str(&format!("  String v{k} = \"x/a:{k}\"\n"));
        }
        for k in 0..40 {
            text.push_str(&format!(
                "  call t {{ input: d = v{k} }}\n  call t {{ input: d = d }}\n"
            ));
        }
        text.push_str("}\ntask t {\n  input { String d }\n  runtime { docker: d }\n}\n");
        let start = std::time::Instant::now();
        let found = images_in_wdl(&text);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert!(found.len() >= 40, "{}", found.len());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn extractors_never_panic(text in "[ -~\n\t{}\"'$~#]{0,200}") {
            let _ = images_in_wdl(&text);
            let _ = images_in_nextflow(&text);
            let _ = images_in_cwl(&text);
        }

        #[test]
        fn extractors_never_panic_on_unicode(text in proptest::prelude::any::<String>()) {
            let _ = images_in_wdl(&text);
            let _ = images_in_nextflow(&text);
            let _ = images_in_cwl(&text);
        }

        #[test]
        fn wdl_literal_round_trip(image in "[a-z0-9]{1,8}(\\.[a-z]{2,4})?/[a-z0-9_-]{1,10}:[a-z0-9.]{1,6}", key in proptest::sample::select(vec!["docker", "container"])) {
            let text = format!("task t {{\n  runtime {{\n    {key}: \"{image}\"\n  }}\n}}\n");
            let found = images_in_wdl(&text);
            proptest::prop_assert_eq!(rows(&found), vec![row(&image, 3, &format!("runtime.{key}"))]);
        }

        #[test]
        fn nextflow_literal_round_trip(image in "[a-z0-9]{1,8}\\.[a-z]{2,4}/[a-z0-9_-]{1,10}:[a-z0-9.]{1,6}", quote in proptest::sample::select(vec!["'", "\""])) {
            let text = format!("process P {{\n    container {quote}{image}{quote}\n}}\n");
            let found = images_in_nextflow(&text);
            proptest::prop_assert_eq!(rows(&found), vec![row(&image, 2, "container directive (process P)")]);
        }
    }
}
