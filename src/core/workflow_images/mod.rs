//! Finds the container images a workflow definition uses (WDL, Nextflow, CWL), so a registry
//! map can be checked against what the workflow really pulls instead of what the user remembers.
//!
//! The extractors are small hand-written lexers over the file text, not full parsers: they know
//! the shapes images are written in (runtime `docker:`, `container` directives and config scopes,
//! `DockerRequirement.dockerPull`), resolve simple parameters from defaults in the same files, and
//! report what they cannot resolve instead of guessing. Nothing here touches the file system:
//! `crate::workflow_files::scan_path` walks a folder, reads the files and hands their text to
//! [`scan_sources`].
//!
//! One file per job: `found` holds what a scan reports ([`FoundImage`], [`ScanResult`], …),
//! `lexer` the cursor, tokens and string literals the WDL and Nextflow lexers share, `wdl`,
//! `nextflow` and `cwl` one extractor each ([`images_in_wdl`], [`images_in_nextflow`],
//! [`images_in_cwl`]), and `scan` the choice of extractor per file and the resolution across
//! files ([`scan_sources`]), `run` which files a run uses, followed from the entry
//! ([`scan_run`]: includes, imports, `run:` references, the profiles asked for).

mod cwl;
mod found;
mod lexer;
mod nextflow;
mod run;
mod scan;
#[cfg(test)]
mod test_support;
mod wdl;

pub use cwl::{images_in_cwl, looks_like_cwl};
pub use found::{Engine, FileImages, FoundImage, NotInRun, ScanResult, SkippedFile};
pub use nextflow::images_in_nextflow;
pub use run::RunOptions;
pub use scan::{is_candidate_name, scan_run, scan_sources};
pub use wdl::images_in_wdl;

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
