//! What a scan reports: each image found with where it is used, per file, and the scan as a
//! whole.

use schemars::JsonSchema;
use serde::Serialize;

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
    /// The Nextflow profile that brings this image into a run (absent: every run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl FoundImage {
    pub(super) fn literal(reference: String, line: usize, context: &str) -> Self {
        Self {
            reference,
            line,
            context: context.to_owned(),
            note: None,
            resolved: true,
            profile: None,
        }
    }

    pub(super) fn add_note(&mut self, note: String) {
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

/// Workflow files a run does not use, for one reason: how many, and a few of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NotInRun {
    pub reason: String,
    pub count: usize,
    /// Up to three of the files.
    pub examples: Vec<String>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<Engine>,
    /// Workflow files read.
    pub files_read: usize,
    /// With `detail`: the workflow files read, with the images in each (the coverage rows say
    /// where each image is used).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileImages>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedFile>,
    /// Files looked at (all kinds).
    pub files_seen: usize,
    /// True when the scan stopped at its file limit (`crate::workflow_files::MAX_FILES`).
    pub truncated: bool,
    /// Nextflow `docker.registry`, applied to bare image names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_registry: Option<String>,
    /// The file the scan followed includes and imports from; absent when no entry could be
    /// told and every workflow file was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The Nextflow profiles applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// How the files were chosen, and what could not be followed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Workflow files a run does not use (not scanned), grouped by reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_run: Vec<NotInRun>,
}

impl ScanResult {
    /// What a result carries of the scan: counts, entry, notes and what a run leaves out; the
    /// per-file listing only with `detail`.
    pub fn sized(mut self, detail: bool) -> Self {
        if !detail {
            self.files.clear();
        }
        self
    }

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

/// A finding that is an expression, with why it could not be resolved.
pub(super) fn unresolved(reference: String, line: usize, context: &str, why: &str) -> FoundImage {
    FoundImage {
        reference,
        line,
        context: context.to_owned(),
        note: Some(format!(
            "not resolved: {why}; check which image a run really uses"
        )),
        resolved: false,
        profile: None,
    }
}
