//! Nextflow: a Groovy lexer, the `container` directives and settings, `params.*` defaults and
//! `docker.registry` of a script or config, and the evaluation of container expressions
//! (ternaries, `?:`, concatenation, interpolation) to images.

use super::found::{FoundImage, unresolved};
use super::lexer::{
    Cursor, Part, Tok, Token, is_ident_char, is_ident_start, plain_text, punct_or_other,
    read_string,
};

fn lex_groovy(src: &str, first_line: usize) -> Vec<Token> {
    let mut c = Cursor::new(src, first_line);
    let mut out = Vec::new();
    while let Some(ch) = c.peek() {
        let (start, line) = (c.pos, c.line);
        if ch == '\n' {
            c.bump();
            out.push(Token::ending_at(Tok::Newline, line, start, &c));
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
            out.push(Token::ending_at(Tok::Str(parts), line, start, &c));
            continue;
        }
        if is_ident_start(ch) || ch == '$' {
            c.bump();
            while c.peek().is_some_and(is_ident_char) {
                c.bump();
            }
            out.push(Token::ending_at(
                Tok::Ident(src[start..c.pos].to_owned()),
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

/// A `container` setting before parameters and `docker.registry` are applied.
#[derive(Debug, Clone)]
pub(super) struct NfUse {
    context: String,
    line: usize,
    src: String,
    tokens: Vec<Token>,
    /// The `profiles { name { … } }` block it is written in, if any.
    pub(super) profile: Option<String>,
    /// The `if (…)` it is written under, if any.
    pub(super) condition: Option<String>,
}

/// Settings that apply across a Nextflow pipeline's files.
#[derive(Debug, Clone, Default)]
pub(super) struct NfSymbols {
    pub(super) params: Vec<(String, String, usize)>,
    pub(super) docker_registry: Option<(String, usize)>,
    /// `true`/`false` parameter defaults, which decide `includeConfig params.x ? … : …`.
    pub(super) flags: Vec<(String, bool)>,
    /// Parameters and `docker.registry` set inside a profile: (profile, name, value, line);
    /// the registry under the name `docker.registry`.
    pub(super) profile_settings: Vec<(String, String, String, usize)>,
    /// `includeConfig` statements of a config.
    pub(super) include_configs: Vec<NfIncludeConfig>,
    /// The `from` paths of a script's `include { … } from '…'`, with their lines.
    pub(super) includes: Vec<(String, usize)>,
    /// `manifest.mainScript`, the entry script a config names.
    pub(super) main_script: Option<String>,
    /// Profiles the config defines.
    pub(super) profiles: Vec<String>,
}

/// One `includeConfig`, with the profile block and `if` it is written in.
#[derive(Debug, Clone)]
pub(super) struct NfIncludeConfig {
    pub(super) line: usize,
    expr: Vec<Token>,
    src: String,
    pub(super) profile: Option<String>,
    pub(super) condition: Option<String>,
}

/// A config an `includeConfig` brings in, and the condition it is brought in under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConfigTarget {
    pub(super) path: String,
    pub(super) condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum NfScope {
    Process(String),
    ProcessConfig,
    WithName(String),
    WithLabel(String),
    Params,
    Docker,
    Manifest,
    Profiles,
    Profile(String),
    /// `if (…) {` or its `else {`, with the condition's text.
    Cond(String),
    Other,
}

fn tok_at(toks: &[Token], k: usize) -> Option<&Tok> {
    toks.get(k).map(|t| &t.tok)
}

pub(super) fn analyse_nextflow(src: &str) -> (Vec<NfUse>, NfSymbols) {
    let toks = lex_groovy(src, 1);
    let mut uses = Vec::new();
    let mut syms = NfSymbols::default();
    let mut stack: Vec<NfScope> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].tok {
            Tok::Punct("{") => {
                // A profile may be called like a scope (`docker { … }`): the parent decides.
                let scope = match profile_name(&toks, i) {
                    Some(name) if stack.last() == Some(&NfScope::Profiles) => {
                        syms.profiles.push(name.clone());
                        NfScope::Profile(name)
                    }
                    _ => match nf_scope(&toks, i, src) {
                        NfScope::Other => condition_of(&toks, i, src).unwrap_or(NfScope::Other),
                        scope => scope,
                    },
                };
                stack.push(scope);
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
                    let (profile, condition) = profile_and_condition(&stack);
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    let line = toks[i].line;
                    let mut setting = |name: &str, value: String| match &profile {
                        Some(p) => {
                            syms.profile_settings
                                .push((p.clone(), name.to_owned(), value, line))
                        }
                        None if name == "docker.registry" => {
                            syms.docker_registry = Some((value, line))
                        }
                        None => syms.params.push((name.to_owned(), value, line)),
                    };
                    let container = match (path.as_slice(), assigns) {
                        (["container"], false) if !expr.is_empty() => Some(
                            scope_context(&stack)
                                .unwrap_or_else(|| "container directive".to_owned()),
                        ),
                        (["container"], true) => Some(
                            scope_context(&stack).unwrap_or_else(|| "container setting".to_owned()),
                        ),
                        (["process", "container"], true) => Some("process.container".to_owned()),
                        // `params.x = …`, or `x = …` inside a `params { }` block.
                        (["params", name] | [name], true)
                            if path.len() == 2 || scope == Some(NfScope::Params) =>
                        {
                            param_value(
                                &expr,
                                name,
                                &mut setting,
                                &mut syms.flags,
                                profile.is_none(),
                            );
                            None
                        }
                        (["docker", "registry"], true) => {
                            if let Some(v) = literal_of(&expr) {
                                setting("docker.registry", v);
                            }
                            None
                        }
                        (["registry"], true) if scope == Some(NfScope::Docker) => {
                            if let Some(v) = literal_of(&expr) {
                                setting("docker.registry", v);
                            }
                            None
                        }
                        (["manifest", "mainScript"], true) => {
                            syms.main_script = literal_of(&expr);
                            None
                        }
                        (["mainScript"], true) if scope == Some(NfScope::Manifest) => {
                            syms.main_script = literal_of(&expr);
                            None
                        }
                        (["includeConfig"], false) if !expr.is_empty() => {
                            let src_text = expr_text(src, &expr);
                            syms.include_configs.push(NfIncludeConfig {
                                line,
                                expr,
                                src: src_text,
                                profile,
                                condition,
                            });
                            i = next;
                            continue;
                        }
                        (["include"], false) => {
                            if let Some(from) = include_from(&toks, i) {
                                syms.includes.push((from, line));
                            }
                            None
                        }
                        _ => None,
                    };
                    if let Some(context) = container {
                        let mut u = nf_use(src, context, &toks[i], expr);
                        u.profile = profile;
                        u.condition = condition;
                        uses.push(u);
                        i = next;
                        continue;
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    (uses, syms)
}

fn expr_text(src: &str, expr: &[Token]) -> String {
    match (expr.first(), expr.last()) {
        (Some(a), Some(b)) => src.get(a.start..b.end).unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

fn nf_use(src: &str, context: String, at: &Token, expr: Vec<Token>) -> NfUse {
    NfUse {
        context,
        line: at.line,
        src: expr_text(src, &expr),
        tokens: expr,
        profile: None,
        condition: None,
    }
}

/// A parameter's default: a string for images, `true`/`false` for `includeConfig` conditions
/// (only outside profiles: a profile's flag is not the default).
fn param_value(
    expr: &[Token],
    name: &str,
    setting: &mut impl FnMut(&str, String),
    flags: &mut Vec<(String, bool)>,
    top_level: bool,
) {
    if let Some(v) = literal_of(expr) {
        setting(name, v);
    } else if let [
        Token {
            tok: Tok::Ident(w), ..
        },
    ] = expr
        && top_level
        && (w == "true" || w == "false")
    {
        flags.push((name.to_owned(), w == "true"));
    }
}

/// The innermost profile block and the `if` conditions around a statement.
fn profile_and_condition(stack: &[NfScope]) -> (Option<String>, Option<String>) {
    let profile = stack.iter().rev().find_map(|s| match s {
        NfScope::Profile(p) => Some(p.clone()),
        _ => None,
    });
    let conds: Vec<&str> = stack
        .iter()
        .filter_map(|s| match s {
            NfScope::Cond(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    (profile, (!conds.is_empty()).then(|| conds.join(" && ")))
}

/// The name of a profile block `name {` (or `'name' {`) directly inside `profiles {`.
fn profile_name(toks: &[Token], brace: usize) -> Option<String> {
    match brace.checked_sub(1).and_then(|k| tok_at(toks, k)) {
        Some(Tok::Ident(name)) => Some(name.clone()),
        Some(Tok::Str(parts)) => plain_text(parts),
        _ => None,
    }
}

/// `if (cond) {` and `else {`: the condition's text (`else` negates the last `if` seen).
fn condition_of(toks: &[Token], brace: usize, src: &str) -> Option<NfScope> {
    let close = brace.checked_sub(1)?;
    match tok_at(toks, close)? {
        Tok::Ident(w) if w == "else" => Some(NfScope::Cond("the `else` of an `if`".into())),
        Tok::Punct(")") => {
            let k = matching_bracket(toks, close, Backward)?;
            match k.checked_sub(1).and_then(|j| tok_at(toks, j)) {
                Some(Tok::Ident(w)) if w == "if" => {
                    let inner = toks.get(k + 1..close)?;
                    Some(NfScope::Cond(format!("if ({})", expr_text(src, inner))))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Which way [`matching_bracket`] walks.
#[derive(Clone, Copy)]
enum Walk {
    Forward,
    Backward,
}
use Walk::{Backward, Forward};

/// The index of the bracket that closes (walking forward from an opening `(`/`{`) or opens
/// (walking backward from a closing `)`/`}`) the one at `at`.
fn matching_bracket(toks: &[Token], at: usize, walk: Walk) -> Option<usize> {
    let (this, other) = match tok_at(toks, at)? {
        Tok::Punct(p @ ("(" | "{")) => (*p, if *p == "(" { ")" } else { "}" }),
        Tok::Punct(p @ (")" | "}")) => (*p, if *p == ")" { "(" } else { "{" }),
        _ => return None,
    };
    let mut depth = 0i32;
    let mut k = at;
    loop {
        match tok_at(toks, k)? {
            Tok::Punct(p) if *p == this => depth += 1,
            Tok::Punct(p) if *p == other => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k = match walk {
            Forward => k + 1,
            Backward => k.checked_sub(1)?,
        };
    }
}

/// The path of `include { A; B as C } from './path'` whose `include` is at `at`.
fn include_from(toks: &[Token], at: usize) -> Option<String> {
    let mut k = at + 1;
    while matches!(tok_at(toks, k), Some(Tok::Newline)) {
        k += 1;
    }
    if tok_at(toks, k) != Some(&Tok::Punct("{")) {
        return None;
    }
    let k = matching_bracket(toks, k, Forward)?;
    match (tok_at(toks, k + 1), tok_at(toks, k + 2)) {
        (Some(Tok::Ident(w)), Some(Tok::Str(parts))) if w == "from" => plain_text(parts),
        _ => None,
    }
}

/// The configs an `includeConfig` brings in. A ternary on a `params.x` flag whose default is
/// known takes the branch the default picks; any other condition brings in every branch,
/// each marked with the condition. Paths are as written (resolve them against the config).
pub(super) fn include_config_targets(
    inc: &NfIncludeConfig,
    params: &[(String, String, usize)],
    flags: &[(String, bool)],
) -> Vec<ConfigTarget> {
    let eval = NfEval { params };
    let toks = &inc.expr;
    let values = |part: &[Token]| -> Vec<String> {
        eval.eval(part, 0)
            .into_iter()
            .filter_map(|c| c.value)
            .collect()
    };
    let with = |vals: Vec<String>, condition: Option<String>| -> Vec<ConfigTarget> {
        vals.into_iter()
            .map(|path| ConfigTarget {
                path,
                condition: condition.clone(),
            })
            .collect()
    };
    if let Some(q) = split_top(toks, "?")
        && let Some(colon) = split_top(&toks[q + 1..], ":").map(|c| c + q + 1)
    {
        let (cond, yes, no) = (&toks[..q], &toks[q + 1..colon], &toks[colon + 1..]);
        let (negated, flag) = match cond {
            [
                Token {
                    tok: Tok::Punct("!"),
                    ..
                },
                rest @ ..,
            ] => (true, rest),
            rest => (false, rest),
        };
        let known = match flag {
            [
                Token {
                    tok: Tok::Ident(p), ..
                },
                Token {
                    tok: Tok::Punct("."),
                    ..
                },
                Token {
                    tok: Tok::Ident(name),
                    ..
                },
            ] if p == "params" => flags.iter().find(|(n, _)| n == name).map(|(_, v)| *v),
            _ => None,
        };
        let outer = inc.condition.clone();
        return match known {
            Some(v) => with(values(if v != negated { yes } else { no }), outer),
            None => {
                let cond_src = inc
                    .src
                    .split_once('?')
                    .map_or(inc.src.as_str(), |(c, _)| c)
                    .trim()
                    .to_owned();
                let mut out = with(values(yes), Some(cond_src.clone()));
                out.extend(with(values(no), Some(format!("not ({cond_src})"))));
                out
            }
        };
    }
    with(values(toks), inc.condition.clone())
}

/// How [`scope_context`] names a `withName` setting and a process's own directive; read back by
/// [`with_name_selector`] and [`directive_process`].
const WITH_NAME: (&str, &str) = ("withName:", " container");
const DIRECTIVE: (&str, &str) = ("container directive (process ", ")");

fn scope_context(stack: &[NfScope]) -> Option<String> {
    stack.iter().rev().find_map(|s| match s {
        NfScope::WithName(sel) => Some(format!("{}{sel}{}", WITH_NAME.0, WITH_NAME.1)),
        NfScope::WithLabel(sel) => Some(format!("withLabel:{sel} container")),
        NfScope::ProcessConfig => Some("process.container".to_owned()),
        NfScope::Process(name) => Some(format!("{}{name}{}", DIRECTIVE.0, DIRECTIVE.1)),
        _ => None,
    })
}

/// The selector of a finding made in a `withName:` block, from its context.
pub(super) fn with_name_selector(context: &str) -> Option<&str> {
    context
        .strip_prefix(WITH_NAME.0)
        .and_then(|rest| rest.strip_suffix(WITH_NAME.1))
}

/// The process of a finding made by a process's own `container` directive, from its context.
pub(super) fn directive_process(context: &str) -> Option<&str> {
    context
        .strip_prefix(DIRECTIVE.0)
        .and_then(|rest| rest.strip_suffix(DIRECTIVE.1))
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
        (_, _, Some(Tok::Ident(kw))) if kw == "manifest" => NfScope::Manifest,
        (_, _, Some(Tok::Ident(kw))) if kw == "profiles" => NfScope::Profiles,
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
            // A Singularity reference is not worth its bytes to an assistant: only another
            // Docker image the run does not take is named.
            let others: Vec<&str> = skipped
                .iter()
                .map(String::as_str)
                .filter(|v| !looks_like_non_docker(v))
                .collect();
            for c in &mut cs {
                c.notes.push(if skipped.is_empty() {
                    "the Docker branch of a conditional".to_owned()
                } else if others.is_empty() {
                    "the Docker branch of a conditional (its Singularity image left out)".to_owned()
                } else {
                    format!(
                        "the Docker branch of a conditional (not {})",
                        others.join(", ")
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

pub(super) fn resolve_nf_uses(uses: &[NfUse], syms: &NfSymbols) -> Vec<FoundImage> {
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
            } else if looks_like_non_docker(&value) {
                out.push(unresolved(
                    value,
                    u.line,
                    &u.context,
                    "a Singularity image (a file URL or `oras://`, `library://`, `shub://`), which a Docker-based HealthOmics run cannot pull",
                ));
                continue;
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
/// [`scan_sources`](super::scan_sources) (or `crate::workflow_files::scan_path`) to resolve them across a pipeline's
/// files.
pub fn images_in_nextflow(text: &str) -> Vec<FoundImage> {
    let (uses, syms) = analyse_nextflow(text);
    resolve_nf_uses(&uses, &syms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::workflow_images::test_support::{Row, note_of, row, rows, unresolved_row};

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
        assert!(note.contains("Singularity image left out"), "{note}");
        assert!(!note.contains("https://"), "{note}");
        assert!(note.contains("docker.registry = 'quay.io'"), "{note}");
        // Another Docker image the condition rules out is named.
        let found = images_in_nextflow(
            "process A {\n  container \"${ workflow.containerEngine == 'docker' ? 'quay.io/x/d:1' : 'quay.io/x/other:1' }\"\n}",
        );
        assert!(
            note_of(&found, 0).ends_with("(not quay.io/x/other:1)"),
            "{}",
            note_of(&found, 0)
        );
        let found = images_in_nextflow("params.img = 'a/b:1'\nprocess A { container params.img }");
        assert!(
            note_of(&found, 0).contains("params.img"),
            "{}",
            note_of(&found, 0)
        );
    }

    #[test]
    fn what_a_run_follows_is_read_from_scripts_and_configs() {
        let syms = |text: &str| analyse_nextflow(text).1;
        // include … from, on one line or several; not `includeConfig`, not a variable.
        let s = syms(
            "include { A } from './modules/a'\ninclude {\n  B;\n  C as D\n} from \"../b/main.nf\"\ninclude { E } from 'plugin/nf-schema'\ndef include = 1\n",
        );
        let includes: Vec<&str> = s.includes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            includes,
            vec!["./modules/a", "../b/main.nf", "plugin/nf-schema"]
        );

        // includeConfig with the profile block and the `if` around it.
        let s = syms(
            "includeConfig 'conf/base.config'\nif (params.gpu) {\n  includeConfig 'conf/gpu.config'\n} else {\n  includeConfig 'conf/cpu.config'\n}\nprofiles {\n  docker { docker.enabled = true }\n  arm {\n    includeConfig 'conf/arm.config'\n    params.tag = 'arm'\n    docker.registry = 'ghcr.io'\n    process.container = 'quay.io/x/arm:1'\n  }\n  'test-x' { includeConfig 'conf/test.config' }\n}\n",
        );
        let rows: Vec<(String, usize, Option<String>, Option<String>)> = s
            .include_configs
            .iter()
            .map(|i| {
                (
                    i.src.clone(),
                    i.line,
                    i.profile.clone(),
                    i.condition.clone(),
                )
            })
            .collect();
        let r = |src: &str, line: usize, profile: Option<&str>, cond: Option<&str>| {
            (
                src.to_owned(),
                line,
                profile.map(str::to_owned),
                cond.map(str::to_owned),
            )
        };
        assert_eq!(
            rows,
            vec![
                r("'conf/base.config'", 1, None, None),
                r("'conf/gpu.config'", 3, None, Some("if (params.gpu)")),
                r("'conf/cpu.config'", 5, None, Some("the `else` of an `if`")),
                r("'conf/arm.config'", 10, Some("arm"), None),
                r("'conf/test.config'", 15, Some("test-x"), None),
            ]
        );
        assert_eq!(s.profiles, vec!["docker", "arm", "test-x"]);
        assert_eq!(
            s.profile_settings,
            vec![
                ("arm".to_owned(), "tag".to_owned(), "arm".to_owned(), 11),
                (
                    "arm".to_owned(),
                    "docker.registry".to_owned(),
                    "ghcr.io".to_owned(),
                    12
                ),
            ]
        );
        assert!(s.params.is_empty() && s.docker_registry.is_none());
        let (uses, _) = analyse_nextflow(
            "profiles {\n  arm {\n    process.container = 'quay.io/x/arm:1'\n  }\n}\n",
        );
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].profile.as_deref(), Some("arm"));

        // Flags and the entry a manifest names.
        let s = syms(
            "params {\n  skip = false\n  fast = true\n  name = 'x'\n}\nmanifest {\n  mainScript = 'pipeline.nf'\n}\n",
        );
        assert_eq!(
            s.flags,
            vec![("skip".to_owned(), false), ("fast".to_owned(), true)]
        );
        assert_eq!(s.main_script.as_deref(), Some("pipeline.nf"));
        assert_eq!(
            syms("manifest.mainScript = 'a.nf'").main_script.as_deref(),
            Some("a.nf")
        );
    }

    #[test]
    fn include_config_targets_follow_known_defaults() {
        let flags = vec![("skip".to_owned(), false), ("on".to_owned(), true)];
        let params = vec![("base".to_owned(), "conf".to_owned(), 1)];
        let target = |path: &str, cond: Option<&str>| ConfigTarget {
            path: path.to_owned(),
            condition: cond.map(str::to_owned),
        };
        let cases = vec![
            ("includeConfig 'a.config'", vec![target("a.config", None)]),
            (
                "includeConfig !params.skip ? 'a.config' : 'b.config'",
                vec![target("a.config", None)],
            ),
            (
                "includeConfig params.skip ? 'a.config' : 'b.config'",
                vec![target("b.config", None)],
            ),
            (
                "includeConfig params.on ? 'a.config' : 'b.config'",
                vec![target("a.config", None)],
            ),
            (
                "includeConfig params.unknown ? 'a.config' : 'b.config'",
                vec![
                    target("a.config", Some("params.unknown")),
                    target("b.config", Some("not (params.unknown)")),
                ],
            ),
            (
                "includeConfig \"${params.base}/x.config\"",
                vec![target("conf/x.config", None)],
            ),
            ("includeConfig \"${params.nowhere}/x.config\"", vec![]),
        ];
        for (text, expected) in cases {
            let (_, syms) = analyse_nextflow(text);
            let got: Vec<ConfigTarget> = syms
                .include_configs
                .iter()
                .flat_map(|i| include_config_targets(i, &params, &flags))
                .collect();
            assert_eq!(got, expected, "{text}");
        }
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn nextflow_literal_round_trip(image in "[a-z0-9]{1,8}\\.[a-z]{2,4}/[a-z0-9_-]{1,10}:[a-z0-9.]{1,6}", quote in proptest::sample::select(vec!["'", "\""])) {
            let text = format!("process P {{\n    container {quote}{image}{quote}\n}}\n");
            let found = images_in_nextflow(&text);
            proptest::prop_assert_eq!(rows(&found), vec![row(&image, 2, "container directive (process P)")]);
        }
    }
}
