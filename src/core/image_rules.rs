//! HealthOmics container requirements checked against what a registry says about an image.
//!
//! HealthOmics documents its container rules in prose (x86_64 only, no ENTRYPOINT, `/tmp` is a
//! mount, `AWS_WORKFLOW_` is reserved, a size quota); a run that breaks one fails late, after
//! the image was pulled. Tools that see an image report every broken rule as a finding with its
//! fix, before a run does. Pure: the caller supplies the config, manifest facts and layer paths.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const GIB: u64 = 1024 * 1024 * 1024;

/// Largest image HealthOmics starts a task with on CPU instances: the run-failure table names
/// 45 GiB at task start. The quota counts the image as the task sees it, so it is compared with
/// the uncompressed (extracted) size when that is known.
pub const HEALTHOMICS_IMAGE_SIZE_LIMIT_BYTES: u64 = 45 * GIB;
/// The same limit on GPU instances (95 GiB), quoted in messages for GPU tasks.
pub const HEALTHOMICS_GPU_IMAGE_SIZE_LIMIT_BYTES: u64 = 95 * GIB;
/// Lower bound for how much gzip'd layers grow when extracted, used when only the compressed
/// size is known: typical images expand 2–4×, so a compressed size above limit / 2 is worth a
/// note even though it may still fit.
pub const ASSUMED_MIN_EXPANSION: u64 = 2;
/// Environment variable prefix HealthOmics reserves for the variables it sets in every task.
pub const RESERVED_ENV_PREFIX: &str = "AWS_WORKFLOW_";
/// Where HealthOmics mounts the task's shared filesystem, hiding whatever the image has there.
pub const SHARED_TMP_MOUNT: &str = "/tmp";

/// How many example paths a `files_in_tmp` finding quotes.
const TMP_EXAMPLES: usize = 5;

/// An image platform (`os/architecture[/variant]`), in the spelling of OCI image indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture in Go's naming, e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// CPU variant, e.g. `v8` for arm64; absent for most amd64 images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The one platform HealthOmics runs.
    pub fn linux_amd64() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// Parses `os/arch[/variant]`, lowercased; `x86_64` and `aarch64` are accepted as the
    /// names `uname -m` prints.
    pub fn parse(input: &str) -> Result<Self, PlatformParseError> {
        let lowered = input.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lowered.split('/').collect();
        let bad = || PlatformParseError {
            input: input.to_owned(),
        };
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] if !variant.is_empty() => (*os, *arch, Some(*variant)),
            _ => return Err(bad()),
        };
        // Starting with a letter or digit keeps `..` and friends out of a field that ends up
        // in registry requests and messages.
        let valid = |s: &str| {
            s.len() <= 32
                && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        if !valid(os) || !valid(arch) || variant.is_some_and(|v| !valid(v)) {
            return Err(bad());
        }
        Ok(Self {
            os: os.to_owned(),
            architecture: normalize_architecture(arch).to_owned(),
            variant: variant.map(str::to_owned),
        })
    }

    /// True for linux on x86_64, whatever the variant (`v2`, `v3` run on HealthOmics hosts).
    pub fn is_linux_amd64(&self) -> bool {
        self.os == "linux" && normalize_architecture(&self.architecture) == "amd64"
    }

    /// True for the `unknown/unknown` entries build tools add to indexes for attestations.
    pub fn is_attestation_placeholder(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A platform string that is not `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "platform `{input}` is not valid: write it as `os/architecture[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`"
)]
pub struct PlatformParseError {
    pub input: String,
}

/// Maps the names people and some build tools use to Go's architecture names.
pub fn normalize_architecture(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        other => other,
    }
}

/// Architectures Go (and so Docker and OCI) name; anything else is reported as unknown.
const KNOWN_ARCHITECTURES: [&str; 13] = [
    "amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips", "mipsle",
    "mips64", "mips64le", "loong64",
];

/// The parts of an image config the rules read (`architecture`, `os` and the run settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageConfigSummary {
    /// CPU architecture the image was built for, as the config states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Operating system, normally `linux`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// CPU variant, if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `ENTRYPOINT`; HealthOmics wants none.
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `ENV` as `NAME=value` entries.
    #[serde(default)]
    pub env: Vec<String>,
    /// `WORKDIR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `USER`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// What the manifest says about the image as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManifestSummary {
    /// For an index or manifest list, the platforms it lists; `None` for a single image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_platforms: Option<Vec<Platform>>,
    /// Config plus layer sizes of the selected image, as stored (compressed).
    pub compressed_size: u64,
    /// Sum of the extracted layer sizes, when the layers were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncompressed_size: Option<u64>,
}

pub use crate::core::findings::Severity;

/// Which rule a finding is about. Stable lowercase codes agents may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleCode {
    NotAmd64,
    EntrypointSet,
    ReservedEnvPrefix,
    FilesInTmp,
    ImageTooLarge,
    UnknownArchitecture,
}

