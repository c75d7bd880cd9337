//! Throwaway PostgreSQL for tests and benchmarks (feature `testing`).
//!
//! [`fresh_database`] gives each test a database of its own, owned by a role of its own that is not a
//! superuser and logs in with a password over TCP, as a deployment would. The databases live in one
//! cluster per test process, started on first use: `initdb` and `pg_ctl` from the machine's
//! PostgreSQL (on `PATH`, else the newest `/usr/lib/postgresql/*/bin`), run as the unprivileged
//! `postgres` user when the tests run as root (the server refuses to run as root), on a free loopback
//! port, in a temporary directory. When `SHARELOCK_TEST_DATABASE_URL` is set, no cluster is started:
//! each test gets a new database on that server, created by the URL's role (which needs `CREATEDB`)
//! and dropped afterwards.
//!
//! No cluster outlives its process: a watchdog (`sh`, in a process group of its own) holds the read end
//! of a pipe whose write end only the test process has. However the process ends (returning, a
//! panic, a signal, SIGKILL), the pipe closes, and the watchdog stops the cluster (`pg_ctl stop -m
//! immediate`) and removes its directory.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _};
use uuid::Uuid;

use super::{PostgresOptions, PostgresStore};

/// The environment variable naming an existing server to test against instead of a throwaway one.
pub const DATABASE_URL_VAR: &str = "SHARELOCK_TEST_DATABASE_URL";

/// How the throwaway cluster is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=off`: tests check behaviour, not what survives power loss, and run several times faster.
    Tests,
    /// PostgreSQL's defaults (fsync, synchronous commit): for benchmarks.
    Durable,
}

/// A running throwaway cluster, or the server named by [`DATABASE_URL_VAR`].
pub struct TestCluster {
    /// Connects as the cluster's superuser (throwaway) or as the URL's role.
    admin: PgConnectOptions,
    /// The URL as given, for [`DATABASE_URL_VAR`]; `None` for a throwaway cluster.
    external_url: Option<String>,
    port: u16,
    dir: Option<PathBuf>,
    bin: Option<PathBuf>,
    watchdog: Option<Child>,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The process's cluster, started on first use (blocking: call it off the async workers, as
/// [`fresh_database`] does).
pub fn cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<Result<TestCluster, String>> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => TestCluster::external(&url),
        _ => TestCluster::start(Durability::Tests),
    });
    match cluster {
        Ok(cluster) => cluster,
        Err(message) => panic!("no PostgreSQL to test against: {message}"),
    }
}

/// A new, empty database of its own for one test (on the process's cluster).
pub async fn fresh_database() -> TestDatabase {
    let cluster = tokio::task::spawn_blocking(cluster)
        .await
        .expect("start the test cluster");
    cluster.database().await
}

/// A new database and a store opened on it (schema applied).
pub async fn fresh_store() -> (TestDatabase, PostgresStore) {
    let database = fresh_database().await;
    let store = PostgresStore::open(database.url(), PostgresOptions::default())
        .await
        .expect("open the PostgreSQL store");
    (database, store)
}

impl TestCluster {
    /// Starts a cluster of its own, stopped and removed when dropped (or when the process ends).
    pub fn start(durability: Durability) -> Result<Self, String> {
        let bin = find_binaries()?;
        let run_as_postgres = running_as_root();
        let dir = std::env::temp_dir().join(format!("sharelock-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        // The watchdog first: from here on, whatever happens, the directory goes away.
        let mut watchdog = spawn_watchdog(&dir, &bin, run_as_postgres)?;
        let cluster = (|| -> Result<TestCluster, String> {
            if run_as_postgres {
                run(Command::new("chown").arg("postgres:").arg(&dir))?;
            }
            let password = Uuid::new_v4().simple().to_string();
            let password_file = dir.join("admin-password");
            std::fs::write(&password_file, &password)
                .map_err(|e| format!("writing the password file: {e}"))?;
            if run_as_postgres {
                run(Command::new("chown").arg("postgres:").arg(&password_file))?;
            }
            run(as_postgres(run_as_postgres, &bin.join("initdb"))
                .arg("-D")
                .arg(dir.join("data"))
                .args([
                    "-U",
                    ADMIN,
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ])
                .args(["--no-sync", "--no-instructions"])
                .arg(format!("--pwfile={}", password_file.display())))?;
            let port = start_on_free_port(&dir, &bin, run_as_postgres, durability)?;
            let admin = PgConnectOptions::new_without_pgpass()
                .host("127.0.0.1")
                .port(port)
                .username(ADMIN)
                .password(&password)
                .database("postgres")
                .ssl_mode(PgSslMode::Disable);
            Ok(TestCluster {
                admin,
                external_url: None,
                port,
                dir: Some(dir.clone()),
                bin: Some(bin.clone()),
                watchdog: None,
            })
        })();
        match cluster {
            Ok(mut cluster) => {
                cluster.watchdog = Some(watchdog);
                Ok(cluster)
            }
            Err(message) => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                drop(watchdog.stdin.take());
                let _ = watchdog.wait();
                Err(format!("{message}\n{log}"))
            }
        }
    }

    fn external(url: &str) -> Result<Self, String> {
        let admin = super::connect_options(url).map_err(|e| e.to_string())?;
        Ok(TestCluster {
            port: admin.get_port(),
            admin,
            external_url: Some(url.to_owned()),
            dir: None,
            bin: None,
            watchdog: None,
        })
    }

    /// Connects as the cluster's superuser (throwaway) or the URL's role: for test set-up only.
    pub fn admin_options(&self) -> PgConnectOptions {
        self.admin.clone()
    }

    /// The loopback port of a throwaway cluster (the server's port for an external one).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory with PostgreSQL's tools (`pgbench`, `psql`) for a throwaway cluster.
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bin.as_deref()
    }

