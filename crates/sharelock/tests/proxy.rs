//! The reverse-proxy examples of docs/deploy.md, run for real: docs/examples/nginx.conf and
//! docs/examples/Caddyfile, with only the site's particulars replaced (the node addresses, a loopback
//! port for the name and its certificate, the log paths), in front of three `sharelock serve` nodes over
//! one PostgreSQL database and one S3 bucket. Through each proxy: an owner registers, uploads a file of
//! several parts and downloads it, and sends a part of the largest size (16 MiB); a recipient binds and
//! edits, and the edit's event reaches the owner's event stream at once (the proxy does not buffer it);
//! `/metrics` is refused to the outside. Afterwards the proxy's logs hold no link fragment, share id or
//! share header value, access token, session token or record or file id. The unmodified examples (TLS
//! and all) pass the proxies' own configuration checks.
//!
//! nginx and Caddy come from Debian (scripts/test installs them); `SHARELOCK_TEST_NGINX` and
//! `SHARELOCK_TEST_CADDY` name other binaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::deployment::Deployment;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::{MemoryDeviceStore, NoProgress, Recipient, ShareOptions};
use sharelock_core::encoding::{b64, b64u};

const PASSWORD: &str = "correct horse battery staple";
/// An event the proxy passes at once arrives within this; a buffering proxy holds it back until its
/// buffer fills or the stream ends, which a small event never does.
const UNBUFFERED: Duration = Duration::from_secs(2);

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The proxy's binary: `$override_var`, else `name` on the PATH or in /usr/sbin.
fn program(name: &str, override_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: scripts/test installs it (apt-get install {name}), \
                 or name it in {override_var}"
            )
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `text` with `from` replaced by `to`, which must occur.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the example has no {from:?}");
    text.replace(from, to)
}

/// The example's node addresses replaced by the running nodes'.
fn with_nodes(text: &str, nodes: &[String]) -> String {
    let mut text = text.to_owned();
    for (i, node) in nodes.iter().enumerate() {
        text = replace(&text, &format!("10.0.0.1{}:8080", i + 1), node);
    }
    text
}

fn run_ok(command: &mut Command) -> String {
    let out = command.output().expect("run the proxy's check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

/// A proxy process on loopback, killed when dropped.
struct Proxy {
    child: Child,
    url: String,
    /// Every file the proxy logs to, and its standard output and error.
    logs: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn spawn(
        mut command: Command,
        url: String,
        logs: Vec<PathBuf>,
        dir: tempfile::TempDir,
    ) -> Self {
        let out = std::fs::File::create(dir.path().join("proxy.out")).unwrap();
        let err = std::fs::File::create(dir.path().join("proxy.err")).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start the proxy");
        let mut logs = logs;
        logs.push(dir.path().join("proxy.out"));
        logs.push(dir.path().join("proxy.err"));
        Proxy {
            child,
            url,
            logs,
            _dir: dir,
        }
    }

    /// Waits until the proxy answers `/readyz` from a node.
    async fn ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = std::fs::read_to_string(self.logs.last().unwrap()).unwrap_or_default();
                panic!("the proxy exited ({status}):\n{err}");
            }
            if let Ok(r) = client.get(format!("{}/readyz", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "the proxy never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        self.logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A self-signed certificate for the name, for the configuration checks of the unmodified examples.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=share.example.org", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    (cert, key)
}

/// nginx's main configuration around the example (which goes in its `http` block, as conf.d files
/// do), with everything nginx writes kept in `dir`.
fn nginx_main(dir: &Path, site: &str) -> PathBuf {
    let site_path = dir.join("sharelock.conf");
    std::fs::write(&site_path, site).unwrap();
    let temp = dir.join("temp");
    std::fs::create_dir_all(&temp).unwrap();
    let d = dir.display();
    let t = temp.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/main.error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {t};\n  proxy_temp_path {t};\n  \
         fastcgi_temp_path {t};\n  uwsgi_temp_path {t};\n  scgi_temp_path {t};\n  include {};\n}}\n",
        site_path.display()
    );
    let main_path = dir.join("nginx.conf");
    std::fs::write(&main_path, main).unwrap();
    main_path
}