/// One broken or doubtful rule, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleFinding {
    pub code: RuleCode,
    pub severity: Severity,
    pub message: String,
    pub remediation: String,
}

impl RuleFinding {
    fn new(
        code: RuleCode,
        severity: Severity,
        message: String,
        remediation: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity,
            message,
            remediation: remediation.into(),
        }
    }
}

/// Checks an image against the HealthOmics container rules. `config` is the image that would
/// run (the linux/amd64 entry of an index, when there is one); `layer_paths` are the file paths
/// of all its layers, when they were read, and enable the `/tmp` rule.
pub fn check_image(
    config: &ImageConfigSummary,
    manifest: &ManifestSummary,
    layer_paths: Option<&[String]>,
) -> Vec<RuleFinding> {
    let mut findings = Vec::new();
    check_platform(config, manifest, &mut findings);
    check_entrypoint(config, &mut findings);
    check_env(config, &mut findings);
    if let Some(paths) = layer_paths {
        check_tmp(paths, &mut findings);
    }
    check_size(manifest, &mut findings);
    findings
}

const AMD64_FIX: &str = "Build and push an x86_64 image (`docker buildx build --platform linux/amd64 ...`), or add a linux/amd64 entry to the multi-arch image, and point the workflow at it";

fn check_platform(
    config: &ImageConfigSummary,
    manifest: &ManifestSummary,
    findings: &mut Vec<RuleFinding>,
) {
    if let Some(platforms) = &manifest.index_platforms {
        let real: Vec<&Platform> = platforms
            .iter()
            .filter(|p| !p.is_attestation_placeholder())
            .collect();
        if real.is_empty() {
            findings.push(RuleFinding::new(
                RuleCode::UnknownArchitecture,
                Severity::Warning,
                "the image index lists no platform, so it cannot be told whether it has an x86_64 (linux/amd64) image".into(),
                "Check the image with `docker buildx imagetools inspect`; push an index whose linux/amd64 entry carries its platform",
            ));
        } else if !real.iter().any(|p| p.is_linux_amd64()) {
            let listed: Vec<String> = real.iter().map(|p| p.to_string()).collect();
            findings.push(RuleFinding::new(
                RuleCode::NotAmd64,
                Severity::Warning,
                format!(
                    "the multi-arch image has no linux/amd64 entry (it has {}); HealthOmics runs x86_64 containers only",
                    listed.join(", ")
                ),
                AMD64_FIX,
            ));
        }
        return;
    }

    let os = config.os.as_deref().map(str::trim).unwrap_or_default();
    let arch = config
        .architecture
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let arch = normalize_architecture(&arch);
    if arch.is_empty() {
        findings.push(RuleFinding::new(
            RuleCode::UnknownArchitecture,
            Severity::Warning,
            "the image config states no architecture, so it cannot be confirmed to be x86_64 (amd64), the only architecture HealthOmics runs".into(),
            "Rebuild the image with `docker buildx build --platform linux/amd64`, which records the architecture",
        ));
        return;
    }
    if !KNOWN_ARCHITECTURES.contains(&arch) {
        findings.push(RuleFinding::new(
            RuleCode::UnknownArchitecture,
            Severity::Warning,
            format!(
                "the image config names the architecture `{arch}`, which is not a known one; HealthOmics runs x86_64 (amd64) only"
            ),
            "Rebuild the image with `docker buildx build --platform linux/amd64`",
        ));
        return;
    }
    let os_ok = os.is_empty() || os.eq_ignore_ascii_case("linux");
    if arch != "amd64" || !os_ok {
        let shown = if os.is_empty() {
            arch.to_owned()
        } else {
            format!("{os}/{arch}")
        };
        findings.push(RuleFinding::new(
            RuleCode::NotAmd64,
            Severity::Warning,
            format!(
                "the image is built for {shown}; HealthOmics runs linux/amd64 (x86_64) containers only"
            ),
            AMD64_FIX,
        ));
    }
}

