//! Scanning already-read files: which extractor each file calls for, and WDL parameters,
//! Nextflow `params.*` and `docker.registry` resolved across all of them.

use std::collections::HashMap;

use super::cwl::{images_in_cwl, looks_like_cwl};
use super::found::{Engine, FileImages, ScanResult};
use super::nextflow::{NfSymbols, NfUse, analyse_nextflow, resolve_nf_uses};
use super::wdl::{WdlResolver, WdlSymbols, WdlUse, analyse_wdl, resolve_wdl_uses};

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
}
