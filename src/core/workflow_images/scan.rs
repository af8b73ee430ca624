//! Scanning already-read files: which extractor each file calls for, and WDL parameters,
//! Nextflow `params.*` and `docker.registry` resolved across all of them.

use std::collections::{BTreeSet, HashMap};

use super::cwl::{images_in_cwl, looks_like_cwl};
use super::found::{Engine, FileImages, ScanResult};
use super::nextflow::{
    NfSymbols, NfUse, analyse_nextflow, directive_process, resolve_nf_uses, with_name_selector,
};
use super::run::{InRun, Links, RunOptions, run_files};
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

/// Extracts the images of already-read files (`(relative path, text)`), every file as part of
/// the workflow, resolving WDL parameters, Nextflow `params.*` and `docker.registry` across all
/// of them. Pure: `crate::workflow_files::scan_path` reads the files, callers with files from
/// elsewhere (S3, a zip) call this directly. [`scan_run`] keeps only the files a run uses.
pub fn scan_sources(sources: &[(String, String)]) -> ScanResult {
    scan(sources, None)
}

/// Like [`scan_sources`], but only the files a run uses, followed from the entry (see
/// `run`): the images of tests, of profiles not asked for and of files nothing includes are
/// left out and the files counted in `not_in_run`. Without an entry, every file is read and a
/// note says so.
pub fn scan_run(sources: &[(String, String)], options: &RunOptions) -> ScanResult {
    scan(sources, Some(options))
}

/// One candidate file, analysed once.
enum Parsed {
    Wdl(Vec<WdlUse>, WdlSymbols),
    Nextflow(Vec<NfUse>, NfSymbols),
    Cwl,
}