fn check_entrypoint(config: &ImageConfigSummary, findings: &mut Vec<RuleFinding>) {
    let Some(entrypoint) = &config.entrypoint else {
        return;
    };
    if entrypoint.iter().all(|part| part.trim().is_empty()) {
        return;
    }
    let shown = serde_json::to_string(entrypoint).unwrap_or_else(|_| entrypoint.join(" "));
    findings.push(RuleFinding::new(
        RuleCode::EntrypointSet,
        Severity::Warning,
        format!(
            "the image sets ENTRYPOINT {shown}; HealthOmics workflow engines run each task as a bash script passed as the command, and an ENTRYPOINT wraps or replaces it"
        ),
        "Rebuild without ENTRYPOINT (or with `ENTRYPOINT []`) so that bash is the default, and move any setup into the task script",
    ));
}

fn check_env(config: &ImageConfigSummary, findings: &mut Vec<RuleFinding>) {
    let reserved: Vec<&str> = config
        .env
        .iter()
        .map(|entry| {
            entry
                .split_once('=')
                .map_or(entry.as_str(), |(name, _)| name)
        })
        .filter(|name| name.starts_with(RESERVED_ENV_PREFIX))
        .collect();
    if reserved.is_empty() {
        return;
    }
    findings.push(RuleFinding::new(
        RuleCode::ReservedEnvPrefix,
        Severity::Warning,
        format!(
            "the image sets {} in its environment; HealthOmics reserves the `{RESERVED_ENV_PREFIX}` prefix for the variables it sets in every task",
            reserved.join(", ")
        ),
        format!(
            "Rename these variables in the Dockerfile so they do not start with `{RESERVED_ENV_PREFIX}`"
        ),
    ));
}

/// The layer path as an absolute path under `/tmp`, if it is content there (not `/tmp` itself,
/// not a whiteout marker, which deletes rather than adds).
fn tmp_content_path(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    let rest = trimmed.strip_prefix("tmp/")?.trim_end_matches('/');
    if rest.is_empty() {
        return None;
    }
    let name = rest.rsplit('/').next().unwrap_or(rest);
    if name.starts_with(".wh.") {
        return None;
    }
    Some(format!("{SHARED_TMP_MOUNT}/{rest}"))
}

fn check_tmp(paths: &[String], findings: &mut Vec<RuleFinding>) {
    let hidden: Vec<String> = paths.iter().filter_map(|p| tmp_content_path(p)).collect();
    if hidden.is_empty() {
        return;
    }
    let examples: Vec<&str> = hidden
        .iter()
        .take(TMP_EXAMPLES)
        .map(String::as_str)
        .collect();
    let more = hidden.len().saturating_sub(TMP_EXAMPLES);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    findings.push(RuleFinding::new(
        RuleCode::FilesInTmp,
        Severity::Warning,
        format!(
            "the image has {} path(s) under {SHARED_TMP_MOUNT} ({}{tail}); HealthOmics mounts a shared filesystem at {SHARED_TMP_MOUNT}, so tasks will not see them",
            hidden.len(),
            examples.join(", ")
        ),
        format!(
            "Install tools and data somewhere else (e.g. /opt or /usr/local) in the Dockerfile; use {SHARED_TMP_MOUNT} only for scratch files written at run time"
        ),
    ));
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB as f64)
}