    /// A new database and, on a throwaway cluster, a role that owns it and is not a superuser.
    pub async fn database(&self) -> TestDatabase {
        let name = format!("sharelock_test_{}", Uuid::new_v4().simple());
        let mut admin = self
            .admin
            .connect()
            .await
            .expect("connect to the test cluster");
        let (url, role) = match &self.external_url {
            Some(url) => {
                execute(&mut admin, &format!("CREATE DATABASE {name}")).await;
                (with_database(url, &name), None)
            }
            None => {
                let role = format!("sharelock_{}", Uuid::new_v4().simple());
                let password = Uuid::new_v4().simple().to_string();
                execute(
                    &mut admin,
                    &format!(
                        "CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE"
                    ),
                )
                .await;
                execute(&mut admin, &format!("CREATE DATABASE {name} OWNER {role}")).await;
                let url = format!(
                    "postgres://{role}:{password}@127.0.0.1:{}/{name}",
                    self.port
                );
                (url, Some(role))
            }
        };
        let _ = admin.close().await;
        TestDatabase {
            url,
            name,
            role,
            admin: self.admin.clone(),
        }
    }
}

impl Drop for TestCluster {
    /// Closing the watchdog's pipe makes it stop the cluster and remove the directory; waits for it.
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// One test's database. Dropping it drops the database (and its role), closing whatever connections
/// are left.
pub struct TestDatabase {
    url: String,
    name: String,
    role: Option<String>,
    admin: PgConnectOptions,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// `postgres://role:password@127.0.0.1:port/database`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connects as the cluster's superuser (or the URL's role), to the test's database.
    pub fn admin_options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        let role = self.role.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(mut conn) = admin.connect().await else {
                    return;
                };
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
                if let Some(role) = role {
                    let _ =
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
                            .execute(&mut conn)
                            .await;
                }
                let _ = conn.close().await;
            });
        });
        let _ = dropped.join();
    }
}

const ADMIN: &str = "sharelock_admin";

async fn execute(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("test cluster set-up failed: {e}"));
}

/// The URL with its database replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_binaries() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                // A symlink (Debian's /usr/local/bin links) is followed to the real directory, where
                // `postgres` sits next to them.
                let real = std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
                return Ok(real);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "initdb and pg_ctl were not found (install PostgreSQL, e.g. apt-get install postgresql-15)"
            .to_owned()
    })
}

fn as_postgres(run_as_postgres: bool, program: &Path) -> Command {
    if run_as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `sh` waiting for the end of its standard input, then stopping the cluster and removing `dir`. It is
/// in a process group of its own, so signals meant for the test process's group do not reach it.
fn spawn_watchdog(dir: &Path, bin: &Path, run_as_postgres: bool) -> Result<Child, String> {
    const SCRIPT: &str = r#"cat >/dev/null
if [ -f "$DIR/data/postmaster.pid" ]; then $RUN_AS "$PG_CTL" -D "$DIR/data" -m immediate -w stop; fi
rm -rf "$DIR""#;
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT])
        .env("DIR", dir)
        .env("PG_CTL", bin.join("pg_ctl"))
        .env(
            "RUN_AS",
            if run_as_postgres {
                "runuser -u postgres --"
            } else {
                ""
            },
        )
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting the cluster's watchdog: {e}"))?;
    // Nothing is ever written: only the pipe's end matters.
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.flush();
    }
    Ok(child)
}

/// Picks a free loopback port and starts the server on it; another process may take the port between
/// the pick and the start, so a failed start is retried on a new port.
fn start_on_free_port(
    dir: &Path,
    bin: &Path,
    run_as_postgres: bool,
    durability: Durability,
) -> Result<u16, String> {
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free port: {e}"))?
            .port();
        let mut settings = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c max_connections=300 -c shared_buffers=32MB",
            dir.display()
        );
        if durability == Durability::Tests {
            settings.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let started = run(as_postgres(run_as_postgres, &bin.join("pg_ctl"))
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "-o", &settings, "start"]));
        match started {
            Ok(()) => return Ok(port),
            Err(e) => {
                last_error = e;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/db?sslmode=require", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=require"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db", "t1"),
            "postgres://u:p@h/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1", "t1"),
            "postgres://u:p@h:1/t1"
        );
    }
}
