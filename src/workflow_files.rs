//! The I/O half of the workflow image scan, kept out of `core` because `core` does no I/O:
//! walks a workflow folder (or takes one file), or reads a definition bundle, skips folders and
//! files that cannot be workflow definitions or are too large, and feeds the text of the rest to
//! [`crate::core::workflow_images::scan_sources`], which stays pure so callers with files from
//! elsewhere (S3, a zip) can use it directly. A HealthOmics workflow is read here too, with the
//! bundle of its exported definition, because its definition is one more place images are found.

use std::fs;
use std::path::{Path, PathBuf};

use crate::aws::{AwsCallError, AwsClients, omics};
use crate::core::plan::map_report::{DefinitionRead, WorkflowRead};
use crate::core::workflow_images::{
    RunOptions, ScanResult, SkippedFile, is_candidate_name, scan_run, scan_sources,
};

/// Files larger than this are skipped: workflow definitions are small, large files are data.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// At most this many files are looked at, so a wrong folder (a home directory) stays cheap.
pub const MAX_FILES: usize = 10_000;

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(
        "`{path}` does not exist: give the path of a workflow file or of the folder that holds it"
    )]
    NotFound { path: String },
    #[error("`{path}` could not be read: {message}")]
    Io { path: String, message: String },
    #[error(
        "`{path}` is neither a file nor a folder: give the path of a workflow file or of the folder that holds it"
    )]
    NotAFileOrFolder { path: String },
    #[error("the workflow definition bundle is not a readable zip archive: {0}")]
    BadBundle(String),
}

/// Scans a workflow definition bundle (the zip HealthOmics stores and exports) the way
/// [`scan_path`] scans a folder: same candidate files, same size and count limits, and only
/// the files a run with `options` uses.
pub fn scan_zip(root: &str, bytes: &[u8], options: &RunOptions) -> Result<ScanResult, ScanError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ScanError::BadBundle(e.to_string()))?;
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = 0usize;
    let mut truncated = false;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| ScanError::BadBundle(e.to_string()))?;
        if !entry.is_file() {
            continue;
        }
        let Some(name) = entry.enclosed_name().map(|p| relative(Path::new(""), &p)) else {
            continue;
        };
        if seen == MAX_FILES {
            truncated = true;
            break;
        }
        seen += 1;
        let file_name = name.rsplit('/').next().unwrap_or(&name);
        if !is_candidate_name(file_name) || name.split('/').any(|part| part.starts_with('.')) {
            continue;
        }
        if entry.size() > MAX_FILE_BYTES {
            skipped.push(SkippedFile {
                path: name,
                reason: format!(
                    "{} bytes, over the {MAX_FILE_BYTES}-byte limit for workflow files",
                    entry.size()
                ),
            });
            continue;
        }
        // Read at most the limit: the declared size of a zip entry can lie.
        let mut text = String::new();
        match std::io::Read::read_to_string(
            &mut std::io::Read::take(&mut entry, MAX_FILE_BYTES),
            &mut text,
        ) {
            Ok(_) => sources.push((name, text)),
            Err(_) => skipped.push(SkippedFile {
                path: name,
                reason: "not UTF-8 text".into(),
            }),
        }
    }
    let mut result = scan_run(&sources, options);
    result.root = root.to_owned();
    result.skipped.extend(skipped);
    result.files_seen = seen;
    result.truncated = truncated;
    Ok(result)
}

/// Reads a workflow file, or the workflow files under a folder, and extracts the images a run
/// with `options` uses (see [`scan_run`]). A Nextflow file given alone is scanned as is; a WDL or
/// CWL file given alone is the entry, and what it imports or runs is read from its folder.
/// Skips `.git`, `work`, `node_modules` and hidden folders, files over `MAX_FILE_BYTES`, and
/// stops after `MAX_FILES` files (`truncated`). Symbolic links to folders are not followed.
pub fn scan_path(path: &Path, options: &RunOptions) -> Result<ScanResult, ScanError> {
    scan_path_within(path, options, MAX_FILES, MAX_FILE_BYTES)
}