fn scan(sources: &[(String, String)], options: Option<&RunOptions>) -> ScanResult {
    let mut result = ScanResult::default();
    let mut parsed: Vec<(usize, Parsed)> = Vec::new();
    for (k, (path, text)) in sources.iter().enumerate() {
        let Some(engine) = engine_for(path, text) else {
            continue;
        };
        parsed.push((
            k,
            match engine {
                Engine::Wdl => {
                    let (uses, syms) = analyse_wdl(text);
                    Parsed::Wdl(uses, syms)
                }
                Engine::Nextflow => {
                    let (uses, syms) = analyse_nextflow(text);
                    Parsed::Nextflow(uses, syms)
                }
                Engine::Cwl => Parsed::Cwl,
            },
        ));
    }
    let selection = match options {
        Some(options) => {
            let links: Vec<(&str, Links)> = parsed
                .iter()
                .map(|(k, p)| {
                    let (path, text) = &sources[*k];
                    let link = match p {
                        Parsed::Wdl(..) => Links::wdl(text),
                        Parsed::Nextflow(_, syms) => Links::Nextflow { syms },
                        Parsed::Cwl => Links::cwl(text),
                    };
                    (path.as_str(), link)
                })
                .collect();
            let run = run_files(&links, options);
            result.entry = run.entry;
            result.notes = run.notes;
            result.not_in_run = run.not_in_run;
            result.profiles = options.profiles.clone();
            run.files
        }
        None => (0..parsed.len())
            .map(|index| InRun {
                index,
                profile: None,
                condition: None,
            })
            .collect(),
    };
    let profiles: &[String] = options.map_or(&[], |o| o.profiles.as_slice());

    let mut wdl: Vec<(usize, &[WdlUse], &WdlSymbols)> = Vec::new();
    let mut nf: Vec<(usize, &[NfUse], &InRun)> = Vec::new();
    // (rank, symbols): a profile's settings first (the last profile named first, as it wins),
    // then nextflow.config's, then the other files'.
    let mut nf_syms: Vec<(usize, NfSymbols)> = Vec::new();
    for chosen in &selection {
        let Some((k, p)) = parsed.get(chosen.index) else {
            continue;
        };
        let (path, text) = &sources[*k];
        let slot = result.files.len();
        let engine = match p {
            Parsed::Wdl(..) => Engine::Wdl,
            Parsed::Nextflow(..) => Engine::Nextflow,
            Parsed::Cwl => Engine::Cwl,
        };
        result.files.push(FileImages {
            path: path.clone(),
            engine,
            images: Vec::new(),
        });
        match p {
            Parsed::Wdl(uses, syms) => wdl.push((slot, uses, syms)),
            Parsed::Nextflow(uses, syms) => {
                let is_main_config =
                    path == "nextflow.config" || path.ends_with("/nextflow.config");
                let profile_rank = |name: &str| {
                    profiles
                        .iter()
                        .rev()
                        .position(|p| p == name)
                        .unwrap_or(profiles.len())
                };
                let rank = match &chosen.profile {
                    Some(p) => profile_rank(p),
                    None if is_main_config => profiles.len() + 1,
                    None => profiles.len() + 2,
                };
                nf.push((slot, uses, chosen));
                let mut own = NfSymbols {
                    params: syms.params.clone(),
                    docker_registry: syms.docker_registry.clone(),
                    ..NfSymbols::default()
                };
                nf_syms.push((rank, std::mem::take(&mut own)));
                // Settings written inside a profile block count when that profile is asked for.
                for (profile, name, value, line) in &syms.profile_settings {
                    if !profiles.contains(profile) {
                        continue;
                    }
                    let mut s = NfSymbols::default();
                    if name == "docker.registry" {
                        s.docker_registry = Some((value.clone(), *line));
                    } else {
                        s.params.push((name.clone(), value.clone(), *line));
                    }
                    nf_syms.push((profile_rank(profile), s));
                }
            }
            Parsed::Cwl => result.files[slot].images = images_in_cwl(text),
        }
    }

    let wdl_syms: Vec<&WdlSymbols> = wdl.iter().map(|(_, _, s)| *s).collect();
    let resolver = WdlResolver::new(&wdl_syms);
    for (slot, uses, _) in &wdl {
        result.files[*slot].images = resolve_wdl_uses(uses, &resolver);
    }

    nf_syms.sort_by_key(|(rank, _)| *rank);
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
    // Processes whose container a `withName` setting of the run replaces in every run with
    // these profiles (withName beats the process's own directive).
    let mut replaced: BTreeSet<String> = BTreeSet::new();
    for (slot, uses, chosen) in &nf {
        let mut images = Vec::new();
        for u in uses.iter() {
            // A profile block's container counts only when the profile is asked for.
            if u.profile.as_ref().is_some_and(|p| !profiles.contains(p)) {
                continue;
            }
            let profile = u.profile.clone().or_else(|| chosen.profile.clone());
            let condition = match (&chosen.condition, &u.condition) {
                (Some(a), Some(b)) => Some(format!("{a} && {b}")),
                (a, b) => a.clone().or_else(|| b.clone()),
            };
            for mut found in resolve_nf_uses(std::slice::from_ref(u), &merged) {
                if condition.is_none() && options.is_some() {
                    replaced.extend(processes_named_by(&found.context));
                }
                found.profile = profile.clone();
                if let Some(c) = &condition {
                    found.add_note(format!("only when {c}"));
                }
                images.push(found);
            }
        }
        result.files[*slot].images = images;
    }
    // A process also included under another name (`BWA as BWA_MEM`) keeps its own container
    // for that name: its directive stays.
    replaced.retain(|name| {
        !parsed.iter().any(|(k, p)| {
            matches!(p, Parsed::Nextflow(..)) && includes_under_alias(&sources[*k].1, name)
        })
    });
    drop_replaced_directives(&mut result, &replaced);

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
    // Listed only when there is more than one kind: `engine` says the one otherwise.
    result.engines = if engines.len() > 1 {
        engines
    } else {
        Vec::new()
    };
    result.files_read = result.files.len();
    result
}

/// The processes a `withName:SEL container` setting names by plain name (`FASTQC`,
/// `FASTQC|MULTIQC`); a pattern or a qualified name (`.*:FASTQC`, `WF:FASTQC`) names none, since
/// which processes it reaches depends on the workflow's names, and an image wrongly left out
/// would be missing from the run.
fn processes_named_by(context: &str) -> Vec<String> {
    let Some(selector) = with_name_selector(context) else {
        return Vec::new();
    };
    let plain = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let names: Vec<String> = selector.split('|').map(|n| n.trim().to_owned()).collect();
    match names.iter().all(|n| plain(n)) {
        true => names,
        false => Vec::new(),
    }
}

/// Whether `text` names `process` followed by `as` (an include under an alias).
fn includes_under_alias(text: &str, process: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '{' | '}' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| w[0] == process && w[1] == "as")
}

