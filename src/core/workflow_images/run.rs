//! Which of a workflow's files a run uses, so a scan reports the images a run pulls and not
//! those of tests, optional profiles or files nothing includes.
//!
//! From the entry (`main.nf`, the WDL with the workflow, the CWL `Workflow`): Nextflow's
//! `include … from`, `nextflow.config` and its `includeConfig`s (a profile's only when that
//! profile is asked for), WDL's `import`s and CWL's `run:` references. Everything is decided on
//! text already read: the caller reads every candidate file, this picks.

use std::collections::{BTreeMap, HashSet, VecDeque};

use super::cwl::{cwl_runs, is_cwl_workflow};
use super::found::{Engine, NotInRun};
use super::nextflow::{ConfigTarget, NfSymbols, include_config_targets};
use super::wdl::{has_wdl_workflow, wdl_imports};

/// How a scan chooses the files of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Nextflow profiles the run is started with (`-profile a,b`, in that order).
    pub profiles: Vec<String>,
    /// The file the user named, relative to the sources' root: the entry to follow from.
    pub entry: Option<String>,
}

impl RunOptions {
    /// The options of a run started with these profiles (blank names ignored).
    pub fn for_profiles(profiles: &[String]) -> Self {
        Self {
            profiles: profiles
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            entry: None,
        }
    }
}

/// What the selection needs to know of one file.
pub(super) enum Links<'a> {
    Nextflow {
        syms: &'a NfSymbols,
    },
    Wdl {
        imports: Vec<String>,
        workflow: bool,
    },
    Cwl {
        runs: Vec<String>,
        workflow: bool,
    },
}

impl<'a> Links<'a> {
    pub(super) fn wdl(text: &str) -> Self {
        Links::Wdl {
            imports: wdl_imports(text),
            workflow: has_wdl_workflow(text),
        }
    }

    pub(super) fn cwl(text: &str) -> Self {
        Links::Cwl {
            runs: cwl_runs(text),
            workflow: is_cwl_workflow(text),
        }
    }

    fn engine(&self) -> Engine {
        match self {
            Links::Nextflow { .. } => Engine::Nextflow,
            Links::Wdl { .. } => Engine::Wdl,
            Links::Cwl { .. } => Engine::Cwl,
        }
    }
}

/// A file a run uses: its index in the sources, the profile and the condition that bring it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InRun {
    pub(super) index: usize,
    pub(super) profile: Option<String>,
    pub(super) condition: Option<String>,
}

/// The files of a run, or why none could be told (then every file is read, as before).
#[derive(Debug, Default)]
pub(super) struct RunFiles {
    pub(super) entry: Option<String>,
    pub(super) files: Vec<InRun>,
    pub(super) notes: Vec<String>,
    pub(super) not_in_run: Vec<NotInRun>,
}

/// At most this many examples per reason a file is not in the run.
const EXAMPLES: usize = 3;

/// Picks the files a run uses among `files` (`(path, links)`, paths relative with `/`).
pub(super) fn run_files(files: &[(&str, Links)], options: &RunOptions) -> RunFiles {
    let by_path: BTreeMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(k, (p, _))| (*p, k))
        .collect();
    let entry = match find_entry(files, &by_path, options) {
        Ok(entry) => entry,
        Err(why) => {
            return RunFiles {
                entry: None,
                files: (0..files.len())
                    .map(|index| InRun {
                        index,
                        profile: None,
                        condition: None,
                    })
                    .collect(),
                notes: vec![format!("{why}: every workflow file was read")],
                not_in_run: Vec::new(),
            };
        }
    };
    let mut walk = Walk {
        files,
        by_path: &by_path,
        chosen: Vec::new(),
        seen: HashSet::new(),
        notes: Vec::new(),
        profile_only: BTreeMap::new(),
    };
    let entry_path = files[entry].0.to_owned();
    match &files[entry].1 {
        Links::Nextflow { .. } => walk.nextflow(entry, options),
        Links::Wdl { .. } | Links::Cwl { .. } => walk.documents(entry),
    }
    // Reported in the order the files were read, not the order they were reached.
    walk.chosen.sort_by_key(|c| c.index);
    let chosen: HashSet<usize> = walk.chosen.iter().map(|c| c.index).collect();
    let mut groups: Vec<NotInRun> = Vec::new();
    for (k, (path, _)) in files.iter().enumerate() {
        if chosen.contains(&k) {
            continue;
        }
        let (reason, example) = match walk.profile_only.get(*path) {
            Some(profiles) => (
                "included only under a profile not asked for (see profiles)".to_owned(),
                format!("{path} ({})", profiles.join(", ")),
            ),
            None if is_test_file(path) => (
                "tests (nf-test and test configs), not part of a run".to_owned(),
                (*path).to_owned(),
            ),
            None => (
                "nothing the entry includes uses it".to_owned(),
                (*path).to_owned(),
            ),
        };
        match groups.iter_mut().find(|g| g.reason == reason) {
            Some(g) => {
                g.count += 1;
                if g.examples.len() < EXAMPLES {
                    g.examples.push(example);
                }
            }
            None => groups.push(NotInRun {
                reason,
                count: 1,
                examples: vec![example],
            }),
        }
    }
    RunFiles {
        entry: Some(entry_path),
        files: walk.chosen,
        notes: walk.notes,
        not_in_run: groups,
    }
}