/// What a walk read: the candidates' text, what it skipped, how many files it saw, whether it
/// stopped at the limit.
#[derive(Default)]
struct Walked {
    sources: Vec<(String, String)>,
    skipped: Vec<SkippedFile>,
    seen: usize,
    truncated: bool,
}

fn scan_path_within(
    path: &Path,
    options: &RunOptions,
    max_files: usize,
    max_bytes: u64,
) -> Result<ScanResult, ScanError> {
    let shown = path.display().to_string();
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ScanError::NotFound {
            path: shown.clone(),
        },
        _ => ScanError::Io {
            path: shown.clone(),
            message: e.to_string(),
        },
    })?;
    let (walked, result) = if meta.is_file() {
        let name = path
            .file_name()
            .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
        let lower = name.to_ascii_lowercase();
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        match folder {
            Some(folder) if lower.ends_with(".wdl") || lower.ends_with(".cwl") => {
                let walked = walk(folder, max_files, max_bytes);
                let entry = RunOptions {
                    entry: Some(name),
                    ..options.clone()
                };
                let result = scan_run(&walked.sources, &entry);
                (walked, result)
            }
            _ => {
                let mut walked = Walked {
                    seen: 1,
                    ..Walked::default()
                };
                read_candidate(
                    path,
                    name,
                    meta.len(),
                    max_bytes,
                    &mut walked.sources,
                    &mut walked.skipped,
                );
                let result = scan_sources(&walked.sources);
                (walked, result)
            }
        }
    } else if meta.is_dir() {
        let walked = walk(path, max_files, max_bytes);
        let result = scan_run(&walked.sources, options);
        (walked, result)
    } else {
        return Err(ScanError::NotAFileOrFolder { path: shown });
    };
    let mut result = result;
    result.root = shown;
    result.skipped = walked.skipped;
    result.files_seen = walked.seen;
    result.truncated = walked.truncated;
    Ok(result)
}

/// Reads the candidate files under a folder, depth-first in name order.
fn walk(path: &Path, max_files: usize, max_bytes: u64) -> Walked {
    let mut w = Walked::default();
    let mut stack: Vec<PathBuf> = vec![path.to_path_buf()];
    'walk: while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                w.skipped.push(SkippedFile {
                    path: relative(path, &dir),
                    reason: format!("folder could not be read: {e}"),
                });
                continue;
            }
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let full = entry.path();
            if kind.is_dir() {
                if !(name.starts_with('.') || name == "work" || name == "node_modules") {
                    subdirs.push(full);
                }
                continue;
            }
            if kind.is_symlink() && fs::metadata(&full).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            if w.seen >= max_files {
                w.truncated = true;
                break 'walk;
            }
            w.seen += 1;
            if !is_candidate_name(&name) {
                continue;
            }
            let size = fs::metadata(&full).map_or(0, |m| m.len());
            read_candidate(
                &full,
                relative(path, &full),
                size,
                max_bytes,
                &mut w.sources,
                &mut w.skipped,
            );
        }
        // Depth-first in name order.
        subdirs.reverse();
        stack.extend(subdirs);
    }
    w
}

fn read_candidate(
    full: &Path,
    rel: String,
    size: u64,
    max_bytes: u64,
    sources: &mut Vec<(String, String)>,
    skipped: &mut Vec<SkippedFile>,
) {
    if size > max_bytes {
        skipped.push(SkippedFile {
            path: rel,
            reason: format!("{size} bytes, over the {max_bytes}-byte limit for workflow files"),
        });
        return;
    }
    match fs::read(full) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => sources.push((rel, text)),
            Err(_) => skipped.push(SkippedFile {
                path: rel,
                reason: "not UTF-8 text".into(),
            }),
        },
        Err(e) => skipped.push(SkippedFile {
            path: rel,
            reason: format!("could not be read: {e}"),
        }),
    }
}

