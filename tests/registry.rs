//! Integration tests against real registries (Debian `docker-registry`) seeded with images
//! built without Docker (`tests/testbed/oci_images.py`).

mod common;

use std::sync::{Arc, Mutex};

use common::{BearerGate, CuttingProxy, TestRegistry};
use healthomics_ecr_mcp::core::image_ref::ImageReference;
use healthomics_ecr_mcp::core::image_rules::{Platform, RuleCode, check_image};
use healthomics_ecr_mcp::oci::{
    BlobPlaces, CopyProgress, CopyRequest, CopyTarget, Credentials, ManifestKind, Mirrors,
    OciError, RegistryClient,
};

/// Upstream host names the tests pretend to pull from; mirrors send them to local registries.
const QUAY: &str = "quay.io";

fn reference(s: &str) -> ImageReference {
    ImageReference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn client_for(upstream: &TestRegistry) -> RegistryClient {
    let mirrors = Mirrors::parse([
        format!("{QUAY}={}", upstream.url()),
        format!("{}={}", upstream.authority(), upstream.url()),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    RegistryClient::new(mirrors).unwrap_or_else(|e| panic!("{e}"))
}

fn s<'a>(v: &'a serde_json::Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_else(|| panic!("no {path:?} in {v}"))
}

fn target(registry: &TestRegistry, repository: &str, tag: &str) -> CopyTarget {
    CopyTarget {
        base_url: registry.url(),
        repository: repository.into(),
        tag: tag.into(),
        auth: match &registry.credentials {
            Some((u, p)) => Credentials::basic(u, p),
            None => Credentials::Anonymous,
        },
    }
}

async fn expect_ok<T>(r: Result<T, OciError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_and_rules_for_each_image_kind() {
    let upstream = TestRegistry::start();
    let seeded = upstream.seed("test");
    let client = client_for(&upstream);
    let anon = Credentials::Anonymous;

    // Single-arch amd64, Docker schema 2: clean.
    let r = reference("quay.io/test/amd64:1");
    let amd = expect_ok(client.inspect(&r, &anon).await).await;
    assert_eq!(amd.kind, ManifestKind::Image);
    assert_eq!(amd.digest.as_str(), s(&seeded, &["amd64", "digest"]));
    assert_eq!(
        amd.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(amd.endpoint, upstream.url());
    assert!(amd.platform_found);
    assert_eq!(amd.image.platform, Some(Platform::linux_amd64()));
    assert_eq!(amd.image.layers.len(), 1);
    assert_eq!(amd.image.config.cmd, Some(vec!["/bin/bash".to_owned()]));
    assert_eq!(
        amd.image.compressed_size,
        seeded["amd64"]["size"].as_u64().unwrap_or(0)
    );
    assert!(check_image(&amd.image.config, &amd.manifest_summary(None), None).is_empty());

    // Multi-arch index: amd64 entry selected, all platforms listed, index digest on top.
    let multi = expect_ok(
        client
            .inspect(&reference("quay.io/test/multiarch:1"), &anon)
            .await,
    )
    .await;
    assert_eq!(multi.kind, ManifestKind::Index);
    assert_eq!(multi.digest.as_str(), s(&seeded, &["multiarch", "digest"]));
    let names: Vec<String> = multi
        .platforms
        .iter()
        .map(|e| {
            e.platform
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        vec!["linux/amd64", "linux/arm64/v8", "unknown/unknown"]
    );
    assert_eq!(
        multi.image.digest.as_str(),
        s(&seeded["multiarch"]["platforms"][0], &["digest"])
    );
    assert!(multi.platform_found);
    assert!(check_image(&multi.image.config, &multi.manifest_summary(None), None).is_empty());

    // By digest too.
    let pinned = format!("quay.io/test/multiarch@{}", multi.digest);
    let again = expect_ok(client.inspect(&reference(&pinned), &anon).await).await;
    assert_eq!(again.digest, multi.digest);

    // Arm64-only, single and index: not_amd64.
    for name in ["arm64only", "arm64index"] {
        let i = expect_ok(
            client
                .inspect(&reference(&format!("quay.io/test/{name}:1")), &anon)
                .await,
        )
        .await;
        assert!(!i.platform_found, "{name}");
        let codes: Vec<RuleCode> = check_image(&i.image.config, &i.manifest_summary(None), None)
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, vec![RuleCode::NotAmd64], "{name}");
    }

    // Entrypoint and reserved env.
    for (name, code) in [
        ("entrypoint", RuleCode::EntrypointSet),
        ("reserved-env", RuleCode::ReservedEnvPrefix),
    ] {
        let i = expect_ok(
            client
                .inspect(&reference(&format!("quay.io/test/{name}:1")), &anon)
                .await,
        )
        .await;
        let codes: Vec<RuleCode> = check_image(&i.image.config, &i.manifest_summary(None), None)
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, vec![code], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn layer_paths_find_tmp_content() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let client = client_for(&upstream);
    let anon = Credentials::Anonymous;
    let r = reference("quay.io/test/tmpfiles:1");
    let i = expect_ok(client.inspect(&r, &anon).await).await;
    let mut paths = Vec::new();
    let mut uncompressed = 0;
    for layer in &i.image.layers {
        let listing = expect_ok(client.layer_paths(&r, layer, &anon, 10_000).await).await;
        assert!(!listing.truncated);
        uncompressed += listing.uncompressed_size.unwrap_or(0);
        paths.extend(listing.paths);
    }
    assert!(
        paths.contains(&"tmp/reference/genome.fa".to_owned()),
        "{paths:?}"
    );
    assert!(uncompressed > 0);
    let findings = check_image(
        &i.image.config,
        &i.manifest_summary(Some(uncompressed)),
        Some(&paths),
    );
    assert_eq!(
        findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        vec![RuleCode::FilesInTmp]
    );
    assert!(findings[0].message.contains("/tmp/reference/genome.fa"));

    let cut = expect_ok(client.layer_paths(&r, &i.image.layers[0], &anon, 2).await).await;
    assert_eq!(cut.paths.len(), 2);
    assert!(cut.truncated);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_images_and_tags() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let client = client_for(&upstream);
    let anon = Credentials::Anonymous;

    let e = client
        .inspect(&reference("quay.io/test/amd64:nope"), &anon)
        .await
        .err();
    assert!(matches!(e, Some(OciError::NotFound { .. })), "{e:?}");
    let e = client
        .inspect(&reference("quay.io/test/no-such-repo:1"), &anon)
        .await
        .err();
    assert!(matches!(e, Some(OciError::NotFound { .. })), "{e:?}");
    let exists = client
        .tag_exists(&reference("quay.io/test/amd64:nope"), &anon)
        .await;
    assert!(matches!(exists, Ok(false)), "{exists:?}");
    let exists = client
        .tag_exists(&reference("quay.io/test/amd64:1"), &anon)
        .await;
    assert!(matches!(exists, Ok(true)), "{exists:?}");
    let head = expect_ok(
        client
            .manifest_head(&reference("quay.io/test/multiarch:1"), &anon)
            .await,
    )
    .await;
    assert_eq!(
        head.map(|h| h.media_type),
        Some("application/vnd.oci.image.index.v1+json".to_owned())
    );

    // Nothing listens: a network error, not a not-found.
    let dead =
        RegistryClient::new(Mirrors::parse(["quay.io=http://127.0.0.1:9"]).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let e = dead
        .inspect(&reference("quay.io/test/amd64:1"), &anon)
        .await
        .err();
    assert!(matches!(e, Some(OciError::Network { .. })), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_single_multi_and_recopy() {
    let upstream = TestRegistry::start();
    let seeded = upstream.seed("test");
    let target_registry = TestRegistry::start();
    let client = client_for(&upstream);

    // Single-arch: digest preserved, progress reaches the total.
    let seen: Arc<Mutex<Vec<CopyProgress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut request = CopyRequest::new(
        reference("quay.io/test/amd64:1"),
        target(&target_registry, "quay/test/amd64", "1"),
    );
    let report = expect_ok(
        client
            .copy_image(
                &request,
                Some(Arc::new(move |p| {
                    if let Ok(mut v) = sink.lock() {
                        v.push(p);
                    }
                })),
            )
            .await,
    )
    .await;
    assert_eq!(
        report.manifest_digest.as_str(),
        s(&seeded, &["amd64", "digest"])
    );
    assert!(report.verified);
    assert_eq!(report.blobs_copied, 2);
    assert_eq!(report.blobs_skipped, 0);
    assert_eq!(report.bytes_transferred, report.bytes_total);
    let last = seen.lock().ok().and_then(|v| v.last().copied());
    assert_eq!(
        last.map(|p| (p.bytes_done, p.blobs_done)),
        Some((report.bytes_total, 2))
    );

    // The copy is a real image on the target: inspect it there.
    let target_client = client_for(&target_registry);
    let copied = expect_ok(
        target_client
            .inspect(
                &reference(&format!(
                    "{}/quay/test/amd64:1",
                    target_registry.authority()
                )),
                &Credentials::Anonymous,
            )
            .await,
    )
    .await;
    assert_eq!(copied.digest, report.manifest_digest);

    // Re-copy: nothing transferred.
    let again = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(again.bytes_transferred, 0);
    assert_eq!(again.blobs_copied, 0);
    assert_eq!(again.blobs_skipped, 2);
    assert_eq!(again.manifest_digest, report.manifest_digest);

    // Multi-arch → the amd64 manifest, byte-identical.
    request.source = reference("quay.io/test/multiarch:1");
    request.target = target(&target_registry, "quay/test/multiarch", "1");
    let multi = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(
        multi.manifest_digest.as_str(),
        s(&seeded["multiarch"]["platforms"][0], &["digest"])
    );
    assert_eq!(
        multi.source_index_digest.as_ref().map(|d| d.as_str()),
        Some(s(&seeded, &["multiarch", "digest"]))
    );
    assert_eq!(multi.platform, Some(Platform::linux_amd64()));

    // An explicit other platform.
    request.platform = Platform::parse("linux/arm64").unwrap_or_else(|e| panic!("{e}"));
    request.target = target(&target_registry, "quay/test/multiarch", "1-arm64");
    let arm = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(
        arm.manifest_digest.as_str(),
        s(&seeded["multiarch"]["platforms"][1], &["digest"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn arm64_only_is_refused_before_any_write() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let target_registry = TestRegistry::start();
    let client = client_for(&upstream);
    for name in ["arm64only", "arm64index"] {
        let request = CopyRequest::new(
            reference(&format!("quay.io/test/{name}:1")),
            target(&target_registry, &format!("quay/test/{name}"), "1"),
        );
        let e = client.copy_image(&request, None).await.err();
        match &e {
            Some(OciError::PlatformNotFound {
                wanted, available, ..
            }) => {
                assert_eq!(wanted, "linux/amd64");
                assert!(available.contains("linux/arm64"), "{available}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("linux/amd64"), "{msg}");
    }
    // Not even a repository was created on the target.
    let (status, body) = target_registry.get("/v2/_catalog");
    assert_eq!(status, 200);
    assert!(body.contains(r#""repositories":[]"#), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_source_and_bad_target() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let target_registry = TestRegistry::start();
    let client = client_for(&upstream);
    let request = CopyRequest::new(
        reference("quay.io/test/amd64:missing"),
        target(&target_registry, "x/y", "1"),
    );
    let e = client.copy_image(&request, None).await.err();
    assert!(matches!(e, Some(OciError::NotFound { .. })), "{e:?}");

    let request = CopyRequest::new(
        reference("quay.io/test/amd64:1"),
        target(&target_registry, "Bad/Name", "1"),
    );
    let e = client.copy_image(&request, None).await.err();
    assert!(matches!(e, Some(OciError::InvalidInput(_))), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_registries() {
    let upstream = TestRegistry::start_with_basic_auth("puller", "pull-secret");
    upstream.seed("test");
    let target_registry = TestRegistry::start_with_basic_auth("pusher", "push-secret");
    let client = client_for(&upstream);
    let src = reference("quay.io/test/multiarch:1");

    // Anonymous against a Basic registry: unauthorized, and no secret in the message.
    let e = client.inspect(&src, &Credentials::Anonymous).await.err();
    assert!(matches!(e, Some(OciError::Unauthorized { .. })), "{e:?}");
    let wrong = Credentials::basic("puller", "wrong-password");
    let e = client.inspect(&src, &wrong).await.err();
    assert!(matches!(e, Some(OciError::Unauthorized { .. })), "{e:?}");
    assert!(!format!("{e:?}").contains("wrong-password"));

    let creds = Credentials::basic("puller", "pull-secret");
    let i = expect_ok(client.inspect(&src, &creds).await).await;
    assert_eq!(i.kind, ManifestKind::Index);

    let mut request = CopyRequest::new(src.clone(), target(&target_registry, "mirror/multi", "1"));
    request.source_auth = creds.clone();
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert!(report.verified);
    assert!(report.blobs_copied > 0);

    // Wrong push credentials: refused before anything is written.
    request.target.auth = Credentials::basic("pusher", "nope");
    request.target.repository = "mirror/other".into();
    let e = client.copy_image(&request, None).await.err();
    assert!(matches!(e, Some(OciError::Unauthorized { .. })), "{e:?}");
    let shown = format!(
        "{e:?} {}",
        e.as_ref().map(|e| e.to_string()).unwrap_or_default()
    );
    assert!(
        !shown.contains("nope") && !shown.contains("push-secret"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn same_registry_copy_mounts_blobs() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let client = client_for(&upstream);
    let request = CopyRequest::new(
        reference(&format!("{}/test/entrypoint:1", upstream.authority())),
        target(&upstream, "copies/entrypoint", "1"),
    );
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(report.blobs_mounted, 2, "{report:?}");
    assert_eq!(report.bytes_transferred, 0);
}

/// The same upstream image into a second repository of the target registry: every blob is
/// mounted from the first (where this process put it), none uploaded again.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_repository_mounts_from_the_first() {
    let upstream = TestRegistry::start();
    let seeded = upstream.seed("test");
    let target_registry = TestRegistry::start();
    let client = client_for(&upstream);
    let source = reference("quay.io/test/amd64:1");
    let first = CopyRequest::new(source.clone(), target(&target_registry, "first/amd64", "1"));
    let report = expect_ok(client.copy_image(&first, None).await).await;
    assert_eq!((report.blobs_copied, report.blobs_mounted), (2, 0));

    let second = CopyRequest::new(source, target(&target_registry, "second/amd64", "1"));
    let report = expect_ok(client.copy_image(&second, None).await).await;
    assert_eq!(
        (
            report.blobs_copied,
            report.blobs_mounted,
            report.blobs_skipped
        ),
        (0, 2, 0),
        "{report:?}"
    );
    assert_eq!(report.bytes_transferred, 0);
    assert!(report.verified);

    // The mounted image is whole in the second repository: its blobs are served from there.
    let copied = expect_ok(
        client_for(&target_registry)
            .inspect(
                &reference(&format!("{}/second/amd64:1", target_registry.authority())),
                &Credentials::Anonymous,
            )
            .await,
    )
    .await;
    assert_eq!(copied.digest.as_str(), s(&seeded, &["amd64", "digest"]));
    assert_eq!(copied.image.config.cmd, Some(vec!["/bin/bash".to_owned()]));
}

/// A remembered place that no longer holds the blob: the registry opens an upload session
/// instead of mounting, the copy uploads, and the blob is remembered where it now is.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_place_falls_back_to_an_upload() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let target_registry = TestRegistry::start();
    let client = client_for(&upstream);
    let source = reference("quay.io/test/multiarch:1");
    let image = expect_ok(client.inspect(&source, &Credentials::Anonymous).await).await;
    let places = BlobPlaces::process();
    let registry = target_registry.authority();
    let blobs: Vec<_> = std::iter::once(image.image.config_digest.clone())
        .chain(image.image.layers.iter().map(|l| l.digest.clone()))
        .collect();
    for digest in &blobs {
        places.remember(&registry, digest, "deleted/meanwhile");
    }

    let request = CopyRequest::new(source, target(&target_registry, "third/multi", "1"));
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(
        (report.blobs_copied, report.blobs_mounted),
        (blobs.len(), 0),
        "{report:?}"
    );
    assert_eq!(report.bytes_transferred, report.bytes_total);
    for digest in &blobs {
        assert_eq!(
            places.holder(&registry, digest, "elsewhere").as_deref(),
            Some("third/multi")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_copy_leaves_no_tag_and_retry_succeeds() {
    let upstream = TestRegistry::start();
    // A few MB so the cut falls inside a blob upload.
    let big = upstream.push_big("bench/mid:1", 6, 3);
    let target_registry = TestRegistry::start();
    let proxy = CuttingProxy::start(target_registry.port, 3 * 1024 * 1024).await;
    let client = client_for(&upstream);
    let mut request = CopyRequest::new(
        reference("quay.io/bench/mid:1"),
        CopyTarget {
            base_url: proxy.url(),
            repository: "bench/mid".into(),
            tag: "1".into(),
            auth: Credentials::Anonymous,
        },
    );
    let e = client.copy_image(&request, None).await.err();
    assert!(proxy.tripped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        matches!(e, Some(OciError::Network { .. })),
        "expected a network error, got {e:?}"
    );
    // No tag on the target.
    let (status, body) = target_registry.get("/v2/bench/mid/manifests/1");
    assert_eq!(status, 404, "{body}");

    // Retry straight to the target: completes, skipping what made it before the cut.
    request.target.base_url = target_registry.url();
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert_eq!(report.manifest_digest.as_str(), s(&big, &["digest"]));
    assert!(report.blobs_copied >= 1);
    let (status, _) = target_registry.get("/v2/bench/mid/manifests/1");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_registries() {
    let upstream = TestRegistry::start();
    upstream.seed("test");
    let target_registry = TestRegistry::start();
    // Source: anonymous tokens (a public registry). Target: tokens only for `pusher`.
    let source_gate = BearerGate::start(upstream.port, None).await;
    let target_gate =
        BearerGate::start(target_registry.port, Some(("pusher", "push-secret"))).await;
    let mirrors =
        Mirrors::parse([format!("{QUAY}={}", source_gate.url())]).unwrap_or_else(|e| panic!("{e}"));
    let client = RegistryClient::new(mirrors).unwrap_or_else(|e| panic!("{e}"));

    let src = reference("quay.io/test/multiarch:1");
    let i = expect_ok(client.inspect(&src, &Credentials::Anonymous).await).await;
    assert_eq!(i.kind, ManifestKind::Index);
    let listing = expect_ok(
        client
            .layer_paths(&src, &i.image.layers[0], &Credentials::Anonymous, 100)
            .await,
    )
    .await;
    assert!(!listing.paths.is_empty());
    let scopes = source_gate
        .scopes
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    assert!(
        scopes.iter().all(|s| s == "repository:test/multiarch:pull"),
        "{scopes:?}"
    );

    let mut request = CopyRequest::new(
        src,
        CopyTarget {
            base_url: target_gate.url(),
            repository: "mirror/multiarch".into(),
            tag: "1".into(),
            auth: Credentials::basic("pusher", "push-secret"),
        },
    );
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert!(report.verified && report.blobs_copied == 2, "{report:?}");
    let scopes = target_gate
        .scopes
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    assert!(
        scopes.contains(&"repository:mirror/multiarch:pull,push".to_owned()),
        "{scopes:?}"
    );

    // The token endpoint refuses wrong credentials: an unauthorized error, before any write.
    request.target.auth = Credentials::basic("pusher", "wrong");
    request.target.repository = "mirror/other".into();
    let e = client.copy_image(&request, None).await.err();
    assert!(matches!(e, Some(OciError::Unauthorized { .. })), "{e:?}");
    let (_, catalog) = target_registry.get("/v2/_catalog");
    assert!(!catalog.contains("mirror/other"), "{catalog}");
}

#[tokio::test(flavor = "multi_thread")]
async fn blob_upload_cut_once_is_retried() {
    let upstream = TestRegistry::start();
    let big = upstream.push_big("bench/mid:1", 6, 3);
    let target_registry = TestRegistry::start();
    let proxy = CuttingProxy::start_once(target_registry.port, 3 * 1024 * 1024).await;
    let client = client_for(&upstream);
    let request = CopyRequest::new(
        reference("quay.io/bench/mid:1"),
        CopyTarget {
            base_url: proxy.url(),
            repository: "bench/mid".into(),
            tag: "1".into(),
            auth: Credentials::Anonymous,
        },
    );
    let report = expect_ok(client.copy_image(&request, None).await).await;
    assert!(proxy.tripped.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(report.manifest_digest.as_str(), s(&big, &["digest"]));
    assert_eq!(report.blobs_copied, 4);
    assert!(report.verified);
}
