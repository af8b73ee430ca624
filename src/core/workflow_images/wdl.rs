//! WDL: a lexer that skips command sections, the `runtime`/`requirements` image entries and
//! `String` defaults and call inputs of a file, and the resolution of parameters from them
//! (across files when [`super::scan_sources`] passes several).

use super::found::{FoundImage, unresolved};
use super::lexer::{
    Cursor, Part, Tok, Token, is_ident_char, is_ident_start, plain_text, punct_or_other,
    read_string,
};

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
            out.push(Token::ending_at(Tok::Str(parts), line, start, &c));
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
            out.push(Token::ending_at(
                Tok::Ident(word.to_owned()),
                line,
                start,
                &c,
            ));
            continue;
        }
        out.push(punct_or_other(&mut c, ch, line, start));
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
pub(super) struct WdlUse {
    task: Option<String>,
    context: String,
    line: usize,
    /// The expression tokens of the value.
    tokens: Vec<Token>,
    source: String,
}

/// What one WDL file declares, for resolving parameters (possibly across files).
#[derive(Debug, Clone, Default)]
pub(super) struct WdlSymbols {
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

pub(super) fn analyse_wdl(src: &str) -> (Vec<WdlUse>, WdlSymbols) {
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
pub(super) struct WdlResolver<'a> {
    syms: &'a [&'a WdlSymbols],
    /// Lookups left for the current image, so a file full of calls cannot make resolution
    /// combinatorial.
    budget: std::cell::Cell<usize>,
}

/// Lookups allowed per image; real workflows need a handful.
const WDL_RESOLVE_BUDGET: usize = 2_000;

impl<'a> WdlResolver<'a> {
    pub(super) fn new(syms: &'a [&'a WdlSymbols]) -> Self {
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

pub(super) fn resolve_wdl_uses(uses: &[WdlUse], resolver: &WdlResolver) -> Vec<FoundImage> {
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

/// The paths a WDL document imports (`import "tasks/align.wdl" as align`), as written.
pub(super) fn wdl_imports(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("import")?;
            let rest = rest.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let body = &rest[1..];
            body.find(quote).map(|end| body[..end].to_owned())
        })
        .collect()
}

/// True when a WDL document declares a `workflow` (not only tasks).
pub(super) fn has_wdl_workflow(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        l.strip_prefix("workflow")
            .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    })
}

/// Images of a WDL file: `runtime { docker: … }`, `runtime { container: … }` (WDL 1.1),
/// `requirements { container: … }` (1.2), lists of candidates, and parameters resolved from
/// defaults and call inputs in the same file.
pub fn images_in_wdl(text: &str) -> Vec<FoundImage> {
    let (uses, syms) = analyse_wdl(text);
    let all = [&syms];
    resolve_wdl_uses(&uses, &WdlResolver::new(&all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::workflow_images::test_support::{Row, note_of, row, rows, unresolved_row};

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
    fn imports_and_workflows_are_told() {
        let rows: Vec<(&str, Vec<&str>, bool)> = vec![
            (
                "version 1.0\nimport \"tasks/a.wdl\" as a\n  import 'b.wdl'\nworkflow w {}\n",
                vec!["tasks/a.wdl", "b.wdl"],
                true,
            ),
            ("task t {}\n# import \"no.wdl\"\n", vec![], false),
            ("importer = 1\nworkflows_x {}\n", vec![], false),
        ];
        for (text, imports, workflow) in rows {
            assert_eq!(wdl_imports(text), imports, "{text}");
            assert_eq!(has_wdl_workflow(text), workflow, "{text}");
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
        fn wdl_literal_round_trip(image in "[a-z0-9]{1,8}(\\.[a-z]{2,4})?/[a-z0-9_-]{1,10}:[a-z0-9.]{1,6}", key in proptest::sample::select(vec!["docker", "container"])) {
            let text = format!("task t {{\n  runtime {{\n    {key}: \"{image}\"\n  }}\n}}\n");
            let found = images_in_wdl(&text);
            proptest::prop_assert_eq!(rows(&found), vec![row(&image, 3, &format!("runtime.{key}"))]);
        }
    }
}
