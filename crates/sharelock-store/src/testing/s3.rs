//! A throwaway S3-compatible server for tests (feature `testing`): the `moto` server from PyPI.
//!
//! [`fresh_bucket`] gives each test a bucket of its own on one moto server per test process, started
//! on first use on a free loopback port. [`S3Server::start`] starts a server of the test's own, stopped
//! when dropped or earlier with [`S3Server::stop`] (to test an endpoint that goes away).
//!
//! The interpreter is, in order: [`PYTHON_VAR`]; the virtual environment `moto-venv` that `scripts/test`
//! creates in the target directory; `python3` on `PATH`. If moto is not installed there, the test fails
//! and says how to install it; it never skips.
//!
//! When [`ENDPOINT_VAR`] is set, no server is started: every test gets a key prefix of its own in the
//! existing bucket named by [`BUCKET_VAR`] on that endpoint, with the credentials from
//! [`ACCESS_KEY_VAR`] and [`SECRET_KEY_VAR`] (and [`REGION_VAR`], default `us-east-1`).
//!
//! No moto server outlives its test process: a watchdog (`sh`, in a process group of its own) holds the
//! read end of a pipe whose write end only the test process has, and kills moto when it closes, however
//! the test process ends.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use object_store::ObjectStore as _;
use object_store::aws::AmazonS3Builder;
use uuid::Uuid;

use crate::blob::{BlobStore, S3Config};

/// An existing S3 endpoint to test against instead of a throwaway moto server.
pub const ENDPOINT_VAR: &str = "SHARELOCK_TEST_S3_ENDPOINT";
/// With [`ENDPOINT_VAR`]: the existing bucket the tests write under prefixes of their own.
pub const BUCKET_VAR: &str = "SHARELOCK_TEST_S3_BUCKET";
/// With [`ENDPOINT_VAR`]: the access key id (default `test`).
pub const ACCESS_KEY_VAR: &str = "SHARELOCK_TEST_S3_ACCESS_KEY_ID";
/// With [`ENDPOINT_VAR`]: the secret access key (default `test`).
pub const SECRET_KEY_VAR: &str = "SHARELOCK_TEST_S3_SECRET_ACCESS_KEY";
/// With [`ENDPOINT_VAR`]: the region (default `us-east-1`).
pub const REGION_VAR: &str = "SHARELOCK_TEST_S3_REGION";
/// The Python interpreter that has `moto[server]` installed.
pub const PYTHON_VAR: &str = "SHARELOCK_TEST_MOTO_PYTHON";

/// moto checks no signatures; any credentials do, but some must be given so the client never asks the
/// instance metadata service (not on loopback) for them.
const MOTO_KEY: &str = "sharelock-test";
const MOTO_REGION: &str = "us-east-1";

/// A running moto server (or the endpoint named by [`ENDPOINT_VAR`]).
pub struct S3Server {
    endpoint: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    /// [`BUCKET_VAR`] for an external endpoint; `None` for moto (a bucket per test).
    shared_bucket: Option<String>,
    process: Option<Moto>,
}

struct Moto {
    child: Child,
    watchdog: Child,
    log: PathBuf,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("endpoint", &self.endpoint)
            .field("shared_bucket", &self.shared_bucket)
            .finish_non_exhaustive()
    }
}

/// The process's S3 server, started on first use (blocking: call it off the async workers, as
/// [`fresh_bucket`] does). Panics with the reason when there is none.
pub fn server() -> &'static S3Server {
    static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.is_empty() => S3Server::external(endpoint),
        _ => S3Server::start(),
    });
    match server {
        Ok(server) => server,
        Err(message) => panic!("no S3 server to test against: {message}"),
    }
}

/// A new, empty bucket (or bucket prefix, on an external endpoint) on the process's server.
pub async fn fresh_bucket() -> TestBucket {
    tokio::task::spawn_blocking(fresh_bucket_blocking)
        .await
        .expect("create a test bucket")
}

/// [`fresh_bucket`] for code outside an async runtime.
pub fn fresh_bucket_blocking() -> TestBucket {
    server().bucket()
}

impl S3Server {
    /// Starts a moto server of its own on a free loopback port, stopped when dropped (or when the
    /// process ends).
    pub fn start() -> Result<Self, String> {
        Self::start_on(python())
    }

    /// [`S3Server::start`] with moto from the given Python interpreter.
    pub fn start_with_python(program: impl Into<PathBuf>) -> Result<Self, String> {
        Self::start_on(PythonChoice {
            program: program.into(),
            source: "as given",
        })
    }

