//! Copy benchmark: our registry-to-registry copy against `skopeo copy` on the same ~200 MB,
//! four-layer image between local registries, in the same run. Ignored by default; run with
//! `cargo test --release --test bench_copy -- --ignored --nocapture`.

mod common;

use std::process::Command;
use std::time::Instant;

use common::TestRegistry;
use healthomics_ecr_mcp::core::image_ref::ImageReference;
use healthomics_ecr_mcp::oci::{CopyRequest, CopyTarget, Credentials, Mirrors, RegistryClient};

const SIZE_MB: u32 = 200;
const LAYERS: u32 = 4;
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: ~200 MB through local registries"]
async fn copy_vs_skopeo() {
    let source = TestRegistry::start();
    let image = source.push_big("bench/big:1", SIZE_MB, LAYERS);
    let mirrors = Mirrors::parse([format!("{}={}", source.authority(), source.url())])
        .unwrap_or_else(|e| panic!("{e}"));
    let client = RegistryClient::new(mirrors).unwrap_or_else(|e| panic!("{e}"));
    let src = ImageReference::parse(&format!("{}/bench/big:1", source.authority()))
        .unwrap_or_else(|e| panic!("{e}"));

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut bytes = 0;
    for round in 0..ROUNDS {
        // Fresh targets each time, so neither tool can skip or mount anything.
        let target = TestRegistry::start();
        let request = CopyRequest::new(
            src.clone(),
            CopyTarget {
                base_url: target.url(),
                repository: "bench/big".into(),
                tag: "1".into(),
                auth: Credentials::Anonymous,
            },
        );
        let started = Instant::now();
        let report = client
            .copy_image(&request, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ours.push(started.elapsed().as_secs_f64());
        bytes = report.bytes_transferred;
        assert_eq!(
            report.manifest_digest.as_str(),
            image["digest"].as_str().unwrap_or("")
        );

        let target = TestRegistry::start();
        let started = Instant::now();
        let status = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{}/bench/big:1", source.authority()),
                &format!("docker://{}/bench/big:1", target.authority()),
            ])
            .status()
            .unwrap_or_else(|e| panic!("skopeo (apt-get install skopeo): {e}"));
        theirs.push(started.elapsed().as_secs_f64());
        assert!(status.success(), "skopeo copy failed in round {round}");
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (o, t) = (best(&ours), best(&theirs));
    println!(
        "copy of {:.1} MB in {LAYERS} layers: ours {:?} s (best {o:.2} s, {:.0} MB/s), skopeo {:?} s (best {t:.2} s, {:.0} MB/s), ratio ours/skopeo {:.2}",
        bytes as f64 / 1e6,
        ours,
        bytes as f64 / 1e6 / o,
        theirs,
        bytes as f64 / 1e6 / t,
        o / t
    );
}