fn nginx(nodes: &[String], port: u16) -> Proxy {
    let nginx = program("nginx", "SHARELOCK_TEST_NGINX");
    let dir = tempfile::tempdir().unwrap();
    let logs = |text: &str| {
        replace(
            text,
            "/var/log/nginx/",
            &format!("{}/", dir.path().display()),
        )
    };

    // The example as it stands, TLS and all, passes `nginx -t`.
    let (cert, key) = certificate(dir.path());
    let checked = replace(
        &replace(
            &logs(&example("nginx.conf")),
            "/etc/letsencrypt/live/share.example.org/fullchain.pem",
            &cert.display().to_string(),
        ),
        "/etc/letsencrypt/live/share.example.org/privkey.pem",
        &key.display().to_string(),
    );
    let main = nginx_main(dir.path(), &checked);
    run_ok(
        Command::new(&nginx)
            .arg("-t")
            .arg("-c")
            .arg(&main)
            .arg("-p")
            .arg(dir.path()),
    );

    // Run on loopback: plain HTTP on a free port instead of TLS on 443, the running nodes upstream.
    let mut site = with_nodes(&logs(&example("nginx.conf")), nodes);
    site = replace(
        &site,
        "listen 443 ssl http2;",
        &format!("listen 127.0.0.1:{port};"),
    );
    site = site
        .lines()
        .filter(|l| !l.trim_start().starts_with("ssl_certificate"))
        .collect::<Vec<_>>()
        .join("\n");
    let main = nginx_main(dir.path(), &site);
    let mut command = Command::new(&nginx);
    command.arg("-c").arg(&main).arg("-p").arg(dir.path());
    let logs = vec![
        dir.path().join("sharelock.access.log"),
        dir.path().join("sharelock.error.log"),
        dir.path().join("main.error.log"),
    ];
    Proxy::spawn(command, format!("http://127.0.0.1:{port}"), logs, dir)
}

fn caddy(nodes: &[String], port: u16) -> Proxy {
    let caddy = program("caddy", "SHARELOCK_TEST_CADDY");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let with_home = |command: &mut Command| {
        command
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"));
    };
    let logs = |text: &str| {
        replace(
            text,
            "/var/log/caddy/",
            &format!("{}/", dir.path().display()),
        )
    };

    // The example as it stands passes `caddy validate`.
    let checked = dir.path().join("Caddyfile.checked");
    std::fs::write(&checked, logs(&example("Caddyfile"))).unwrap();
    let mut validate = Command::new(&caddy);
    validate
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(&checked);
    with_home(&mut validate);
    run_ok(&mut validate);

    // Run on loopback: plain HTTP on a free port instead of the name (whose certificate Caddy would
    // fetch), the running nodes upstream, and no admin endpoint (its fixed port may be taken).
    let mut site = with_nodes(&logs(&example("Caddyfile")), nodes);
    site = replace(
        &site,
        "share.example.org {",
        &format!("http://127.0.0.1:{port} {{"),
    );
    site = replace(&site, "\n{\n", "\n{\n\tadmin off\n");
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, site).unwrap();
    let mut command = Command::new(&caddy);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path);
    with_home(&mut command);
    let logs = vec![dir.path().join("sharelock.access.log")];
    Proxy::spawn(command, format!("http://127.0.0.1:{port}"), logs, dir)
}

/// Every way `bytes` could be printed.
fn forms(bytes: &[u8], into: &mut BTreeSet<String>) {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    into.insert(hex.to_uppercase());
    into.insert(hex);
    into.insert(b64u(bytes));
    into.insert(b64(bytes));
    if let Ok(array) = <[u8; 16]>::try_from(bytes) {
        let id = uuid::Uuid::from_bytes(array);
        into.insert(id.to_string());
        into.insert(id.simple().to_string());
    }
}

/// The link's fragment and what it carries: the secret, the share id (the `Sharelock-Share` header's
/// value) and the access token (`Sharelock-Access`).
fn link_values(link: &str, into: &mut BTreeSet<String>) {
    let fragment = &link[link.find('#').unwrap() + 1..];
    into.insert(fragment.to_owned());
    let parsed = sharelock_core::share::Link::parse(link).unwrap();
    let secret = sharelock_core::share::LinkSecret::from_bytes(*parsed.secret.expose());
    forms(parsed.secret.expose(), into);
    forms(secret.share_id().as_bytes(), into);
    let keys = sharelock_core::share::ShareKeys::derive(secret, None).unwrap();
    into.insert(keys.access_token().to_b64u());
}

fn options(editable: bool) -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(3600),
        editable,
        burn_after_secs: None,
        label: None,
        passphrase: None,
        view_once: false,
        from: None,
        destroy_after_secs: None,
    }
}