    fn start_on(python: PythonChoice) -> Result<Self, String> {
        let mut last_error = String::new();
        // Another process may take the port between the pick and moto's bind: retry on a new one.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("finding a free port: {e}"))?
                .port();
            match start_moto(&python, port) {
                Ok(moto) => {
                    return Ok(S3Server {
                        endpoint: format!("http://127.0.0.1:{port}"),
                        region: MOTO_REGION.to_owned(),
                        access_key_id: MOTO_KEY.to_owned(),
                        secret_access_key: MOTO_KEY.to_owned(),
                        shared_bucket: None,
                        process: Some(moto),
                    });
                }
                Err(StartError::Fatal(message)) => return Err(message),
                Err(StartError::Retry(message)) => last_error = message,
            }
        }
        Err(last_error)
    }

    fn external(endpoint: String) -> Result<Self, String> {
        let bucket = std::env::var(BUCKET_VAR)
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("{ENDPOINT_VAR} is set, so {BUCKET_VAR} must name a bucket"))?;
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Ok(S3Server {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: var(REGION_VAR, MOTO_REGION),
            access_key_id: var(ACCESS_KEY_VAR, "test"),
            secret_access_key: var(SECRET_KEY_VAR, "test"),
            shared_bucket: Some(bucket),
            process: None,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether this is a moto server of the tests' own (else the endpoint of [`ENDPOINT_VAR`]).
    pub fn is_throwaway(&self) -> bool {
        self.shared_bucket.is_none()
    }

    /// Stops a moto server now (its buckets are gone; requests to the endpoint are refused from here
    /// on). Does nothing to an external endpoint.
    pub fn stop(&mut self) {
        if let Some(mut moto) = self.process.take() {
            moto.stop();
        }
    }

    /// A new, empty bucket on moto; on an external endpoint, a new prefix in [`BUCKET_VAR`]'s bucket.
    pub fn bucket(&self) -> TestBucket {
        let (bucket, prefix) = match &self.shared_bucket {
            Some(bucket) => (
                bucket.clone(),
                Some(format!("sharelock-test-{}", Uuid::new_v4().simple())),
            ),
            None => {
                let bucket = format!("sharelock-{}", Uuid::new_v4().simple());
                let status = http_request(&self.endpoint, "PUT", &format!("/{bucket}"))
                    .unwrap_or_else(|e| panic!("creating test bucket {bucket}: {e}"));
                assert!(
                    status == 200,
                    "creating test bucket {bucket}: moto answered {status}"
                );
                (bucket, None)
            }
        };
        TestBucket {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            bucket,
            base_prefix: prefix,
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Moto {
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One test's bucket (or, on an external endpoint, one test's prefix in a shared bucket).
#[derive(Debug, Clone)]
pub struct TestBucket {
    endpoint: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    bucket: String,
    base_prefix: Option<String>,
}

impl TestBucket {
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// The prefix every key of this test lives under (`None` on a bucket of the test's own).
    pub fn base_prefix(&self) -> Option<&str> {
        self.base_prefix.as_deref()
    }

    /// The blob store's configuration for this bucket, with `prefix` (below the test's own, if any).
    pub fn config(&self, prefix: Option<&str>) -> S3Config {
        let prefix = match (self.base_prefix.as_deref(), prefix) {
            (Some(base), Some(p)) => Some(format!("{base}/{p}")),
            (Some(base), None) => Some(base.to_owned()),
            (None, p) => p.map(str::to_owned),
        };
        S3Config {
            endpoint: Some(self.endpoint.clone()),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(self.secret_access_key.clone()),
            allow_http: self.endpoint.starts_with("http://"),
            prefix,
        }
    }

    /// A blob store on this bucket.
    pub fn blob_store(&self, prefix: Option<&str>) -> BlobStore {
        BlobStore::s3(self.config(prefix)).expect("an S3 blob store on the test bucket")
    }

    /// The `SHARELOCK_*` settings that make `sharelock serve` keep its blobs here.
    pub fn server_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("SHARELOCK_BLOB_BACKEND".to_owned(), "s3".to_owned()),
            ("SHARELOCK_S3_ENDPOINT".to_owned(), self.endpoint.clone()),
            ("SHARELOCK_S3_BUCKET".to_owned(), self.bucket.clone()),
            ("SHARELOCK_S3_REGION".to_owned(), self.region.clone()),
            (
                "SHARELOCK_S3_ACCESS_KEY_ID".to_owned(),
                self.access_key_id.clone(),
            ),
            (
                "SHARELOCK_S3_SECRET_ACCESS_KEY".to_owned(),
                self.secret_access_key.clone(),
            ),
        ];
        if let Some(prefix) = &self.base_prefix {
            env.push(("SHARELOCK_S3_PREFIX".to_owned(), prefix.clone()));
        }
        env
    }

    /// Every object key in the bucket under the test's prefix, as stored (prefix included), sorted.
    pub async fn keys(&self) -> Vec<String> {
        let builder = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false);
        let store = Arc::new(builder.build().expect("an S3 client for the test bucket"));
        let prefix = self
            .base_prefix
            .as_deref()
            .map(object_store::path::Path::from);
        let mut keys: Vec<String> = store
            .list(prefix.as_ref())
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("list the test bucket");
        keys.sort();
        keys
    }
}

enum StartError {
    /// The port was taken, or similar: worth another port.
    Retry(String),
    /// moto is missing or broken: no retry will help.
    Fatal(String),
}

fn start_moto(python: &PythonChoice, port: u16) -> Result<Moto, StartError> {
    let log = std::env::temp_dir().join(format!("sharelock-moto-{}.log", Uuid::new_v4().simple()));
    let log_file = std::fs::File::create(&log)
        .map_err(|e| StartError::Fatal(format!("creating {}: {e}", log.display())))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| StartError::Fatal(format!("opening {}: {e}", log.display())))?;
    let mut child = Command::new(&python.program)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(log_err))
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_file(&log);
            StartError::Fatal(format!(
                "cannot run {} ({}): {e}. {INSTALL_HINT}",
                python.program.display(),
                python.source
            ))
        })?;
    let watchdog = match spawn_watchdog(child.id(), &log) {
        Ok(watchdog) => watchdog,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&log);
            return Err(StartError::Fatal(e));
        }
    };
    let mut moto = Moto {
        child,
        watchdog,
        log,
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = moto.child.try_wait() {
            let output = std::fs::read_to_string(&moto.log).unwrap_or_default();
            moto.stop();
            let message = format!(
                "the moto server ({} -m moto.server, {}) exited with {status}:\n{output}",
                python.program.display(),
                python.source
            );
            return Err(if output.contains("Address already in use") {
                StartError::Retry(message)
            } else {
                StartError::Fatal(format!("{message}\n{INSTALL_HINT}"))
            });
        }
        // Any HTTP answer (moto's ListBuckets) means it is serving.
        if http_request(&endpoint, "GET", "/").is_ok() {
            return Ok(moto);
        }
        if Instant::now() > deadline {
            let output = std::fs::read_to_string(&moto.log).unwrap_or_default();
            moto.stop();
            return Err(StartError::Fatal(format!(
                "the moto server did not answer within 90 s:\n{output}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const INSTALL_HINT: &str = "The S3 tests need the moto server from PyPI: run scripts/test (which \
installs it into a virtual environment in the target directory), or `pip install 'moto[server]'` \
and set SHARELOCK_TEST_MOTO_PYTHON to that Python, or point SHARELOCK_TEST_S3_ENDPOINT (with \
SHARELOCK_TEST_S3_BUCKET) at an S3 server.";

struct PythonChoice {
    program: PathBuf,
    /// Where the choice came from, for error messages.
    source: &'static str,
}

fn python() -> PythonChoice {
    if let Some(program) = std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()) {
        return PythonChoice {
            program: PathBuf::from(program),
            source: "from SHARELOCK_TEST_MOTO_PYTHON",
        };
    }
    // A test binary runs from <target>/<profile>/deps/; scripts/test puts the venv in <target>.
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(4) {
            let candidate = dir.join("moto-venv").join("bin").join("python3");
            if candidate.is_file() {
                return PythonChoice {
                    program: candidate,
                    source: "the target directory's moto-venv",
                };
            }
        }
    }
    PythonChoice {
        program: PathBuf::from("python3"),
        source: "python3 on PATH",
    }
}

/// `sh` waiting for the end of its standard input, then killing moto. In a process group of its own,
/// so signals meant for the test process's group do not reach it first.
fn spawn_watchdog(pid: u32, log: &std::path::Path) -> Result<Child, String> {
    const SCRIPT: &str = r#"cat >/dev/null; kill "$MOTO_PID" 2>/dev/null; rm -f "$MOTO_LOG""#;
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT])
        .env("MOTO_PID", pid.to_string())
        .env("MOTO_LOG", log)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting moto's watchdog: {e}"))?;
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.flush();
    }
    Ok(child)
}

/// One bodiless HTTP/1.1 request to a loopback endpoint; the response's status code.
fn http_request(endpoint: &str, method: &str, path: &str) -> Result<u16, String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint} is not a plain-http endpoint"))?
        .trim_end_matches('/');
    let addr: SocketAddr = authority.parse().map_err(|e| format!("{authority}: {e}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connecting to {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("writing to {authority}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("reading from {authority}: {e}"))?;
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    head.strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{authority} answered something other than HTTP: {head:?}"))
}