/// Leaves out the container directives of processes whose container the run's configs replace,
/// and says so. Only for a run read from its entry: without one every file was read, tests and
/// profile configs included, and their settings are not known to apply.
fn drop_replaced_directives(result: &mut ScanResult, replaced: &BTreeSet<String>) {
    if replaced.is_empty() || result.entry.is_none() {
        return;
    }
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    for file in &mut result.files {
        file.images
            .retain(|image| match directive_process(&image.context) {
                Some(name) if replaced.contains(name) => {
                    dropped.insert(name.to_owned());
                    false
                }
                _ => true,
            });
    }
    if !dropped.is_empty() {
        let names: Vec<String> = dropped.into_iter().collect();
        result.notes.push(format!(
            "the container directive of {} is left out: a withName setting of the run's configs replaces it",
            names.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::workflow_images::RunOptions;

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

    /// Sources from (path, text) pairs.
    fn src(rows: &[(&str, &str)]) -> Vec<(String, String)> {
        rows.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    }

    /// An nf-core-shaped pipeline in memory: entry, includes, configs, profiles, tests.
    fn pipeline() -> Vec<(String, String)> {
        let module = |tool: &str| {
            format!(
                "process {} {{\n  container \"${{ workflow.containerEngine == 'singularity' && !task.ext.singularity_pull_docker_container ?\n    'https://depot.galaxyproject.org/singularity/{tool}:1--0' :\n    'biocontainers/{tool}:1--0' }}\"\n}}\n",
                tool.to_uppercase()
            )
        };
        [
            ("main.nf", "include { WF } from './workflows/wf'\nworkflow { WF() }\n".to_owned()),
            ("workflows/wf.nf", "include { SUB } from '../subworkflows/local/sub'\ninclude { FASTQC } from '../modules/nf-core/fastqc/main'\ninclude { paramsSummary } from 'plugin/nf-schema'\nworkflow WF { SUB(); FASTQC() }\n".to_owned()),
            ("subworkflows/local/sub/main.nf", "include {\n  BWA;\n  BWA as BWA2\n} from '../../../modules/nf-core/bwa'\nworkflow SUB { BWA() }\n".to_owned()),
            ("modules/nf-core/fastqc/main.nf", module("fastqc")),
            ("modules/nf-core/bwa/main.nf", module("bwa")),
            ("modules/nf-core/unused/main.nf", module("unused")),
            ("modules/nf-core/fastqc/tests/nextflow.config", "process { withName: FASTQC { container = 'quay.io/test/only:1' } }\n".to_owned()),
            ("nf-test.config", "config { profile 'test' }\n".to_owned()),
            ("nextflow.config", "params {\n  igenomes_ignore = false\n  tag = '2.0'\n}\ndocker.registry = 'quay.io'\nincludeConfig 'conf/base.config'\nincludeConfig !params.igenomes_ignore ? 'conf/igenomes.config' : 'conf/igenomes_ignored.config'\nincludeConfig params.big ? 'conf/big.config' : 'conf/small.config'\nif (params.gpu) {\n  includeConfig 'conf/gpu.config'\n}\nprofiles {\n  docker { docker.enabled = true }\n  arm {\n    includeConfig 'conf/arm.config'\n    process.container = 'quay.io/arm/default:1'\n    params.tag = '3.0-arm'\n  }\n  test { includeConfig 'conf/test.config' }\n}\n".to_owned()),
            ("conf/base.config", "includeConfig 'nested.config'\nprocess { withLabel: big { cpus = 8 } }\n".to_owned()),
            ("conf/nested.config", "process { withName: MULTIQC { container = \"ghcr.io/multiqc/multiqc:${params.tag}\" } }\n".to_owned()),
            ("conf/igenomes.config", "process { withName: STAR { container = 'quay.io/igenomes/star:1' } }\n".to_owned()),
            ("conf/igenomes_ignored.config", "process { withName: STAR { container = 'quay.io/ignored/star:1' } }\n".to_owned()),
            ("conf/big.config", "process { withName: BIG { container = 'quay.io/x/big:1' } }\n".to_owned()),
            ("conf/small.config", "process { withName: BIG { container = 'quay.io/x/small:1' } }\n".to_owned()),
            ("conf/gpu.config", "process { withName: GPU { container = 'nvcr.io/nvidia/gpu:1' } }\n".to_owned()),
            ("conf/arm.config", "process { withName: FASTQC { container = { workflow.containerEngine == 'singularity' ? 'oras://community.wave.seqera.io/library/fastqc:arm' : 'community.wave.seqera.io/library/fastqc:arm' } } }\n".to_owned()),
            ("conf/test.config", "process { withName: FASTQC { container = 'quay.io/test/fastqc:1' } }\n".to_owned()),
            ("conf/unincluded.config", "process { withName: X { container = 'quay.io/x/unincluded:1' } }\n".to_owned()),
        ]
        .into_iter()
        .map(|(p, t)| (p.to_owned(), t))
        .collect()
    }

    /// (image, profile, note mentions a condition) of every resolved image.
    fn by_image(r: &ScanResult) -> Vec<ImageRow> {
        r.files
            .iter()
            .flat_map(|f| f.images.iter())
            .filter(|i| i.resolved)
            .map(|i| {
                let conditional = i.note.as_deref().is_some_and(|n| n.contains("only when"));
                (i.reference.clone(), i.profile.clone(), conditional)
            })
            .collect()
    }

    /// (image, profile, whether a condition brings it in).
    type ImageRow = (String, Option<String>, bool);

    /// (case, sources, file given, entry expected, images expected).
    type EntryCase = (
        &'static str,
        Vec<(String, String)>,
        Option<&'static str>,
        Option<&'static str>,
        Vec<&'static str>,
    );

    fn opts(profiles: &[&str]) -> RunOptions {
        RunOptions {
            profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
            entry: None,
        }
    }

    #[test]
    fn a_run_uses_what_the_entry_includes_and_the_profiles_asked_for() {
        let img = |r: &str, p: Option<&str>, c: bool| (r.to_owned(), p.map(str::to_owned), c);
        let default_run = vec![
            img("quay.io/igenomes/star:1", None, false),
            img("ghcr.io/multiqc/multiqc:2.0", None, false),
            img("quay.io/x/big:1", None, true),
            img("quay.io/x/small:1", None, true),
            img("nvcr.io/nvidia/gpu:1", None, true),
            img("quay.io/biocontainers/bwa:1--0", None, false),
            img("quay.io/biocontainers/fastqc:1--0", None, false),
        ];
        let mut arm_run = vec![
            img("quay.io/arm/default:1", Some("arm"), false),
            img(
                "community.wave.seqera.io/library/fastqc:arm",
                Some("arm"),
                false,
            ),
        ];
        // The profiles' `withName: FASTQC` replaces the module's own container: it is not pulled.
        let fastqc_module = img("quay.io/biocontainers/fastqc:1--0", None, false);
        let without_fastqc_module = || {
            let mut run = default_run.clone();
            run.retain(|i| *i != fastqc_module);
            run
        };
        arm_run.extend(without_fastqc_module());
        // The arm profile's parameter wins over the default.
        arm_run[3] = img("ghcr.io/multiqc/multiqc:3.0-arm", None, false);
        let mut test_run = vec![img("quay.io/test/fastqc:1", Some("test"), false)];
        test_run.extend(without_fastqc_module());
        let cases: Vec<(&[&str], Vec<ImageRow>)> = vec![
            (&[], default_run.clone()),
            (&["docker"], default_run),
            (&["docker", "arm"], arm_run),
            (&["test"], test_run),
        ];
        for (profiles, expected) in cases {
            let r = scan_run(&pipeline(), &opts(profiles));
            assert_eq!(r.entry.as_deref(), Some("main.nf"));
            let mut got = by_image(&r);
            let mut want = expected;
            got.sort();
            want.sort();
            assert_eq!(got, want, "profiles {profiles:?}");
            assert_eq!(r.docker_registry.as_deref(), Some("quay.io"));
            let replaced = r
                .notes
                .iter()
                .any(|n| n.contains("directive of FASTQC is left out"));
            assert_eq!(
                replaced,
                profiles.contains(&"arm") || profiles.contains(&"test")
            );
        }
    }

    #[test]
    fn a_process_included_under_an_alias_keeps_its_directive() {
        let sources = src(&[
            (
                "main.nf",
                "include { BWA; BWA as BWA_MEM } from './modules/bwa'\ninclude { FASTQC } from './modules/fastqc'\nworkflow { BWA(); BWA_MEM(); FASTQC() }\n",
            ),
            (
                "modules/bwa.nf",
                "process BWA {\n  container 'quay.io/biocontainers/bwa:1'\n}\n",
            ),
            (
                "modules/fastqc.nf",
                "process FASTQC {\n  container 'quay.io/biocontainers/fastqc:1'\n}\n",
            ),
            (
                "nextflow.config",
                "process {\n  withName: BWA { container = 'quay.io/x/bwa:2' }\n  withName: FASTQC { container = 'quay.io/x/fastqc:2' }\n}\n",
            ),
        ]);
        let r = scan_run(&sources, &opts(&[]));
        let mut images = r.distinct_images();
        images.sort();
        // BWA_MEM still runs BWA's own image; FASTQC's is replaced everywhere.
        assert_eq!(
            images,
            vec![
                "quay.io/biocontainers/bwa:1".to_owned(),
                "quay.io/x/bwa:2".to_owned(),
                "quay.io/x/fastqc:2".to_owned()
            ]
        );
        assert!(includes_under_alias(
            "include {\n  BWA as BWA_MEM\n}",
            "BWA"
        ));
        assert!(!includes_under_alias(
            "include { BWA } from 'x'\n// BWA assembles",
            "BWA"
        ));
    }

    #[test]
    fn only_a_plain_process_name_replaces_a_directive() {
        let cases: [(&str, &[&str]); 7] = [
            ("withName:FASTQC container", &["FASTQC"]),
            ("withName:FASTQC|MULTIQC container", &["FASTQC", "MULTIQC"]),
            ("withName:SAMTOOLS_SORT container", &["SAMTOOLS_SORT"]),
            // Patterns and qualified names reach processes by the workflow's names: kept.
            ("withName:.*:FASTQC container", &[]),
            ("withName:NFCORE_RNASEQ:RNASEQ:FASTQC container", &[]),
            ("withName:FASTQC|.*QC container", &[]),
            ("container directive (process FASTQC)", &[]),
        ];
        for (context, want) in cases {
            assert_eq!(processes_named_by(context), want, "{context}");
        }
    }

    #[test]
    fn files_outside_the_run_are_counted_by_reason() {
        let r = scan_run(&pipeline(), &opts(&[]));
        let groups: Vec<(&str, usize, Vec<&str>)> = r
            .not_in_run
            .iter()
            .map(|g| {
                (
                    g.reason.as_str(),
                    g.count,
                    g.examples.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            groups,
            vec![
                (
                    "nothing the entry includes uses it",
                    3,
                    vec![
                        "modules/nf-core/unused/main.nf",
                        "conf/igenomes_ignored.config",
                        "conf/unincluded.config"
                    ]
                ),
                (
                    "tests (nf-test and test configs), not part of a run",
                    2,
                    vec![
                        "modules/nf-core/fastqc/tests/nextflow.config",
                        "nf-test.config"
                    ]
                ),
                (
                    "included only under a profile not asked for (see profiles)",
                    2,
                    vec!["conf/arm.config (arm)", "conf/test.config (test)"]
                ),
            ]
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        let unknown = scan_run(&pipeline(), &opts(&["armm"]));
        assert_eq!(
            unknown.notes,
            vec!["profile `armm` is not defined by the pipeline's configs".to_owned()]
        );
    }

    #[test]
    fn conditional_configs_say_their_condition() {
        let r = scan_run(&pipeline(), &opts(&[]));
        let notes: Vec<(String, String)> = r
            .files
            .iter()
            .flat_map(|f| f.images.iter())
            .filter_map(|i| Some((i.reference.clone(), i.note.clone()?)))
            .filter(|(_, n)| n.contains("only when"))
            .collect();
        let note_of = |image: &str| {
            notes
                .iter()
                .find(|(i, _)| i == image)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        assert!(
            note_of("quay.io/x/big:1").contains("only when params.big"),
            "{notes:?}"
        );
        assert!(
            note_of("quay.io/x/small:1").contains("only when not (params.big)"),
            "{notes:?}"
        );
        assert!(
            note_of("nvcr.io/nvidia/gpu:1").contains("only when if (params.gpu)"),
            "{notes:?}"
        );
    }

    #[test]
    fn entries_of_each_engine_and_the_fallback() {
        let task = |image: &str| format!("task T {{\n  runtime {{ docker: \"{image}\" }}\n}}\n");
        let tool = |image: &str| {
            format!(
                "cwlVersion: v1.2\nclass: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerPull: {image}\n"
            )
        };
        let wf_wdl = "version 1.0\nimport \"tasks/a.wdl\" as a\nworkflow w {\n  call a.T\n}\n";
        let wf_cwl = "cwlVersion: v1.2\nclass: Workflow\nsteps:\n  a:\n    run: tools/a.cwl\n  b:\n    run: '#inline'\n";
        let cases: Vec<EntryCase> = vec![
            (
                "WDL: the workflow and its imports, not loose tasks",
                src(&[
                    ("main.wdl", wf_wdl),
                    ("tasks/a.wdl", &task("a:1")),
                    ("tasks/b.wdl", &task("b:1")),
                ]),
                None,
                Some("main.wdl"),
                vec!["a:1"],
            ),
            (
                "a bundle zipped with its folder",
                src(&[
                    ("wf/main.wdl", wf_wdl),
                    ("wf/tasks/a.wdl", &task("a:1")),
                    ("wf/tasks/b.wdl", &task("b:1")),
                ]),
                None,
                Some("wf/main.wdl"),
                vec!["a:1"],
            ),
            (
                "CWL: the Workflow and what its steps run",
                src(&[
                    ("workflow.cwl", wf_cwl),
                    ("tools/a.cwl", &tool("a:1")),
                    ("tools/b.cwl", &tool("b:1")),
                ]),
                None,
                Some("workflow.cwl"),
                vec!["a:1"],
            ),
            (
                "loose task files: no entry, every file",
                src(&[("a.wdl", &task("a:1")), ("b.wdl", &task("b:1"))]),
                None,
                None,
                vec!["a:1", "b:1"],
            ),
            (
                "two workflows: no entry, every file",
                src(&[
                    ("one.wdl", wf_wdl),
                    ("two.wdl", "workflow v {}\n"),
                    ("tasks/a.wdl", &task("a:1")),
                    ("tasks/b.wdl", &task("b:1")),
                ]),
                None,
                None,
                vec!["a:1", "b:1"],
            ),
            (
                "a given file is the entry",
                src(&[
                    ("two.wdl", "import \"tasks/b.wdl\" as b\nworkflow v {}\n"),
                    ("one.wdl", wf_wdl),
                    ("tasks/a.wdl", &task("a:1")),
                    ("tasks/b.wdl", &task("b:1")),
                ]),
                Some("two.wdl"),
                Some("two.wdl"),
                vec!["b:1"],
            ),
            (
                "Nextflow: manifest.mainScript names the entry",
                src(&[
                    (
                        "nextflow.config",
                        "manifest { mainScript = 'pipeline.nf' }\n",
                    ),
                    ("pipeline.nf", "process A { container 'a:1' }\n"),
                    ("other.nf", "process B { container 'b:1' }\n"),
                ]),
                None,
                Some("pipeline.nf"),
                vec!["a:1"],
            ),
        ];
        for (name, sources, given, entry, images) in cases {
            let options = RunOptions {
                profiles: Vec::new(),
                entry: given.map(str::to_owned),
            };
            let r = scan_run(&sources, &options);
            assert_eq!(r.entry.as_deref(), entry, "{name}");
            assert_eq!(r.distinct_images(), images, "{name}");
            if entry.is_none() {
                assert!(
                    r.notes
                        .iter()
                        .any(|n| n.contains("every workflow file was read")),
                    "{name}: {:?}",
                    r.notes
                );
            }
        }
    }

    #[test]
    fn singularity_references_are_not_docker_images() {
        let sources = vec![(
            "main.nf".to_owned(),
            "process A { container 'oras://community.wave.seqera.io/library/a:1' }\nprocess B { container 'https://depot.galaxyproject.org/singularity/b:1' }\nprocess C { container 'library://user/c:1' }\nprocess D { container 'shub://user/d:1' }\nprocess E { container 'docker://quay.io/x/e:1' }\n".to_owned(),
        )];
        let r = scan_run(&sources, &opts(&[]));
        assert_eq!(r.distinct_images(), vec!["quay.io/x/e:1".to_owned()]);
        let unresolved: Vec<&str> = r
            .unresolved()
            .iter()
            .map(|(_, i)| i.reference.as_str())
            .collect();
        assert_eq!(unresolved.len(), 4, "{unresolved:?}");
        assert!(
            r.unresolved()
                .iter()
                .all(|(_, i)| i.note.as_deref().is_some_and(|n| n.contains("Singularity")))
        );
    }
}
