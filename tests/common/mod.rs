//! Test harness: real `docker-registry` processes on loopback ports, seeded by the testbed's
//! `oci_images.py`, and a TCP proxy that cuts connections mid-transfer.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Debian's package installs the CNCF distribution registry under this name.
const REGISTRY_BIN: &str = "docker-registry";
const ACCEPT_ALL: &str = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

pub fn images_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/oci_images.py")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A registry process with its own config and storage; killed on drop.
pub struct TestRegistry {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
    pub credentials: Option<(String, String)>,
}

impl TestRegistry {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A registry that requires Basic credentials (htpasswd, bcrypt).
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user.to_owned(), password.to_owned())))
    }

    fn launch(credentials: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let port = free_port();
        let mut auth = String::new();
        if let Some((user, password)) = &credentials {
            let hash = bcrypt::hash(password, 5).unwrap_or_else(|e| panic!("bcrypt: {e}"));
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).unwrap_or_else(|e| panic!("{e}"));
            auth = format!(
                "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
                path.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("{e}"));
        let log = std::fs::File::create(dir.path().join("registry.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {REGISTRY_BIN} (apt-get install docker-registry): {e}")
            });
        let registry = Self {
            child,
            port,
            _dir: dir,
            credentials,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry on {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Pushes the standard image set under `prefix/` and returns oci_images.py's description.
    pub fn seed(&self, prefix: &str) -> serde_json::Value {
        let mut cmd = Command::new("python3");
        cmd.arg(images_script())
            .args(["seed", &self.url(), "--prefix", prefix]);
        if let Some((u, p)) = &self.credentials {
            cmd.args(["--user", u, "--password", p]);
        }
        run_json(cmd)
    }

    /// Pushes one large random image (for the benchmark).
    pub fn push_big(&self, reference: &str, size_mb: u32, layers: u32) -> serde_json::Value {
        let mut cmd = Command::new("python3");
        cmd.arg(images_script()).args([
            "big",
            &self.url(),
            reference,
            "--size-mb",
            &size_mb.to_string(),
            "--layers",
            &layers.to_string(),
        ]);
        run_json(cmd)
    }

    /// GET on the registry's API with the test credentials, returning (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut cmd = Command::new("curl");
        // Without Accept, distribution 2.8 answers 404 for OCI manifests.
        cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-H", ACCEPT_ALL]);
        if let Some((u, p)) = &self.credentials {
            cmd.args(["-u", &format!("{u}:{p}")]);
        }
        cmd.arg(format!("{}{path}", self.url()));
        let out = cmd.output().unwrap_or_else(|e| panic!("curl: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_json(mut cmd: Command) -> serde_json::Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "oci_images.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("oci_images.py output: {e}"))
}

/// A TCP proxy in front of a registry that forwards until `cut_after` bytes went upstream,
/// then closes every connection and refuses new ones: a target that dies mid-copy.
pub struct CuttingProxy {
    pub port: u16,
    pub tripped: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    pub async fn start(upstream_port: u16, cut_after: u64) -> Self {
        Self::launch(upstream_port, cut_after, false).await
    }

    /// Cuts only the connection that crosses `cut_after`; everything else passes: a transient
    /// failure a retry should get past.
    pub async fn start_once(upstream_port: u16, cut_after: u64) -> Self {
        Self::launch(upstream_port, cut_after, true).await
    }

    async fn launch(upstream_port: u16, cut_after: u64, once: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let tripped = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let flag = Arc::clone(&tripped);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) && !once {
                    drop(client);
                    continue;
                }
                let flag = Arc::clone(&flag);
                let sent = Arc::clone(&sent);
                tokio::spawn(async move {
                    let Ok(mut upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                    else {
                        return;
                    };
                    let (mut cr, mut cw) = client.split();
                    let (mut ur, mut uw) = upstream.split();
                    let up = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let total = sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                            if total > cut_after && !flag.swap(true, Ordering::SeqCst) {
                                return;
                            }
                            if flag.load(Ordering::SeqCst) && !once {
                                return;
                            }
                            if uw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match ur.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if (flag.load(Ordering::SeqCst) && !once)
                                || cw.write_all(&buf[..n]).await.is_err()
                            {
                                return;
                            }
                        }
                    };
                    // Whichever side ends first closes both.
                    tokio::select! {
                        _ = up => {},
                        _ = down => {},
                    }
                });
            }
        });
        Self {
            port,
            tripped,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A token-auth front for a registry, as Docker Hub, quay.io and ghcr.io work: `/v2/` answers
/// 401 with a Bearer challenge, `/token` hands out tokens per scope (anonymously, or only to
/// Basic `credentials` when given), and API calls pass only with a token whose scope covers the
/// repository and action. Records every scope requested.
pub struct BearerGate {
    pub port: u16,
    pub scopes: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

struct GateState {
    upstream: String,
    gate: String,
    credentials: Option<(String, String)>,
    scopes: Arc<std::sync::Mutex<Vec<String>>>,
    http: reqwest::Client,
}

type GateBody = http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>;

impl BearerGate {
    pub async fn start(upstream_port: u16, credentials: Option<(&str, &str)>) -> Self {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let scopes: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let state = Arc::new(GateState {
            upstream: format!("http://127.0.0.1:{upstream_port}"),
            gate: format!("http://127.0.0.1:{port}"),
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            scopes: Arc::clone(&scopes),
            http: reqwest::Client::new(),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(gate(req, state).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { port, scopes, task }
    }

    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for BearerGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn text_response(status: u16, body: &str, headers: &[(&str, String)]) -> hyper::Response<GateBody> {
    use http_body_util::BodyExt;
    let mut builder = hyper::Response::builder().status(status);
    for (k, v) in headers {
        builder = builder.header(*k, v.as_str());
    }
    builder
        .body(
            http_body_util::Full::new(bytes::Bytes::from(body.to_owned()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `repository:<name>:<actions>` needed for a `/v2/<name>/...` call.
fn needed_scope(method: &hyper::Method, path: &str) -> Option<(String, &'static str)> {
    let rest = path.strip_prefix("/v2/")?;
    let cut = ["/manifests/", "/blobs/", "/tags/"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()?;
    let action = if matches!(*method, hyper::Method::GET | hyper::Method::HEAD) {
        "pull"
    } else {
        "push"
    };
    Some((rest[..cut].to_owned(), action))
}

async fn gate(
    req: hyper::Request<hyper::body::Incoming>,
    state: Arc<GateState>,
) -> hyper::Response<GateBody> {
    use base64::Engine;
    use futures::TryStreamExt;
    use http_body_util::BodyExt;
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if path == "/token" {
        if let Some((u, p)) = &state.credentials {
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            );
            if auth != expected {
                return text_response(401, r#"{"details":"incorrect username or password"}"#, &[]);
            }
        }
        let scope = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "scope")
            .map(|(_, v)| {
                v.replace("%3A", ":")
                    .replace("%2F", "/")
                    .replace("%2C", ",")
            })
            .unwrap_or_default();
        if let Ok(mut s) = state.scopes.lock() {
            s.push(scope.clone());
        }
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&scope);
        return text_response(
            200,
            &format!(r#"{{"token":"{token}","expires_in":300}}"#),
            &[],
        );
    }
    let challenge = |scope: &str| {
        (
            "www-authenticate",
            format!(
                r#"Bearer realm="{}/token",service="gate",scope="{scope}""#,
                state.gate
            ),
        )
    };
    let granted = auth
        .strip_prefix("Bearer ")
        .and_then(|t| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    match needed_scope(req.method(), &path) {
        Some((repo, action)) => {
            let ok = granted.as_deref().is_some_and(|g| {
                g.strip_prefix(&format!("repository:{repo}:"))
                    .is_some_and(|actions| actions.split(',').any(|a| a == action))
            });
            if !ok {
                let scope = format!("repository:{repo}:{action}");
                return text_response(
                    401,
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                    &[challenge(&scope)],
                );
            }
        }
        None if granted.is_none() => {
            return text_response(401, "{}", &[challenge("")]);
        }
        None => {}
    }
    // Forward to the registry, streaming both ways.
    let url = if query.is_empty() {
        format!("{}{path}", state.upstream)
    } else {
        format!("{}{path}?{query}", state.upstream)
    };
    let method = req.method().clone();
    let mut headers = req.headers().clone();
    headers.remove("authorization");
    headers.remove("host");
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    let upstream = match state
        .http
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return text_response(502, &e.to_string(), &[]),
    };
    let mut builder = hyper::Response::builder().status(upstream.status().as_u16());
    for (k, v) in upstream.headers() {
        let value = v
            .to_str()
            .unwrap_or("")
            .replace(&state.upstream, &state.gate);
        builder = builder.header(k.as_str(), value);
    }
    let stream = upstream
        .bytes_stream()
        .map_ok(hyper::body::Frame::data)
        .map_err(std::io::Error::other);
    builder
        .body(http_body_util::StreamBody::new(stream).boxed())
        .unwrap_or_else(|e| panic!("{e}"))
}
