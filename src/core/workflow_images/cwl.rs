//! CWL: `DockerRequirement.dockerPull` in JSON documents (parsed) and YAML ones (read line by
//! line, with the keys above each value for its context).

use serde_json::Value;

use super::found::{FoundImage, unresolved};

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

/// The documents a CWL workflow's steps run (`run: tools/bwa.cwl`, YAML or JSON), as written;
/// inline `run:` blocks and `#id` references stay in the same document and are not listed.
pub(super) fn cwl_runs(text: &str) -> Vec<String> {
    if let Some(value) = json_document(text) {
        let mut out = Vec::new();
        json_runs(&value, &mut out);
        return out;
    }
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            let value = l
                .strip_prefix("run:")?
                .trim()
                .trim_matches(['"', '\''])
                .trim();
            external_run(value)
        })
        .collect()
}

/// A `run:` value that names another document.
fn external_run(value: &str) -> Option<String> {
    let inline = value.is_empty() || value.starts_with(['#', '{', '|', '>']);
    (!inline).then(|| value.trim_start_matches("file://").to_owned())
}

fn json_document(text: &str) -> Option<Value> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

fn json_runs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("run", Value::String(r)) => out.extend(external_run(r)),
                    _ => json_runs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| json_runs(v, out)),
        _ => {}
    }
}

/// True when a CWL document is a `Workflow` (an entry), not a tool.
pub(super) fn is_cwl_workflow(text: &str) -> bool {
    if let Some(value) = json_document(text) {
        return value.get("class").and_then(Value::as_str) == Some("Workflow");
    }
    text.lines().any(|l| l.trim() == "class: Workflow")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::workflow_images::test_support::{Row, row, rows, unresolved_row};

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
    fn run_references_and_workflows_are_told() {
        let rows: Vec<(&str, Vec<&str>, bool)> = vec![
            (
                "class: Workflow\nsteps:\n  a:\n    run: tools/a.cwl\n  b:\n    run: \"../b.cwl\"\n  c:\n    run: '#c'\n  d:\n    run:\n      class: CommandLineTool\n",
                vec!["tools/a.cwl", "../b.cwl"],
                true,
            ),
            (
                "{\"class\": \"Workflow\", \"steps\": [{\"run\": \"x.cwl\"}, {\"run\": {\"class\": \"CommandLineTool\"}}, {\"run\": \"#y\"}]}\n",
                vec!["x.cwl"],
                true,
            ),
            (
                "{\"class\": \"CommandLineTool\", \"doc\": \"class: Workflow\"}",
                vec![],
                false,
            ),
            ("class: CommandLineTool\n", vec![], false),
        ];
        for (text, runs, workflow) in rows {
            assert_eq!(cwl_runs(text), runs, "{text}");
            assert_eq!(is_cwl_workflow(text), workflow, "{text}");
        }
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
}