/// Test files by their place: a `tests`/`test` folder, nf-test's files.
fn is_test_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/')
        .rev()
        .skip(1)
        .any(|part| part == "tests" || part == "test")
        || name == "nf-test.config"
        || name.ends_with(".nf.test")
}

/// The folder of a relative path (`""` at the top).
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `rel` resolved against the folder `dir`; `None` for what is not a relative local path (an
/// absolute path, a URL, a `..` above the top).
pub(super) fn join(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains("://") || rel.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The folder the workflow sits in: the top, or the one folder every file is under (a bundle
/// zipped with its folder).
fn root_dir(files: &[(&str, Links)]) -> String {
    let mut firsts = files.iter().map(|(p, _)| p.split_once('/').map(|(d, _)| d));
    match firsts.next() {
        Some(Some(first)) if firsts.all(|d| d == Some(first)) => first.to_owned(),
        _ => String::new(),
    }
}

fn find_entry(
    files: &[(&str, Links)],
    by_path: &BTreeMap<&str, usize>,
    options: &RunOptions,
) -> Result<usize, String> {
    if let Some(given) = &options.entry {
        return by_path
            .get(given.as_str())
            .copied()
            .ok_or_else(|| format!("`{given}` is not a workflow file"));
    }
    let root = root_dir(files);
    let at_root = |name: &str| join(&root, name).and_then(|p| by_path.get(p.as_str()).copied());
    let mut found: Vec<(Engine, Vec<usize>)> = Vec::new();
    let main_script = at_root("nextflow.config").and_then(|k| match &files[k].1 {
        Links::Nextflow { syms, .. } => syms.main_script.clone(),
        _ => None,
    });
    let nf = at_root("main.nf").or_else(|| main_script.as_deref().and_then(at_root));
    if let Some(k) = nf {
        found.push((Engine::Nextflow, vec![k]));
    }
    // A WDL or CWL workflow at the top that no other file imports or runs.
    let referenced: HashSet<String> = files
        .iter()
        .flat_map(|(path, links)| {
            let refs: &[String] = match links {
                Links::Wdl { imports, .. } => imports,
                Links::Cwl { runs, .. } => runs,
                Links::Nextflow { .. } => &[],
            };
            refs.iter().filter_map(|r| join(dir_of(path), r))
        })
        .collect();
    for engine in [Engine::Wdl, Engine::Cwl] {
        let tops: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, (path, links))| {
                links.engine() == engine
                    && dir_of(path) == root
                    && !referenced.contains(*path)
                    && matches!(
                        links,
                        Links::Wdl { workflow: true, .. } | Links::Cwl { workflow: true, .. }
                    )
            })
            .map(|(k, _)| k)
            .collect();
        if !tops.is_empty() {
            found.push((engine, tops));
        }
    }
    match found.as_slice() {
        [] => Err("no entry found (a top-level main.nf, WDL workflow or CWL Workflow)".into()),
        [(_, tops)] if tops.len() == 1 => Ok(tops[0]),
        [(_, tops)] => Err(format!(
            "several top-level workflows ({}): give the path of the one to run",
            names(files, tops)
        )),
        _ => Err(format!(
            "workflows of several engines at the top ({}): give the path of the one to run",
            names(
                files,
                &found
                    .iter()
                    .flat_map(|(_, t)| t.clone())
                    .collect::<Vec<_>>()
            )
        )),
    }
}

fn names(files: &[(&str, Links)], ks: &[usize]) -> String {
    ks.iter()
        .take(EXAMPLES)
        .map(|k| files[*k].0)
        .collect::<Vec<_>>()
        .join(", ")
}

struct Walk<'a, 'b> {
    files: &'b [(&'b str, Links<'a>)],
    by_path: &'b BTreeMap<&'b str, usize>,
    chosen: Vec<InRun>,
    seen: HashSet<usize>,
    notes: Vec<String>,
    /// Configs a profile not asked for would include, with those profiles.
    profile_only: BTreeMap<String, Vec<String>>,
}

impl Walk<'_, '_> {
    fn take(&mut self, index: usize, profile: Option<String>, condition: Option<String>) -> bool {
        if !self.seen.insert(index) {
            return false;
        }
        self.chosen.push(InRun {
            index,
            profile,
            condition,
        });
        true
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < 2 * EXAMPLES && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// WDL imports and CWL `run:` references, breadth-first from the entry.
    fn documents(&mut self, entry: usize) {
        let mut queue = VecDeque::from([entry]);
        self.take(entry, None, None);
        while let Some(k) = queue.pop_front() {
            let (path, links) = &self.files[k];
            let refs: &[String] = match links {
                Links::Wdl { imports, .. } => imports,
                Links::Cwl { runs, .. } => runs,
                Links::Nextflow { .. } => &[],
            };
            for r in refs {
                match join(dir_of(path), r).and_then(|p| self.by_path.get(p.as_str()).copied()) {
                    Some(next) => {
                        if self.take(next, None, None) {
                            queue.push_back(next);
                        }
                    }
                    None => self.note(format!(
                        "`{r}` (referenced by {path}) is not among the files read"
                    )),
                }
            }
        }
    }

    /// `main.nf` and its includes, then `nextflow.config` (next to the entry) and its
    /// `includeConfig`s; a profile's includes only for the profiles asked for.
    fn nextflow(&mut self, entry: usize, options: &RunOptions) {
        let mut queue = VecDeque::from([entry]);
        self.take(entry, None, None);
        while let Some(k) = queue.pop_front() {
            let (path, Links::Nextflow { syms, .. }) = &self.files[k] else {
                continue;
            };
            for (from, _) in &syms.includes {
                if from.starts_with("plugin/") {
                    continue;
                }
                let found = join(dir_of(path), from).and_then(|base| {
                    [
                        base.clone(),
                        format!("{base}.nf"),
                        format!("{base}/main.nf"),
                    ]
                    .iter()
                    .find_map(|c| self.by_path.get(c.as_str()).copied())
                });
                match found {
                    Some(next) => {
                        if self.take(next, None, None) {
                            queue.push_back(next);
                        }
                    }
                    None => self.note(format!(
                        "include from '{from}' ({path}) is not among the files read"
                    )),
                }
            }
        }
        let entry_dir = dir_of(self.files[entry].0).to_owned();
        let Some(config) =
            join(&entry_dir, "nextflow.config").and_then(|p| self.by_path.get(p.as_str()).copied())
        else {
            return;
        };
        // Parameters set so far decide `includeConfig params.x ? … : …`.
        let mut params = Vec::new();
        let mut flags = Vec::new();
        let mut queue = VecDeque::new();
        if self.take(config, None, None) {
            queue.push_back((config, None::<String>, None::<String>));
        }
        let mut defined: Vec<String> = Vec::new();
        while let Some((k, profile, condition)) = queue.pop_front() {
            let (path, Links::Nextflow { syms, .. }) = &self.files[k] else {
                continue;
            };
            defined.extend(syms.profiles.iter().cloned());
            params.extend(syms.params.iter().cloned());
            flags.extend(syms.flags.iter().cloned());
            for inc in &syms.include_configs {
                let asked = inc
                    .profile
                    .as_ref()
                    .is_none_or(|p| options.profiles.contains(p));
                let targets = include_config_targets(inc, &params, &flags);
                if targets.is_empty() {
                    self.note(format!(
                        "includeConfig at {path}:{} could not be resolved to a file",
                        inc.line
                    ));
                }
                for ConfigTarget {
                    path: to,
                    condition: cond,
                } in targets
                {
                    let Some(next) =
                        join(dir_of(path), &to).and_then(|p| self.by_path.get(p.as_str()).copied())
                    else {
                        if !to.contains("://") && to != "/dev/null" {
                            self.note(format!(
                                "includeConfig '{to}' ({path}:{}) is not among the files read",
                                inc.line
                            ));
                        }
                        continue;
                    };
                    if !asked {
                        if let Some(p) = &inc.profile {
                            let list = self
                                .profile_only
                                .entry(self.files[next].0.to_owned())
                                .or_default();
                            if !list.contains(p) {
                                list.push(p.clone());
                            }
                        }
                        continue;
                    }
                    let profile = profile.clone().or_else(|| inc.profile.clone());
                    let condition = match (condition.clone(), cond) {
                        (Some(a), Some(b)) => Some(format!("{a} && {b}")),
                        (a, b) => a.or(b),
                    };
                    if self.take(next, profile.clone(), condition.clone()) {
                        queue.push_back((next, profile, condition));
                    }
                }
            }
        }
        for p in &options.profiles {
            if !defined.contains(p) {
                self.note(format!(
                    "profile `{p}` is not defined by the pipeline's configs"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_a_file_system() {
        let rows = [
            ("", "./modules/a/main", Some("modules/a/main")),
            ("workflows", "../modules/a", Some("modules/a")),
            (
                "workflows/x",
                "../../conf/base.config",
                Some("conf/base.config"),
            ),
            ("", "../outside.nf", None),
            ("", "/abs/x.nf", None),
            ("", "https://x/y.config", None),
            ("a", "b/./c.wdl", Some("a/b/c.wdl")),
        ];
        for (dir, rel, expected) in rows {
            assert_eq!(join(dir, rel).as_deref(), expected, "{dir} + {rel}");
        }
    }

    #[test]
    fn test_files_are_told_by_their_place() {
        let rows = [
            ("tests/nextflow.config", true),
            ("modules/nf-core/fastqc/tests/main.nf.test", true),
            ("nf-test.config", true),
            ("conf/test.config", false),
            ("modules/local/tests.nf", false),
            ("main.nf", false),
        ];
        for (path, expected) in rows {
            assert_eq!(is_test_file(path), expected, "{path}");
        }
    }
}