fn relative(root: &Path, full: &Path) -> String {
    let rel = full.strip_prefix(root).unwrap_or(full);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A HealthOmics workflow as the registry map checks it: its stored map and, with
/// `with_definition` (no images were given), the images of its exported definition. The workflow
/// must be readable; a definition that cannot be downloaded or scanned is said in the read.
pub async fn healthomics_workflow(
    clients: &AwsClients,
    id: &str,
    with_definition: bool,
    options: &RunOptions,
) -> Result<WorkflowRead, AwsCallError> {
    let workflow = omics::workflow(&clients.omics, id, with_definition).await?;
    let definition = match (&workflow.definition_url, with_definition) {
        (_, false) => DefinitionRead::NotNeeded,
        (None, true) => DefinitionRead::NotExported,
        (Some(url), true) => match exported_definition_scan(url, &workflow.id, options).await {
            Ok(scan) => DefinitionRead::Scanned(Box::new(scan)),
            Err(problem) => DefinitionRead::Unreadable(problem),
        },
    };
    Ok(WorkflowRead {
        id: workflow.id,
        name: workflow.name,
        engine: workflow.engine,
        container_registry_map: workflow.container_registry_map,
        definition,
    })
}

/// Downloads the exported definition bundle and scans it; a failure is reported, not fatal.
async fn exported_definition_scan(
    url: &str,
    id: &str,
    options: &RunOptions,
) -> Result<ScanResult, String> {
    let bytes = omics::download_definition(url)
        .await
        .map_err(|e| e.message)?;
    let root = format!("workflow {id}");
    let options = options.clone();
    tokio::task::spawn_blocking(move || scan_zip(&root, &bytes, &options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registries::AccessPath;
    use crate::core::registry_map::{
        CacheMapping, ContainerRegistryMap, ImageMapping, RegistryMapping, coverage,
    };
    use crate::core::workflow_images::Engine;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SHA: &str = "sha256:6a4a087328f6df19a423c0fe00cabcfc6d5f237a2c0e435fd90109fb65dacd02";

    fn examples(dir: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/workflows")
            .join(dir)
    }

    fn scanned(path: &Path) -> ScanResult {
        match scan_path(path, &RunOptions::default()) {
            Ok(r) => r,
            Err(e) => panic!("scan of {} failed: {e}", path.display()),
        }
    }

    /// (file, reference, line) of every image, in scan order.
    fn found(r: &ScanResult) -> Vec<(String, String, usize, bool)> {
        r.files
            .iter()
            .flat_map(|f| {
                f.images
                    .iter()
                    .map(|i| (f.path.clone(), i.reference.clone(), i.line, i.resolved))
            })
            .collect()
    }

    fn f(file: &str, reference: &str, line: usize) -> (String, String, usize, bool) {
        (file.into(), reference.into(), line, true)
    }

    #[test]
    fn example_wdl_images() {
        let r = scanned(&examples("wdl"));
        assert_eq!(r.engine, Some(Engine::Wdl));
        assert_eq!(
            found(&r),
            vec![
                f("main.wdl", "ubuntu:22.04", 51),
                f(
                    "tasks/align.wdl",
                    "quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8",
                    18
                ),
                // SortBam's own default (1.17) loses to the value the workflow passes.
                f(
                    "tasks/align.wdl",
                    "quay.io/biocontainers/samtools:1.19.2--h50ea8bc_1",
                    37
                ),
                f(
                    "tasks/align.wdl",
                    &format!(
                        "community.wave.seqera.io/library/fastp:0.23.4--f8cefc1e5f7a782e@{SHA}"
                    ),
                    56
                ),
                f(
                    "tasks/align.wdl",
                    "quay.io/biocontainers/fastp:0.23.4--hadf994f_2",
                    57
                ),
                ("tasks/align.wdl".into(), "multiqc_image".into(), 71, false),
            ]
        );
        assert_eq!(r.unresolved().len(), 1);
        assert_eq!(r.image_uses().len(), 5);
    }

    #[test]
    fn example_nextflow_images() {
        let r = scanned(&examples("nextflow"));
        assert_eq!(r.engine, Some(Engine::Nextflow));
        assert_eq!(r.docker_registry.as_deref(), Some("quay.io"));
        assert_eq!(
            found(&r),
            vec![
                f(
                    "main.nf",
                    "public.ecr.aws/docker/library/python:3.12-slim",
                    14
                ),
                f("conf/modules.config", "ghcr.io/multiqc/multiqc:v1.25.1", 3),
                f(
                    "conf/modules.config",
                    "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1",
                    6
                ),
                f(
                    "modules/local/deepvariant/main.nf",
                    "quay.io/google/deepvariant:1.6.1",
                    3
                ),
                f(
                    "modules/local/fastqc/main.nf",
                    "quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0",
                    8
                ),
                f(
                    "modules/local/samtools_sort/main.nf",
                    "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd",
                    7
                ),
            ]
        );
        let contexts: Vec<String> = r
            .files
            .iter()
            .flat_map(|f| f.images.iter().map(|i| i.context.clone()))
            .collect();
        assert_eq!(contexts[1], "withName:MULTIQC container");
        assert_eq!(contexts[2], "withLabel:process_gpu container");
        assert_eq!(contexts[4], "container directive (process FASTQC)");
    }

    #[test]
    fn example_cwl_images() {
        let r = scanned(&examples("cwl"));
        assert_eq!(r.engine, Some(Engine::Cwl));
        assert_eq!(
            found(&r),
            vec![
                f("workflow.cwl", "ubuntu:22.04", 37),
                f(
                    "tools/bwa-mem.cwl",
                    "quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8",
                    8
                ),
                f(
                    "tools/samtools-sort.cwl",
                    "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd",
                    8
                ),
            ]
        );
    }

    #[test]
    fn all_examples_at_once_and_single_files() {
        let r = scanned(&examples(""));
        assert_eq!(r.engines, vec![Engine::Wdl, Engine::Nextflow, Engine::Cwl]);
        assert_eq!(r.engine, Some(Engine::Nextflow));
        // ubuntu, bwa and htslib_samtools appear in two engines' examples each; with no entry,
        // nfcore's test, unincluded and profile configs are read too (7 more images), and
        // `prepare/` (the end-to-end test of PrepareWorkflowContainers) adds 7 of its own.
        let all = r.distinct_images();
        assert_eq!(all.len(), 26);
        assert!(all.contains(&"quay.io/nf-core/test-fastqc:dev".to_owned()));
        assert_eq!(r.entry, None, "three engines' folders: no one entry");
        assert!(
            r.notes[0].contains("every workflow file was read"),
            "{:?}",
            r.notes
        );
        // A WDL file given alone is the entry: what it imports is read from its folder.
        let one = scanned(&examples("wdl/main.wdl"));
        assert_eq!(one.entry.as_deref(), Some("main.wdl"));
        let paths: Vec<&str> = one.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["main.wdl", "tasks/align.wdl"]);
        assert_eq!(one.distinct_images().len(), 5);
        // A Nextflow file given alone is scanned as is.
        let nf = scanned(&examples("nextflow/modules/local/fastqc/main.nf"));
        assert_eq!(nf.entry, None);
        assert_eq!(
            nf.distinct_images(),
            vec!["biocontainers/fastqc:0.12.1--hdfd78af_0".to_owned()]
        );
    }

    /// The nf-core-shaped example: a default run, then with profiles.
    #[test]
    fn example_nfcore_follows_the_run() {
        let run = |profiles: &[&str]| {
            let options = RunOptions {
                profiles: profiles.iter().map(|p| (*p).to_owned()).collect(),
                entry: None,
            };
            match scan_path(&examples("nfcore"), &options) {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            }
        };
        let default = run(&[]);
        assert_eq!(default.entry.as_deref(), Some("main.nf"));
        assert_eq!(
            found(&default),
            vec![
                f("conf/modules.config", "ghcr.io/multiqc/multiqc:v1.25.1", 3),
                f(
                    "modules/nf-core/fastqc/main.nf",
                    "quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0",
                    8
                ),
                f(
                    "modules/nf-core/samtools/sort/main.nf",
                    "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd",
                    8
                ),
            ]
        );
        let reasons: Vec<(&str, usize)> = default
            .not_in_run
            .iter()
            .map(|g| (g.reason.as_str(), g.count))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("tests (nf-test and test configs), not part of a run", 3),
                (
                    "included only under a profile not asked for (see profiles)",
                    2
                ),
                ("nothing the entry includes uses it", 3),
            ]
        );

        let with = run(&["docker", "arm", "gpu"]);
        assert_eq!(with.profiles, vec!["docker", "arm", "gpu"]);
        let mut profiled: Vec<(String, Option<String>)> = with
            .files
            .iter()
            .flat_map(|f| f.images.iter())
            .map(|i| (i.reference.clone(), i.profile.clone()))
            .filter(|(_, p)| p.is_some())
            .collect();
        profiled.sort();
        assert_eq!(
            profiled,
            vec![
                (
                    "community.wave.seqera.io/library/fastqc:0.12.1--arm64".to_owned(),
                    Some("arm".to_owned())
                ),
                (
                    "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1".to_owned(),
                    Some("gpu".to_owned())
                ),
            ]
        );
        // The arm profile's `withName: FASTQC` replaces the module's own fastqc image, as
        // conf/modules.config's `withName: REPORT` replaces REPORT's in every run.
        assert_eq!(with.distinct_images().len(), 4);
        assert!(
            !with
                .distinct_images()
                .contains(&"quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0".to_owned())
        );
    }

    /// The Nextflow example through coverage: what a HealthOmics run of it needs.
    #[test]
    fn example_nextflow_coverage() {
        let r = scanned(&examples("nextflow"));
        let map = ContainerRegistryMap {
            registry_mappings: vec![
                RegistryMapping {
                    upstream_registry_url: "quay.io".into(),
                    ecr_repository_prefix: "quay".into(),
                    upstream_repository_prefix: None,
                    ecr_account_id: None,
                    credential_arn: None,
                },
                RegistryMapping {
                    upstream_registry_url: "community.wave.seqera.io".into(),
                    ecr_repository_prefix: "seqera-community".into(),
                    upstream_repository_prefix: None,
                    ecr_account_id: None,
                    credential_arn: Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:omics-registry/seqera".into()),
                },
            ],
            image_mappings: vec![ImageMapping {
                source_image: "public.ecr.aws/docker/library/python:3.12-slim".into(),
                destination_image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/python:3.12-slim".into(),
            }],
        };
        let caches = vec![CacheMapping {
            upstream_registry_url: "quay.io".into(),
            ecr_repository_prefix: "quay".into(),
            upstream_repository_prefix: None,
        }];
        let report = coverage(
            &r.image_uses(),
            &map,
            "123456789012",
            "us-east-1",
            Some(&caches),
        );
        let by_image: Vec<(String, Option<AccessPath>, bool)> = report
            .images
            .iter()
            .map(|i| (i.image.clone(), i.class, i.covered))
            .collect();
        assert_eq!(
            by_image,
            vec![
                (
                    "public.ecr.aws/docker/library/python:3.12-slim".into(),
                    Some(AccessPath::PullThroughCache),
                    true
                ),
                (
                    "ghcr.io/multiqc/multiqc:v1.25.1".into(),
                    Some(AccessPath::PullThroughCache),
                    false
                ),
                (
                    "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1".into(),
                    Some(AccessPath::HealthOmicsCopy),
                    false
                ),
                (
                    "quay.io/google/deepvariant:1.6.1".into(),
                    Some(AccessPath::PullThroughCache),
                    true
                ),
                (
                    "quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0".into(),
                    Some(AccessPath::PullThroughCache),
                    true
                ),
                (
                    "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd"
                        .into(),
                    Some(AccessPath::HealthOmicsCopy),
                    true
                ),
            ]
        );
        let wave = &report.images[5];
        assert_eq!(
            wave.found_in[0].file.as_deref(),
            Some("modules/local/samtools_sort/main.nf")
        );
        assert_eq!(wave.found_in[0].line, Some(7));
        assert_eq!(
            wave.problems[0].code,
            crate::core::registry_map::CoverageCode::TagNotPinned
        );
        assert_eq!(report.fixes.len(), 2);
        assert!(!report.all_covered);
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "workflow-images-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            if let Err(e) = fs::create_dir_all(&path) {
                panic!("cannot create {}: {e}", path.display());
            }
            Self(path)
        }

        fn write(&self, rel: &str, content: &[u8]) {
            let path = self.0.join(rel);
            if let Some(parent) = path.parent()
                && let Err(e) = fs::create_dir_all(parent)
            {
                panic!("{e}");
            }
            if let Err(e) = fs::write(&path, content) {
                panic!("cannot write {}: {e}", path.display());
            }
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn scan_skips_what_it_should() {
        let d = TempDir::new();
        let wdl = b"task a { runtime { docker: \"ubuntu:22.04\" } }";
        d.write("main.wdl", wdl);
        d.write(".git/hooks/x.wdl", wdl);
        d.write(".hidden/x.wdl", wdl);
        d.write("work/ab/cd/x.nf", b"process A { container 'work:1' }");
        d.write(
            "node_modules/pkg/x.cwl",
            b"class: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerPull: nm:1\n",
        );
        d.write("notes/meta.yml", b"name: tool\ndockerPull: not-cwl:1\n");
        d.write("cwl/tool.yaml", b"cwlVersion: v1.2\nclass: CommandLineTool\nhints:\n  DockerRequirement:\n    dockerPull: cwl:1\n");
        d.write("bin/latin1.wdl", &[b'#', 0xe9, b'\n']);
        d.write("README.md", b"docker: \"readme:1\"");
        let mut big = b"task a { runtime { docker: \"big:1\" } }\n".to_vec();
        big.resize((MAX_FILE_BYTES + 1) as usize, b'#');
        d.write("big.wdl", &big);

        let r = scanned(&d.0);
        let paths: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["main.wdl", "cwl/tool.yaml"]);
        assert_eq!(
            r.distinct_images(),
            vec!["ubuntu:22.04".to_owned(), "cwl:1".to_owned()]
        );
        let skipped: Vec<(&str, bool)> = r
            .skipped
            .iter()
            .map(|s| {
                (
                    s.path.as_str(),
                    s.reason.contains("limit") || s.reason.contains("UTF-8"),
                )
            })
            .collect();
        assert_eq!(skipped, vec![("big.wdl", true), ("bin/latin1.wdl", true)]);
        assert_eq!(r.engines, vec![Engine::Wdl, Engine::Cwl]);
        assert!(!r.truncated);
        assert_eq!(r.files_seen, 6);
    }

    #[test]
    fn scan_stops_at_the_file_limit() {
        let d = TempDir::new();
        d.write("a.wdl", b"task a { runtime { docker: \"early:1\" } }");
        for k in 0..10 {
            d.write(&format!("f{k:02}.txt"), b"");
        }
        d.write("zz/main.wdl", b"task a { runtime { docker: \"late:1\" } }");
        let r = match scan_path_within(&d.0, &RunOptions::default(), 5, MAX_FILE_BYTES) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert!(r.truncated);
        assert_eq!(r.files_seen, 5);
        assert_eq!(r.distinct_images(), vec!["early:1".to_owned()]);
        let all = scanned(&d.0);
        assert!(!all.truncated);
        assert_eq!(all.files_seen, 12);
        assert_eq!(
            all.distinct_images(),
            vec!["early:1".to_owned(), "late:1".to_owned()]
        );
    }

    #[test]
    fn scan_errors() {
        let missing = scan_path(
            Path::new("/nonexistent/workflow-images-test"),
            &RunOptions::default(),
        );
        assert!(
            matches!(missing, Err(ScanError::NotFound { .. })),
            "{missing:?}"
        );
        let text = missing
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string());
        assert!(text.contains("does not exist"), "{text}");
    }
}