fn check_size(manifest: &ManifestSummary, findings: &mut Vec<RuleFinding>) {
    let limit = HEALTHOMICS_IMAGE_SIZE_LIMIT_BYTES;
    let fix = format!(
        "Make the image smaller (multi-stage build, fewer tools per image, no reference data baked in); GPU instances allow up to {}",
        gib(HEALTHOMICS_GPU_IMAGE_SIZE_LIMIT_BYTES)
    );
    if let Some(uncompressed) = manifest.uncompressed_size {
        if uncompressed > limit {
            findings.push(RuleFinding::new(
                RuleCode::ImageTooLarge,
                Severity::Warning,
                format!(
                    "the image extracts to {} (uncompressed layer contents), above the {} HealthOmics allows at task start on CPU instances",
                    gib(uncompressed),
                    gib(limit)
                ),
                fix,
            ));
        }
        return;
    }
    let compressed = manifest.compressed_size;
    if compressed > limit {
        findings.push(RuleFinding::new(
            RuleCode::ImageTooLarge,
            Severity::Warning,
            format!(
                "the image is {} compressed, already above the {} HealthOmics allows at task start on CPU instances (extracted it is larger still)",
                gib(compressed),
                gib(limit)
            ),
            fix,
        ));
    } else if compressed.saturating_mul(ASSUMED_MIN_EXPANSION) > limit {
        findings.push(RuleFinding::new(
            RuleCode::ImageTooLarge,
            Severity::Info,
            format!(
                "the image is {} compressed; extracted it is typically {ASSUMED_MIN_EXPANSION}× or more, which would pass the {} HealthOmics allows at task start on CPU instances",
                gib(compressed),
                gib(limit)
            ),
            format!(
                "Read the layers (inspect_layers) to measure the extracted size, or make the image smaller. {fix}"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amd64() -> ImageConfigSummary {
        ImageConfigSummary {
            architecture: Some("amd64".into()),
            os: Some("linux".into()),
            ..Default::default()
        }
    }

    fn single(size: u64) -> ManifestSummary {
        ManifestSummary {
            index_platforms: None,
            compressed_size: size,
            uncompressed_size: None,
        }
    }

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap_or_else(|_| Platform::linux_amd64())
    }

    fn codes(findings: &[RuleFinding]) -> Vec<(RuleCode, Severity)> {
        findings.iter().map(|f| (f.code, f.severity)).collect()
    }

    #[test]
    fn platform_parse_table() {
        type Parts<'a> = Option<(&'a str, &'a str, Option<&'a str>)>;
        let cases: [(&str, Parts); 9] = [
            ("linux/amd64", Some(("linux", "amd64", None))),
            ("Linux/X86_64", Some(("linux", "amd64", None))),
            ("linux/arm64/v8", Some(("linux", "arm64", Some("v8")))),
            ("linux/aarch64", Some(("linux", "arm64", None))),
            (" linux/amd64/v3 ", Some(("linux", "amd64", Some("v3")))),
            ("amd64", None),
            ("linux/", None),
            ("linux/amd64/", None),
            ("linux/amd 64", None),
        ];
        for (input, want) in cases {
            let got = Platform::parse(input).ok();
            let want = want.map(|(os, arch, v)| Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: v.map(Into::into),
            });
            assert_eq!(got, want, "{input}");
        }
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64/v8");
        assert!(p("linux/amd64/v3").is_linux_amd64());
        assert!(!p("windows/amd64").is_linux_amd64());
        let err = Platform::parse("x").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("linux/amd64")));
    }

    #[test]
    fn clean_image_has_no_findings() {
        let config = ImageConfigSummary {
            cmd: Some(vec!["bash".into()]),
            env: vec!["PATH=/usr/bin".into(), "AWS_REGION=x".into()],
            ..amd64()
        };
        let paths = vec![
            "tmp/".to_owned(),
            "./tmp".to_owned(),
            "usr/bin/tool".to_owned(),
            "tmp/.wh..wh..opq".to_owned(),
            "tmp/.wh.stale".to_owned(),
        ];
        assert_eq!(check_image(&config, &single(1 << 30), Some(&paths)), vec![]);
    }

    #[test]
    fn rule_table() {
        let ep = ImageConfigSummary {
            entrypoint: Some(vec!["/usr/bin/tini".into(), "--".into()]),
            ..amd64()
        };
        let empty_ep = ImageConfigSummary {
            entrypoint: Some(vec![]),
            ..amd64()
        };
        let env = ImageConfigSummary {
            env: vec![
                "AWS_WORKFLOW_X=1".into(),
                "AWS_WORKFLOW_RUN".into(),
                "aws_workflow_lower=1".into(),
            ],
            ..amd64()
        };
        let arm = ImageConfigSummary {
            architecture: Some("arm64".into()),
            ..amd64()
        };
        let x86 = ImageConfigSummary {
            architecture: Some("x86_64".into()),
            ..amd64()
        };
        let win = ImageConfigSummary {
            os: Some("windows".into()),
            ..amd64()
        };
        let no_arch = ImageConfigSummary {
            architecture: None,
            ..amd64()
        };
        let odd_arch = ImageConfigSummary {
            architecture: Some("z80".into()),
            ..amd64()
        };
        let index = |ps: &[&str]| ManifestSummary {
            index_platforms: Some(ps.iter().map(|s| p(s)).collect()),
            compressed_size: 1000,
            uncompressed_size: None,
        };
        let big = |compressed: u64, uncompressed: Option<u64>| ManifestSummary {
            index_platforms: None,
            compressed_size: compressed,
            uncompressed_size: uncompressed,
        };
        use RuleCode::*;
        use Severity::*;
        type Case<'a> = (
            &'a str,
            ImageConfigSummary,
            ManifestSummary,
            Vec<(RuleCode, Severity)>,
        );
        let cases: Vec<Case> = vec![
            ("entrypoint", ep, single(10), vec![(EntrypointSet, Warning)]),
            ("empty entrypoint", empty_ep, single(10), vec![]),
            (
                "reserved env",
                env,
                single(10),
                vec![(ReservedEnvPrefix, Warning)],
            ),
            (
                "arm64 single",
                arm.clone(),
                single(10),
                vec![(NotAmd64, Warning)],
            ),
            ("x86_64 spelling", x86, single(10), vec![]),
            ("windows", win, single(10), vec![(NotAmd64, Warning)]),
            (
                "no arch",
                no_arch,
                single(10),
                vec![(UnknownArchitecture, Warning)],
            ),
            (
                "odd arch",
                odd_arch,
                single(10),
                vec![(UnknownArchitecture, Warning)],
            ),
            (
                "index with amd64",
                arm.clone(),
                index(&["linux/arm64/v8", "linux/amd64", "unknown/unknown"]),
                vec![],
            ),
            (
                "index without amd64",
                amd64(),
                index(&["linux/arm64/v8", "unknown/unknown"]),
                vec![(NotAmd64, Warning)],
            ),
            (
                "index only attestations",
                amd64(),
                index(&["unknown/unknown"]),
                vec![(UnknownArchitecture, Warning)],
            ),
            (
                "index windows amd64 only",
                amd64(),
                index(&["windows/amd64"]),
                vec![(NotAmd64, Warning)],
            ),
            (
                "compressed over limit",
                amd64(),
                big(46 * GIB, None),
                vec![(ImageTooLarge, Warning)],
            ),
            (
                "compressed near limit",
                amd64(),
                big(23 * GIB, None),
                vec![(ImageTooLarge, Info)],
            ),
            (
                "compressed under half",
                amd64(),
                big(22 * GIB, None),
                vec![],
            ),
            (
                "uncompressed known over",
                amd64(),
                big(20 * GIB, Some(46 * GIB)),
                vec![(ImageTooLarge, Warning)],
            ),
            (
                "uncompressed known under",
                amd64(),
                big(30 * GIB, Some(44 * GIB)),
                vec![],
            ),
        ];
        for (name, config, manifest, want) in cases {
            let got = check_image(&config, &manifest, None);
            assert_eq!(codes(&got), want, "{name}: {got:?}");
            for f in &got {
                assert!(!f.message.is_empty() && !f.remediation.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn messages_name_the_evidence() {
        let env = ImageConfigSummary {
            env: vec!["AWS_WORKFLOW_X=1".into(), "OK=1".into()],
            entrypoint: Some(vec!["/entry.sh".into()]),
            ..amd64()
        };
        let paths: Vec<String> = (0..8).map(|i| format!("./tmp/data/f{i}")).collect();
        let got = check_image(&env, &single(10), Some(&paths));
        assert_eq!(
            codes(&got),
            vec![
                (RuleCode::EntrypointSet, Severity::Warning),
                (RuleCode::ReservedEnvPrefix, Severity::Warning),
                (RuleCode::FilesInTmp, Severity::Warning),
            ]
        );
        assert!(
            got[0].message.contains(r#"["/entry.sh"]"#),
            "{}",
            got[0].message
        );
        assert!(got[1].message.contains("AWS_WORKFLOW_X"));
        assert!(!got[1].message.contains("OK"));
        assert!(got[2].message.contains("8 path(s)"));
        assert!(got[2].message.contains("/tmp/data/f0"));
        assert!(got[2].message.contains("and 3 more"));
        let index = ManifestSummary {
            index_platforms: Some(vec![p("linux/arm64/v8"), p("linux/ppc64le")]),
            ..Default::default()
        };
        let got = check_image(&amd64(), &index, None);
        assert!(got[0].message.contains("linux/arm64/v8, linux/ppc64le"));
    }

    #[test]
    fn tmp_paths_table() {
        let cases = [
            ("tmp/x", Some("/tmp/x")),
            ("/tmp/x/", Some("/tmp/x")),
            ("./tmp/a/b", Some("/tmp/a/b")),
            ("tmp/", None),
            ("tmp", None),
            ("tmpfile", None),
            ("var/tmp/x", None),
            ("tmp/a/.wh.b", None),
        ];
        for (input, want) in cases {
            assert_eq!(tmp_content_path(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn findings_serialize_lowercase() {
        let f = RuleFinding::new(RuleCode::NotAmd64, Severity::Warning, "m".into(), "r");
        let v = serde_json::to_value(&f).unwrap_or_default();
        assert_eq!(v["code"], "not_amd64");
        assert_eq!(v["severity"], "warning");
        assert_eq!(
            serde_json::to_value(RuleCode::ReservedEnvPrefix).unwrap_or_default(),
            "reserved_env_prefix"
        );
    }
}
