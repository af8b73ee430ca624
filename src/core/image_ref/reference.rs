//! Image references: the distribution `reference` grammar and Docker Hub normalisation.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::Serialize;

use super::grammar::{validate_registry_host, validate_repository_path};
use super::{Digest, EcrRegistryHost, ImageRefError, validate_tag};

/// The registry host Docker Hub's API answers on; HealthOmics and ECR expect this spelling.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";
/// Hosts people write for Docker Hub that mean the same registry.
pub const DOCKER_HUB_ALIASES: [&str; 2] = ["docker.io", "index.docker.io"];
/// Docker Hub's namespace for official images (`ubuntu` is really `library/ubuntu`).
pub const DOCKER_OFFICIAL_NAMESPACE: &str = "library";
/// The tag a pull uses when the reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest `registry/repository` accepted, as in the distribution grammar.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A parsed, normalised image reference. Docker Hub names are expanded
/// (`ubuntu` → `registry-1.docker.io` + `library/ubuntu`) so that equal images compare equal,
/// and the tag and digest are kept apart from the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub struct ImageReference {
    /// Registry host with optional port, e.g. `quay.io`, `localhost:5000`, `registry-1.docker.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/ubuntu`.
    pub repository: String,
    /// Tag, if the reference names one.
    pub tag: Option<String>,
    /// Digest, if the reference names one; it decides what is pulled when present.
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses `[registry[:port]/]path[:tag][@digest]` after trimming surrounding whitespace.
    ///
    /// The first path component is a registry only if it contains `.` or `:`, is `localhost`, or
    /// is a bracketed IPv6 address, as Docker decides it. Uppercase in the path is refused rather
    /// than lowercased: a silently changed name would point at a different repository. The length
    /// limit is checked on the normalised name, so everything we print parses back.
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if let Some(pos) = s.find("://") {
            let rest = s[pos + 3..].trim_end_matches('/');
            return Err(ImageRefError::Scheme {
                input: s.to_owned(),
                scheme: s[..pos].to_owned(),
                suggestion: rest.to_owned(),
            });
        }

        let (name_and_tag, digest) = match s.split_once('@') {
            None => (s, None),
            Some((_, d)) if d.contains('@') => {
                return Err(ImageRefError::MultipleAt {
                    input: s.to_owned(),
                });
            }
            Some((_, "")) => {
                return Err(ImageRefError::MissingDigest {
                    input: s.to_owned(),
                });
            }
            Some((nt, d)) => (nt, Some(d)),
        };
        if name_and_tag.is_empty() {
            return Err(ImageRefError::MissingName {
                input: s.to_owned(),
            });
        }

        // A `:` after the last `/` starts the tag; earlier ones belong to a registry port.
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            _ => (name_and_tag, None),
        };
        if name.starts_with('[') && last_slash.is_none() {
            let registry = name_and_tag
                .find(']')
                .map_or(name_and_tag, |end| &name_and_tag[..=end]);
            return Err(ImageRefError::MissingRepository {
                input: s.to_owned(),
                registry: registry.to_owned(),
            });
        }
        if name.is_empty() {
            return Err(ImageRefError::MissingName {
                input: s.to_owned(),
            });
        }
        if name.ends_with('/') {
            let mut suggestion = name.trim_end_matches('/').to_owned();
            if let Some(t) = tag {
                suggestion.push(':');
                suggestion.push_str(t);
            }
            if let Some(d) = digest {
                suggestion.push('@');
                suggestion.push_str(d);
            }
            return Err(ImageRefError::TrailingSlash {
                input: s.to_owned(),
                suggestion,
            });
        }

        let (written_registry, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_registry(first) => (Some(first), rest),
            _ => (None, name),
        };

        if let (None, Some(t)) = (written_registry, tag)
            && (path.eq_ignore_ascii_case("sha256") || path.eq_ignore_ascii_case("sha512"))
            && t.len() >= 32
            && t.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ImageRefError::BareDigest {
                input: s.to_owned(),
            });
        }

        if let Some(r) = written_registry {
            validate_registry_host(r)?;
        }
        validate_repository_path(path)?;
        match tag {
            Some("") => {
                return Err(ImageRefError::MissingTag {
                    input: s.to_owned(),
                });
            }
            Some(t) => validate_tag(t)?,
            None => {}
        }
        let digest = digest.map(Digest::parse).transpose()?;

        let (registry, repository) = match written_registry {
            Some(r) if !is_docker_hub_host(r) => (r.to_owned(), path.to_owned()),
            _ => (DOCKER_HUB_REGISTRY.to_owned(), docker_hub_repository(path)),
        };
        let length = registry.len() + 1 + repository.len();
        if length > NAME_TOTAL_LENGTH_MAX {
            return Err(ImageRefError::NameTooLong {
                name: format!("{registry}/{repository}"),
                length,
            });
        }
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// True for Docker Hub images, however they were written.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB_REGISTRY
    }

    /// The short form people type (`ubuntu:22.04`, `myorg/tool:1`); other registries keep their
    /// host. Falls back to the canonical form when the short one would read back differently.
    pub fn familiar(&self) -> String {
        if !self.is_docker_hub() {
            return self.to_string();
        }
        let short = match self.repository.strip_prefix("library/") {
            Some(rest) if !rest.contains('/') => rest,
            _ => self.repository.as_str(),
        };
        let mut out = short.to_owned();
        self.push_tag_and_digest(&mut out);
        match Self::parse(&out) {
            Ok(back) if back == *self => out,
            _ => self.to_string(),
        }
    }

    /// What to ask the registry for: the digest if pinned, else the tag, else `latest`.
    pub fn reference_for_pull(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => DEFAULT_TAG,
        }
    }

    /// Adds `:latest` when neither tag nor digest is given, as `docker pull` does, so that two
    /// spellings of the same pull compare equal.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// The private ECR registry this image lives in, if it is a private ECR image.
    pub fn ecr_host(&self) -> Option<EcrRegistryHost> {
        EcrRegistryHost::parse(&self.registry)
    }

    fn push_tag_and_digest(&self, out: &mut String) {
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d.as_str());
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_tag_and_digest(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for ImageReference {
    type Err = ImageRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn looks_like_registry(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first.starts_with('[')
        || first.eq_ignore_ascii_case("localhost")
}

fn is_docker_hub_host(host: &str) -> bool {
    host.eq_ignore_ascii_case(DOCKER_HUB_REGISTRY)
        || DOCKER_HUB_ALIASES
            .iter()
            .any(|alias| host.eq_ignore_ascii_case(alias))
}

/// Docker Hub has no one-component repositories, so `ubuntu` is `library/ubuntu` on every Hub
/// host, `registry-1.docker.io` included (Docker leaves that one alone; ECR and HealthOmics want
/// `library/`).
fn docker_hub_repository(path: &str) -> String {
    if path.contains('/') {
        path.to_owned()
    } else {
        format!("{DOCKER_OFFICIAL_NAMESPACE}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image_ref::test_support::{SHA, err, p};
    use proptest::prelude::*;

    /// Every row of the reference server's parse table (reference-python-server.md §10), with the
    /// answers it got wrong corrected: `library/` for `docker.io/x`, `index.docker.io` normalised,
    /// tag kept out of the name with a digest, bare `localhost` a registry, uppercase refused, and
    /// `sha256:abc` refused as a digest.
    #[test]
    fn python_server_table_corrected() {
        let d = SHA;
        type Row<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let rows: &[Row] = &[
            ("ubuntu", DOCKER_HUB_REGISTRY, "library/ubuntu", None, None),
            (
                "ubuntu:22.04",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("22.04"),
                None,
            ),
            (
                "myorg/img:v1",
                DOCKER_HUB_REGISTRY,
                "myorg/img",
                Some("v1"),
                None,
            ),
            (
                "docker.io/library/ubuntu:1",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("1"),
                None,
            ),
            (
                "docker.io/ubuntu",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                None,
            ),
            (
                "index.docker.io/library/ubuntu",
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                None,
            ),
            (
                &format!("ubuntu@{d}"),
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                None,
                Some(d),
            ),
            (
                &format!("ubuntu:22.04@{d}"),
                DOCKER_HUB_REGISTRY,
                "library/ubuntu",
                Some("22.04"),
                Some(d),
            ),
            (
                "quay.io/biocontainers/samtools:1.17--h00cdaf9_0",
                "quay.io",
                "biocontainers/samtools",
                Some("1.17--h00cdaf9_0"),
                None,
            ),
            (
                "public.ecr.aws/lts/ubuntu:22.04",
                "public.ecr.aws",
                "lts/ubuntu",
                Some("22.04"),
                None,
            ),
            ("ghcr.io/org/img", "ghcr.io", "org/img", None, None),
            (
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io",
                "pause",
                Some("3.9"),
                None,
            ),
            (
                "myreg.azurecr.io/a/b:c",
                "myreg.azurecr.io",
                "a/b",
                Some("c"),
                None,
            ),
            (
                "registry.gitlab.com/grp/proj/img:tag",
                "registry.gitlab.com",
                "grp/proj/img",
                Some("tag"),
                None,
            ),
            (
                "wave.seqera.io/wt/abc123/biocontainers/samtools:1.0",
                "wave.seqera.io",
                "wt/abc123/biocontainers/samtools",
                Some("1.0"),
                None,
            ),
            (
                "community.wave.seqera.io/library/samtools:1.19--abc",
                "community.wave.seqera.io",
                "library/samtools",
                Some("1.19--abc"),
                None,
            ),
            (
                "localhost:5000/foo:bar",
                "localhost:5000",
                "foo",
                Some("bar"),
                None,
            ),
            ("localhost/foo", "localhost", "foo", None, None),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "repo",
                Some("tag"),
                None,
            ),
        ];
        for (input, registry, repository, tag, digest) in rows {
            let r = p(input);
            assert_eq!(r.registry, *registry, "{input}");
            assert_eq!(r.repository, *repository, "{input}");
            assert_eq!(r.tag.as_deref(), *tag, "{input}");
            assert_eq!(r.digest.as_ref().map(Digest::as_str), *digest, "{input}");
            // The Python server filled `latest` when neither was given; we do it on request.
            let pulled = r.clone().with_default_tag();
            if tag.is_none() && digest.is_none() {
                assert_eq!(pulled.tag.as_deref(), Some("latest"), "{input}");
            } else {
                assert_eq!(pulled, r, "{input}");
            }
        }
        assert!(
            p("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag")
                .ecr_host()
                .is_some()
        );

        let e = err("UBUNTU");
        assert!(matches!(e, ImageRefError::UppercasePath { .. }), "{e:?}");
        assert!(e.to_string().contains("write `ubuntu`"), "{e}");

        let e = err("ubuntu@sha256:abc");
        assert!(matches!(e, ImageRefError::InvalidDigest { .. }), "{e:?}");
        assert!(e.to_string().contains("exactly 64"), "{e}");
        let e = err("ubuntu:22.04@sha256:abc");
        assert!(matches!(e, ImageRefError::InvalidDigest { .. }), "{e:?}");
    }

    #[test]
    fn normalisation_and_canonical_form() {
        let rows = [
            ("ubuntu", "registry-1.docker.io/library/ubuntu"),
            (
                "  ubuntu:22.04\n",
                "registry-1.docker.io/library/ubuntu:22.04",
            ),
            ("docker.io/x", "registry-1.docker.io/library/x"),
            ("index.docker.io/x", "registry-1.docker.io/library/x"),
            ("registry-1.docker.io/x", "registry-1.docker.io/library/x"),
            ("Docker.IO/x", "registry-1.docker.io/library/x"),
            ("docker.io/org/x", "registry-1.docker.io/org/x"),
            ("index.docker.io/org/x:1", "registry-1.docker.io/org/x:1"),
            ("library/ubuntu", "registry-1.docker.io/library/ubuntu"),
            ("a/b/c", "registry-1.docker.io/a/b/c"),
            ("localhost/foo", "localhost/foo"),
            ("LOCALHOST/foo", "LOCALHOST/foo"),
            ("localhost:5000/foo/bar:1", "localhost:5000/foo/bar:1"),
            ("[::1]:5000/foo", "[::1]:5000/foo"),
            ("[::1]/foo:1", "[::1]/foo:1"),
            ("[2001:db8::1]:443/a/b", "[2001:db8::1]:443/a/b"),
            ("192.168.1.10:5000/img:2", "192.168.1.10:5000/img:2"),
            ("Quay.IO/org/x", "Quay.IO/org/x"),
            (
                "my-host.example.com/a__b/c--d/e.f/g_h:v",
                "my-host.example.com/a__b/c--d/e.f/g_h:v",
            ),
            ("quay.io", "registry-1.docker.io/library/quay.io"),
            (
                "localhost:5000",
                "registry-1.docker.io/library/localhost:5000",
            ),
        ];
        for (input, canonical) in rows {
            assert_eq!(p(input).to_string(), canonical, "{input}");
            assert_eq!(p(canonical).to_string(), canonical, "{canonical}");
        }
        let both = p(&format!("ubuntu:22.04@{SHA}"));
        assert_eq!(
            both.to_string(),
            format!("registry-1.docker.io/library/ubuntu:22.04@{SHA}")
        );
        assert_eq!(both.repository, "library/ubuntu");
    }

    #[test]
    fn familiar_form() {
        let rows = [
            ("ubuntu:22.04", "ubuntu:22.04"),
            ("registry-1.docker.io/library/ubuntu", "ubuntu"),
            ("docker.io/myorg/tool:1", "myorg/tool:1"),
            ("library/a/b", "library/a/b"),
            ("quay.io/org/x:1", "quay.io/org/x:1"),
            ("localhost/foo", "localhost/foo"),
            // Short forms that would read back as a registry keep the full form.
            ("docker.io/my.org/img", "registry-1.docker.io/my.org/img"),
            (
                "docker.io/localhost/img",
                "registry-1.docker.io/localhost/img",
            ),
        ];
        for (input, familiar) in rows {
            let r = p(input);
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(p(&r.familiar()), r, "{input}");
        }
        let pinned = p(&format!("ubuntu:22.04@{SHA}"));
        assert_eq!(pinned.familiar(), format!("ubuntu:22.04@{SHA}"));
        // `library/sha256:<hex>` must not shorten into something that reads as a bare digest.
        let hex = &SHA["sha256:".len()..];
        let odd = p(&format!("library/sha256:{hex}"));
        assert_eq!(p(&odd.familiar()), odd);
    }

    #[test]
    fn pull_reference_and_default_tag() {
        assert_eq!(p("ubuntu").reference_for_pull(), "latest");
        assert_eq!(p("ubuntu:22.04").reference_for_pull(), "22.04");
        assert_eq!(p(&format!("ubuntu:22.04@{SHA}")).reference_for_pull(), SHA);
        assert_eq!(
            p("ubuntu").with_default_tag().to_string(),
            "registry-1.docker.io/library/ubuntu:latest"
        );
        assert_eq!(p("ubuntu:1").with_default_tag().tag.as_deref(), Some("1"));
        let pinned = p(&format!("ubuntu@{SHA}")).with_default_tag();
        assert_eq!(pinned.tag, None, "a digest needs no default tag");
    }

    #[test]
    fn errors_say_what_and_how() {
        let rows: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("https://quay.io/org/x:1", "write `quay.io/org/x:1`"),
            ("http://localhost:5000/foo/", "write `localhost:5000/foo`"),
            ("docker://ubuntu", "URL scheme"),
            ("ubuntu/", "remove the trailing slash and write `ubuntu`"),
            ("quay.io/org/x/:1", "write `quay.io/org/x:1`"),
            ("quay.io/", "trailing slash"),
            ("ubuntu@", "no digest follows"),
            ("ubuntu@@sha256:abc", "more than one `@`"),
            (&format!("ubuntu@{SHA}@{SHA}"), "more than one `@`"),
            ("@sha256:abc", "no repository name"),
            (":tag", "no repository name"),
            ("ubuntu:", "no tag follows"),
            ("quay.io/org/x:", "no tag follows"),
            ("[::1]:5000", "add the repository path"),
            ("[::1]", "add the repository path"),
            (SHA, "bare digest"),
            ("Ubuntu:1", "write `ubuntu`"),
            ("quay.io/Org/Tool", "write `org/tool`"),
            ("a//b", "empty component"),
            ("/ubuntu", "empty component"),
            ("-ubuntu", "must start and end"),
            ("ubuntu-", "must start and end"),
            ("a..b", "joins parts with `..`"),
            ("a___b", "joins parts with `___`"),
            ("a-_b", "joins parts with `-_`"),
            ("a._b", "joins parts with `._`"),
            ("ubu ntu", "` ` is not allowed"),
            ("ubuntu:22 04", "` ` is not allowed"),
            ("ubuntu:.hidden", "must start with"),
            ("ubuntu:-x", "must start with"),
            ("ubuntu:a+b", "`+` is not allowed"),
            ("quay.io:99999/x", "port `99999`"),
            ("quay.io:/x", "port ``"),
            ("quay.io:80a/x", "port `80a`"),
            ("a..io/x", "empty label"),
            ("-a.io/x", "starts or ends with `-`"),
            ("a_b.io/x", "`_` is not allowed in a host name"),
            ("[::1/x", "not closed"),
            ("[zz]/x", "not an IPv6 address"),
            ("[::1]x/y", "neither `:port`"),
            ("ubuntu@sha256", "no `:`"),
            ("ubuntu@sha256:", "no hexadecimal digits"),
            ("ubuntu@:abcd", "algorithm before `:` is missing"),
            (
                "ubuntu@1sha:0123456789abcdef0123456789abcdef",
                "must start each part with a letter",
            ),
            (
                "ubuntu@sha-:0123456789abcdef0123456789abcdef",
                "ends with a separator",
            ),
            (
                "ubuntu@sh!a:0123456789abcdef0123456789abcdef",
                "contains `!`",
            ),
            ("ubuntu@foo:0123456789abcdef", "at least 32"),
            (
                "ubuntu@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                "`g` is not a hexadecimal digit",
            ),
            (
                "ubuntu@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                "must be lowercase",
            ),
            (
                "ubuntu@SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "algorithm must be lowercase",
            ),
            (
                "ubuntu@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "exactly 128",
            ),
        ];
        for (input, needle) in rows {
            let e = err(input);
            let text = e.to_string();
            assert!(
                text.contains(needle),
                "`{input}`: `{text}` lacks `{needle}`"
            );
        }
    }

    #[test]
    fn error_variants() {
        assert_eq!(err(" "), ImageRefError::Empty);
        assert!(
            matches!(err("https://ubuntu"), ImageRefError::Scheme { scheme, suggestion, .. } if scheme == "https" && suggestion == "ubuntu")
        );
        assert!(matches!(err("a/"), ImageRefError::TrailingSlash { .. }));
        assert!(matches!(err("a@"), ImageRefError::MissingDigest { .. }));
        assert!(matches!(err("a:"), ImageRefError::MissingTag { .. }));
        assert!(matches!(err("a:b@"), ImageRefError::MissingDigest { .. }));
        assert!(matches!(err("A"), ImageRefError::UppercasePath { .. }));
        assert!(matches!(err("a:b c"), ImageRefError::InvalidTag { .. }));
        assert!(matches!(err("a@b"), ImageRefError::InvalidDigest { .. }));
        assert!(matches!(
            err("a.b:x/c"),
            ImageRefError::InvalidRegistry { .. }
        ));
    }

    #[test]
    fn name_length_counts_the_normalised_name() {
        // registry-1.docker.io/ + library/ = 29 characters before the path.
        let fits = "a".repeat(255 - "registry-1.docker.io/library/".len());
        assert!(ImageReference::parse(&fits).is_ok());
        let too_long = format!("{fits}b");
        let e = err(&too_long);
        assert!(
            matches!(e, ImageRefError::NameTooLong { length: 256, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("limit is 255"), "{e}");
        let host = "quay.io/";
        assert!(ImageReference::parse(&format!("{host}{}", "a".repeat(255 - host.len()))).is_ok());
        assert!(ImageReference::parse(&format!("{host}{}", "a".repeat(256 - host.len()))).is_err());
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}"
    }

    fn host() -> impl Strategy<Value = String> {
        let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?";
        prop_oneof![
            Just(DOCKER_HUB_REGISTRY.to_owned()),
            Just("quay.io".to_owned()),
            Just("localhost".to_owned()),
            Just("[::1]:5000".to_owned()),
            "localhost:[0-9]{1,4}",
            "\\[[0-9a-f]{0,4}:[0-9a-f:]{1,8}\\](:[0-9]{1,4})?",
            "[0-9]{12}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com",
            (
                proptest::collection::vec(label, 2..4),
                proptest::option::of(0u32..65_536)
            )
                .prop_map(|(labels, port)| match port {
                    Some(port) => format!("{}:{port}", labels.join(".")),
                    None => labels.join("."),
                }),
        ]
        .prop_filter("Docker Hub aliases normalise away", |h| {
            !DOCKER_HUB_ALIASES.iter().any(|a| h.eq_ignore_ascii_case(a))
        })
    }

    fn digest() -> impl Strategy<Value = Digest> {
        prop_oneof![
            "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
            "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}")),
            "[a-z][a-z0-9]{0,4}([-_+.][a-z][a-z0-9]{0,3})?:[0-9a-fA-F]{32,72}"
                .prop_filter("sha256/sha512 have fixed lengths", |d| !d
                    .starts_with("sha256:")
                    && !d.starts_with("sha512:")),
        ]
        .prop_filter_map("valid digest", |d| Digest::parse(&d).ok())
    }

    prop_compose! {
        fn reference()(
            registry in host(),
            components in proptest::collection::vec(component(), 1..5),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}"),
            digest in proptest::option::of(digest()),
        ) -> ImageReference {
            let mut repository = components.join("/");
            if registry == DOCKER_HUB_REGISTRY && components.len() == 1 {
                repository = format!("library/{repository}");
            }
            ImageReference { registry, repository, tag, digest }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn display_parses_back(r in reference()) {
            let shown = r.to_string();
            let back = ImageReference::parse(&shown);
            prop_assert_eq!(back.as_ref(), Ok(&r), "{}", shown);
            prop_assert_eq!(back.map(|b| b.to_string()).ok(), Some(shown));
        }

        #[test]
        fn familiar_parses_back(r in reference()) {
            prop_assert_eq!(ImageReference::parse(&r.familiar()), Ok(r));
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ImageReference::parse(&s);
        }

        #[test]
        fn parsed_is_a_fixed_point(s in "[ a-zA-Z0-9:/@._\\-\\[\\]+]{0,60}") {
            if let Ok(r) = ImageReference::parse(&s) {
                let shown = r.to_string();
                prop_assert_eq!(ImageReference::parse(&shown), Ok(r.clone()), "{} -> {}", s, shown);
                prop_assert_eq!(ImageReference::parse(&r.familiar()), Ok(r));
            }
        }

    }
}