/// Everything through the proxy; returns every secret and id the requests carried.
async fn through(proxy: &Proxy, node: &str, scratch: &Path) -> BTreeSet<String> {
    let url = &proxy.url;
    let mut carried = BTreeSet::new();
    sharelock_client::register(url, "owner@example.org", PASSWORD)
        .await
        .unwrap();
    let mut owner = sharelock_client::login(url, "owner@example.org", PASSWORD)
        .await
        .unwrap();
    let session: serde_json::Value = serde_json::from_slice(&owner.to_bytes().unwrap()).unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    carried.insert(token.clone());
    forms(owner.account_id().as_bytes(), &mut carried);

    let mut body = RecordBody::new(RecordType::Login, "Bank");
    body.set_field("password", "first").unwrap();
    let record = owner.create_record(&body).await.unwrap();
    forms(record.as_bytes(), &mut carried);
    // A file of several parts.
    let bytes: Vec<u8> = (0..16 * 1024 * 1024 + 777u32)
        .map(|i| (i.wrapping_mul(29) ^ (i >> 11)) as u8)
        .collect();
    let upload = scratch.join("scan.bin");
    std::fs::write(&upload, &bytes).unwrap();
    owner
        .attach_files(record, std::slice::from_ref(&upload), &NoProgress)
        .await
        .unwrap();
    let shown = owner.show_record(record).await.unwrap();
    let file = shown.body.files.first().unwrap();
    forms(file.id.as_bytes(), &mut carried);
    let out = scratch.join("downloaded");
    std::fs::create_dir_all(&out).unwrap();
    let saved = owner
        .download_file(record, file, &out, &NoProgress)
        .await
        .unwrap();
    assert!(
        std::fs::read(saved).unwrap() == bytes,
        "the file comes back byte-identical"
    );

    // The largest part the protocol allows passes too, whatever size this client sends.
    let loose = uuid::Uuid::new_v4();
    forms(loose.as_bytes(), &mut carried);
    let put = reqwest::Client::new()
        .put(format!(
            "{url}/api/v1/records/{record}/files/{loose}/parts/0"
        ))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(vec![7u8; sharelock_client::api::files::MAX_PART_BYTES])
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status().as_u16(),
        204,
        "a 16 MiB part through the proxy"
    );

    // A recipient binds and edits; the owner's event stream, through the proxy, sees it at once.
    let share = owner.create_share(record, options(true)).await.unwrap();
    link_values(&share.link.to_string(), &mut carried);
    let device = MemoryDeviceStore::new();
    let mut recipient = Recipient::open(&share.link, None, &device).await.unwrap();
    let mut stream = reqwest::Client::new()
        .get(format!("{url}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    // The stream subscribes once its request has reached a node.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let version = recipient
        .set_fields(&[("password".into(), "second, by the recipient".into())])
        .await
        .unwrap();
    let edited_at = Instant::now();
    let wanted = format!("\"number\":{version}");
    let mut seen = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let chunk = stream.chunk().await.unwrap().expect("the stream ended");
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("record_edited") && seen.contains(&wanted) {
                return edited_at.elapsed();
            }
        }
    })
    .await
    .expect("the edit's event comes through the proxy");
    assert!(
        arrived < UNBUFFERED,
        "the event took {arrived:?} through the proxy: it is buffered"
    );
    drop(stream);
    // The node itself tells nginx not to buffer its streams, whatever a configuration says.
    let direct = reqwest::Client::new()
        .get(format!("http://{node}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct
            .headers()
            .get("x-accel-buffering")
            .map(|v| v.as_bytes()),
        Some(&b"no"[..])
    );
    drop(direct);
    let again = Recipient::open(&share.link, None, &device).await.unwrap();
    std::fs::create_dir_all(scratch.join("recipient")).unwrap();
    let got = again
        .download_all(&scratch.join("recipient"))
        .await
        .unwrap();
    assert!(
        std::fs::read(&got[0]).unwrap() == bytes,
        "the recipient's download too"
    );

    // The metrics stay with the monitoring network.
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(metrics.status().as_u16(), 403);
    carried
}

fn assert_clean(proxy: &Proxy, carried: &BTreeSet<String>) {
    let text = proxy.log_text();
    let access = std::fs::read_to_string(&proxy.logs[0]).unwrap_or_default();
    assert!(
        access.lines().count() >= 10,
        "the access log has a line per request:\n{access}"
    );
    for value in carried {
        assert!(
            !text.contains(value.as_str()),
            "the proxy logged {value:?}:\n{text}"
        );
    }
    for part in ["/api/", "/records", "/files", "/recipient", "Bearer", "#"] {
        assert!(
            !access.contains(part),
            "the access log holds {part:?}:\n{access}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_example_in_front_of_three_nodes() {
    let port = free_port();
    let deployment = Deployment::start(3, &format!("http://127.0.0.1:{port}"), &[]).await;
    let nodes = deployment.addrs();
    let mut proxy = nginx(&nodes, port);
    proxy.ready().await;
    let scratch = tempfile::tempdir().unwrap();
    let carried = through(&proxy, &nodes[0], scratch.path()).await;
    assert_clean(&proxy, &carried);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_example_in_front_of_three_nodes() {
    let port = free_port();
    let deployment = Deployment::start(3, &format!("http://127.0.0.1:{port}"), &[]).await;
    let nodes = deployment.addrs();
    let mut proxy = caddy(&nodes, port);
    proxy.ready().await;
    let scratch = tempfile::tempdir().unwrap();
    let carried = through(&proxy, &nodes[0], scratch.path()).await;
    assert_clean(&proxy, &carried);
}

/// deploy.md shows the examples exactly as the files hold them.
#[test]
fn deploy_md_shows_the_examples_as_they_are() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy.md"))
            .unwrap();
    for (file, fence) in [
        ("nginx.conf", "```nginx\n"),
        ("Caddyfile", "```caddyfile\n"),
    ] {
        let shown = format!("{fence}{}```\n", example(file));
        assert!(
            doc.contains(&shown),
            "docs/deploy.md shows docs/examples/{file} other than it is"
        );
    }
}
