//! Server configuration: embedded defaults, then a TOML file, then `SHARELOCK_*` environment variables,
//! then command-line flags (each overriding the one before).

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every setting. Field names are the TOML keys; the environment variable is `SHARELOCK_` + the upper-cased
/// name (for example `SHARELOCK_MAX_EXPIRY=30d`). Secrets are [`SecretString`]s, so `Debug` never prints them.
///
/// `Serialize` writes the effective configuration for the operator (`sharelock admin config`, `GET
/// /api/v1/admin/config`) with every secret replaced by [`REDACTED`] and the password of a database URL
/// too: it is never a way to save a configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and local blobs.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (default: `sqlite://<data_dir>/sharelock.db`) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=…]`.
    #[serde(serialize_with = "redact_url")]
    pub database_url: Option<String>,
    /// The URL clients use to reach this server (links are built on it and signatures cover it).
    /// Default: `http://<listen>`.
    pub public_url: Option<String>,

    /// Blob storage: `local` (default, `<data_dir>/blobs`) or `s3`.
    pub blob_backend: BlobBackend,
    /// The S3 endpoint, e.g. `https://s3.eu-central-1.amazonaws.com`; an `http://` one (a local S3 server)
    /// is allowed. Requests are path-style (`<endpoint>/<bucket>/<key>`). Unset: AWS's default.
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    /// Default `us-east-1`.
    pub s3_region: Option<String>,
    /// Unset: credentials from the environment or instance metadata, as the AWS SDKs find them.
    #[serde(serialize_with = "redact")]
    pub s3_access_key_id: Option<String>,
    #[serde(serialize_with = "redact")]
    pub s3_secret_access_key: Option<SecretString>,
    /// Keys go under this prefix in the bucket (`<prefix>/files/…`); unset: at the bucket's root.
    pub s3_prefix: Option<String>,

    /// New accounts may register.
    pub signups: bool,
    /// Registration needs a one-time invitation code (`sharelock admin invite create`).
    pub invite_only: bool,
    /// When not empty, only emails at these domains may register (exact domains, lower case).
    pub signup_email_domains: Vec<String>,
    /// One-time shares may be created at all.
    pub one_time_shares: bool,
    /// Editable (bidirectional) shares may be created.
    pub editable_shares: bool,
    /// Requests (a blank record and an editable share to fill it in, docs/protocol.md §4.5) may be
    /// created; they also need one-time and editable shares.
    pub requests: bool,
    /// Longest expiry a share may have.
    #[serde(with = "humantime_serde_compat")]
    pub max_expiry: Duration,
    /// Largest record envelope, in bytes.
    pub max_envelope_bytes: u64,
    /// Largest file (encrypted stream), in bytes.
    pub max_file_bytes: u64,
    /// File bytes one account's records may hold (finished files and uploads in progress, the
    /// recipients' uploads included).
    pub account_quota_bytes: u64,
    /// File bytes the recipient of one editable share may upload (also counted against the owner's
    /// account).
    pub share_quota_bytes: u64,
    /// Live shares one account may have at once.
    pub max_live_shares: u32,
    /// Uploads not completed this long after they began are deleted by the sweeper (rows and blobs).
    #[serde(with = "humantime_serde_compat")]
    pub upload_ttl: Duration,

    /// How long a login session lasts.
    #[serde(with = "humantime_serde_compat")]
    pub session_ttl: Duration,
    /// How long ended shares stay listed for their owner before they are purged.
    #[serde(with = "humantime_serde_compat")]
    pub retention: Duration,
    /// How often the sweeper runs.
    #[serde(with = "humantime_serde_compat")]
    pub sweep_interval: Duration,
    /// Requests per minute per client address on unauthenticated endpoints (login, register, status, bind).
    pub rate_limit_per_minute: u32,
    /// IPv6 clients are counted by this prefix (a /64 is what one subscriber usually gets).
    pub rate_limit_ipv6_prefix: u8,
    /// Proxies whose client-address header is believed (addresses or CIDR blocks). Empty: none; the limiter
    /// counts the TCP peer.
    pub trusted_proxies: Vec<String>,
    /// The header a trusted proxy puts the client address in: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub client_address_header: ClientAddressHeader,

    /// Time a client has to send a request's headers (slow clients are disconnected).
    #[serde(with = "humantime_serde_compat")]
    pub header_read_timeout: Duration,
    /// Time a client has to send a request body, counted from when the server starts reading it.
    #[serde(with = "humantime_serde_compat")]
    pub body_read_timeout: Duration,
    /// Open connections at most; further clients wait in the listen queue.
    pub max_connections: u32,
    /// File part uploads being received at once, over all clients.
    pub max_concurrent_uploads: u32,
    /// Request body bytes held at once, over all requests (reserved before a body is read).
    pub max_inflight_bytes: u64,

    /// Secret mixed into the made-up KDF salts answered for unknown emails. Empty: derived from a file in
    /// the data directory (set it explicitly when several nodes serve one database).
    #[serde(serialize_with = "redact")]
    pub prelogin_secret: Option<SecretString>,
    /// The token of the admin API (`Authorization: Bearer <token>`), at least 32 characters; best read
    /// from a file (`SHARELOCK_ADMIN_TOKEN_FILE` or the systemd credential `admin_token`). Unset: the
    /// admin API is off.
    #[serde(serialize_with = "redact")]
    pub admin_token: Option<SecretString>,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Serve `/metrics` on this address instead of `listen` (for a monitoring network the public
    /// proxy never reaches). Unset: `/metrics` is on `listen`.
    pub metrics_listen: Option<SocketAddr>,

    /// Webhook endpoints one account may register.
    pub webhook_max_endpoints: u32,
    /// Webhook deliveries may go to loopback addresses, and to them over plain `http://` (a receiver on
    /// the same machine, tests). Off by default.
    pub webhook_allow_loopback: bool,
    /// Webhook deliveries may go to private, link-local and other non-public addresses (a receiver on
    /// an internal network). Off by default, so a webhook cannot reach what only the server can.
    pub webhook_allow_private: bool,
    /// How long one delivery attempt may take (connection, TLS, request and the answer's status).
    #[serde(with = "humantime_serde_compat")]
    pub webhook_timeout: Duration,
    /// Attempts per delivery before it is given up as failed.
    pub webhook_max_attempts: u32,
    /// The wait after a first failed attempt; it doubles after each further failure (at most 6 h).
    #[serde(with = "humantime_serde_compat")]
    pub webhook_retry_base: Duration,
    /// How often each node looks for due deliveries (it also looks whenever events are raised).
    #[serde(with = "humantime_serde_compat")]
    pub webhook_poll_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAddressHeader {
    XForwardedFor,
    Forwarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./sharelock-data"),
            database_url: None,
            public_url: None,
            blob_backend: BlobBackend::Local,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_prefix: None,
            signups: true,
            invite_only: false,
            signup_email_domains: Vec::new(),
            one_time_shares: true,
            editable_shares: true,
            requests: true,
            max_expiry: Duration::from_secs(180 * 86_400),
            max_envelope_bytes: 600 * 1024,
            max_file_bytes: 1024 * 1024 * 1024,
            account_quota_bytes: 10 * 1024 * 1024 * 1024,
            share_quota_bytes: 1024 * 1024 * 1024,
            max_live_shares: 1000,
            upload_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(12 * 3600),
            retention: Duration::from_secs(30 * 86_400),
            sweep_interval: Duration::from_secs(30),
            rate_limit_per_minute: 120,
            rate_limit_ipv6_prefix: 64,
            trusted_proxies: Vec::new(),
            client_address_header: ClientAddressHeader::XForwardedFor,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_concurrent_uploads: 16,
            max_inflight_bytes: 64 * 1024 * 1024,
            prelogin_secret: None,
            admin_token: None,
            log_format: LogFormat::Text,
            metrics_listen: None,
            webhook_max_endpoints: 10,
            webhook_allow_loopback: false,
            webhook_allow_private: false,
            webhook_timeout: Duration::from_secs(10),
            webhook_max_attempts: 10,
            webhook_retry_base: Duration::from_secs(30),
            webhook_poll_interval: Duration::from_secs(5),
        }
    }
}

/// Settings given on the command line; `None` leaves the file/environment value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub metrics_listen: Option<SocketAddr>,
}

/// Keys that may come from the environment, with their TOML type (so `SHARELOCK_SIGNUPS=false` becomes a
/// boolean and `SHARELOCK_PUBLIC_URL=…` a string).
const ENV_KEYS: &[(&str, EnvKind)] = &[
    ("listen", EnvKind::Str),
    ("data_dir", EnvKind::Str),
    ("database_url", EnvKind::Str),
    ("public_url", EnvKind::Str),
    ("blob_backend", EnvKind::Str),
    ("s3_endpoint", EnvKind::Str),
    ("s3_bucket", EnvKind::Str),
    ("s3_region", EnvKind::Str),
    ("s3_access_key_id", EnvKind::Str),
    ("s3_secret_access_key", EnvKind::Str),
    ("s3_prefix", EnvKind::Str),
    ("signups", EnvKind::Bool),
    ("invite_only", EnvKind::Bool),
    ("signup_email_domains", EnvKind::List),
    ("one_time_shares", EnvKind::Bool),
    ("editable_shares", EnvKind::Bool),
    ("requests", EnvKind::Bool),
    ("max_expiry", EnvKind::Str),
    ("max_envelope_bytes", EnvKind::Int),
    ("max_file_bytes", EnvKind::Int),
    ("account_quota_bytes", EnvKind::Int),
    ("share_quota_bytes", EnvKind::Int),
    ("max_live_shares", EnvKind::Int),
    ("upload_ttl", EnvKind::Str),
    ("session_ttl", EnvKind::Str),
    ("retention", EnvKind::Str),
    ("sweep_interval", EnvKind::Str),
    ("rate_limit_per_minute", EnvKind::Int),
    ("rate_limit_ipv6_prefix", EnvKind::Int),
    ("trusted_proxies", EnvKind::List),
    ("client_address_header", EnvKind::Str),
    ("header_read_timeout", EnvKind::Str),
    ("body_read_timeout", EnvKind::Str),
    ("max_connections", EnvKind::Int),
    ("max_concurrent_uploads", EnvKind::Int),
    ("max_inflight_bytes", EnvKind::Int),
    ("prelogin_secret", EnvKind::Str),
    ("admin_token", EnvKind::Str),
    ("log_format", EnvKind::Str),
    ("metrics_listen", EnvKind::Str),
    ("webhook_max_endpoints", EnvKind::Int),
    ("webhook_allow_loopback", EnvKind::Bool),
    ("webhook_allow_private", EnvKind::Bool),
    ("webhook_timeout", EnvKind::Str),
    ("webhook_max_attempts", EnvKind::Int),
    ("webhook_retry_base", EnvKind::Str),
    ("webhook_poll_interval", EnvKind::Str),
];

/// Settings that are secrets (the database URL carries its password). Each may also be read from a file:
/// `SHARELOCK_<NAME>_FILE`, or the systemd credential `<name>` in `$CREDENTIALS_DIRECTORY`, so it never
/// has to sit in the environment, where child processes and `/proc/<pid>/environ` see it.
pub const SECRET_KEYS: &[&str] = &[
    "database_url",
    "s3_access_key_id",
    "s3_secret_access_key",
    "prelogin_secret",
    "admin_token",
];

/// Largest secret file read; secrets are short, and a wrong path must not make the server read a disk.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A secret setting given both as `SHARELOCK_<NAME>` and `SHARELOCK_<NAME>_FILE`: either could be the
/// stale one, so the server refuses to guess.
#[derive(Debug, thiserror::Error)]
#[error("{var} and {var}_FILE are both set; set only one of them")]
pub struct SecretGivenTwice {
    pub var: String,
}

/// A secret file's contents, trailing newlines removed. Errors name the setting and the path, never
/// anything read.
fn read_secret_file(setting: &str, path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {setting} from {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {setting} from {}", path.display()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        bail!(
            "{setting}: {} is larger than {MAX_SECRET_FILE_BYTES} bytes",
            path.display()
        );
    }
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("{setting}: {} is not UTF-8 text", path.display());
    };
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        bail!("{setting}: {} is empty", path.display());
    }
    Ok(value.to_owned())
}

#[derive(Clone, Copy)]
enum EnvKind {
    Str,
    Bool,
    Int,
    /// Comma-separated, blanks around items ignored.
    List,
}

impl Config {
    /// Whether requests may be created: they are editable one-time shares, so each switch turns them off.
    pub fn requests_allowed(&self) -> bool {
        self.requests && self.one_time_shares && self.editable_shares
    }

    /// Defaults, then `file` (if any), then the process environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        Self::load_from(file, overrides, |k| std::env::var(k).ok())
    }

    /// As [`Config::load`], with the environment given as a lookup function (for tests).
    pub fn load_from(
        file: Option<&Path>,
        overrides: Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("config file {} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        // systemd credentials (`LoadCredential=prelogin_secret:/etc/…`) sit between the file and the
        // environment.
        if let Some(dir) = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
            for key in SECRET_KEYS {
                let path = Path::new(&dir).join(key);
                if path.exists() {
                    let value = read_secret_file(&format!("credential {key}"), &path)?;
                    table.insert((*key).to_string(), toml::Value::String(value));
                }
            }
        }
        for (key, kind) in ENV_KEYS {
            let var = format!("SHARELOCK_{}", key.to_ascii_uppercase());
            let direct = env(&var);
            let from_file = if SECRET_KEYS.contains(key) {
                env(&format!("{var}_FILE"))
            } else {
                None
            };
            let raw = match (direct, from_file) {
                (Some(_), Some(_)) => return Err(SecretGivenTwice { var }.into()),
                (Some(raw), None) => raw,
                (None, Some(path)) => read_secret_file(&format!("{var}_FILE"), Path::new(&path))?,
                (None, None) => continue,
            };
            let value = match kind {
                EnvKind::Str => toml::Value::String(raw),
                EnvKind::Bool => match raw.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => toml::Value::Boolean(true),
                    "0" | "false" | "no" | "off" => toml::Value::Boolean(false),
                    _ => bail!("{var} must be true or false"),
                },
                EnvKind::Int => toml::Value::Integer(
                    raw.parse()
                        .with_context(|| format!("{var} must be a whole number"))?,
                ),
                EnvKind::List => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(|item| toml::Value::String(item.to_owned()))
                        .collect(),
                ),
            };
            table.insert((*key).to_string(), value);
        }
        let mut config: Config = table.try_into().context("invalid configuration")?;
        if let Some(v) = overrides.listen {
            config.listen = v;
        }
        if let Some(v) = overrides.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = overrides.database_url {
            config.database_url = Some(v);
        }
        if let Some(v) = overrides.public_url {
            config.public_url = Some(v);
        }
        if let Some(v) = overrides.metrics_listen {
            config.metrics_listen = Some(v);
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&mut self) -> anyhow::Result<()> {
        if self.max_expiry.as_secs() == 0 {
            bail!("max_expiry must be positive");
        }
        if self.session_ttl.as_secs() < 60 {
            bail!("session_ttl must be at least one minute");
        }
        if self.sweep_interval.as_secs() == 0 {
            bail!("sweep_interval must be positive");
        }
        if self.max_envelope_bytes < 4096 || self.max_envelope_bytes > 16 * 1024 * 1024 {
            bail!("max_envelope_bytes must be between 4 KiB and 16 MiB");
        }
        if self.account_quota_bytes == 0 || self.share_quota_bytes == 0 {
            bail!("account_quota_bytes and share_quota_bytes must be positive");
        }
        if self.max_live_shares == 0 {
            bail!("max_live_shares must be positive");
        }
        if self.upload_ttl.as_secs() == 0 {
            bail!("upload_ttl must be at least one second");
        }
        if self.rate_limit_per_minute == 0 {
            bail!("rate_limit_per_minute must be positive");
        }
        if !(16..=128).contains(&self.rate_limit_ipv6_prefix) {
            bail!("rate_limit_ipv6_prefix must be between 16 and 128");
        }
        self.trusted_proxy_nets()?;
        if self.header_read_timeout.is_zero() || self.body_read_timeout.is_zero() {
            bail!("header_read_timeout and body_read_timeout must be positive");
        }
        if self.max_connections == 0 || self.max_concurrent_uploads == 0 {
            bail!("max_connections and max_concurrent_uploads must be positive");
        }
        let largest_body = self.part_body_limit().max(self.envelope_body_limit()) as u64;
        if self.max_inflight_bytes < largest_body || self.max_inflight_bytes > 1 << 40 {
            bail!(
                "max_inflight_bytes must be between {largest_body} (the largest request body) and 1 TiB"
            );
        }
        let public = self.public_url();
        let parsed = public
            .parse::<axum::http::Uri>()
            .context("public_url is not a URL")?;
        match parsed.scheme_str() {
            Some("http") | Some("https") => {}
            _ => bail!("public_url must start with http:// or https://"),
        }
        if parsed.query().is_some() || public.contains('#') {
            bail!("public_url must not have a query or fragment");
        }
        if self.blob_backend == BlobBackend::S3 && self.s3_bucket.is_none() {
            bail!("blob_backend = \"s3\" needs s3_bucket");
        }
        if let Some(token) = &self.admin_token {
            use secrecy::ExposeSecret;
            let token = token.expose_secret();
            if token.chars().count() < MIN_ADMIN_TOKEN_CHARS
                || token.len() > 1024
                || token.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                bail!(
                    "admin_token must be {MIN_ADMIN_TOKEN_CHARS} to 1024 characters without spaces \
                     (for example: head -c 32 /dev/urandom | base64)"
                );
            }
        }
        if self.webhook_timeout.is_zero() || self.webhook_timeout > Duration::from_secs(120) {
            bail!("webhook_timeout must be between 1 second and 2 minutes");
        }
        if !(1..=50).contains(&self.webhook_max_attempts) {
            bail!("webhook_max_attempts must be between 1 and 50");
        }
        if self.webhook_retry_base.as_secs() == 0 || self.webhook_poll_interval.is_zero() {
            bail!(
                "webhook_retry_base (at least one second) and webhook_poll_interval must be positive"
            );
        }
        for domain in &mut self.signup_email_domains {
            let normalized = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            let ok = !normalized.is_empty()
                && normalized.len() <= 253
                && normalized
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                bail!("signup_email_domains: {domain:?} is not a domain name");
            }
            *domain = normalized;
        }
        Ok(())
    }

    /// Whether `email` (normalised) may register under `signup_email_domains`.
    pub fn email_domain_allowed(&self, email: &str) -> bool {
        if self.signup_email_domains.is_empty() {
            return true;
        }
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        self.signup_email_domains
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(domain))
    }

    /// `trusted_proxies` parsed: each an address (a block of one) or a CIDR block.
    pub fn trusted_proxy_nets(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                text.parse::<ipnet::IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| text.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| {
                        format!(
                            "trusted_proxies: {text:?} is neither an IP address nor a CIDR block"
                        )
                    })
            })
            .collect()
    }

    /// Largest body of the routes that carry an envelope (base64 in JSON, with room for the other fields).
    pub fn envelope_body_limit(&self) -> usize {
        (self.max_envelope_bytes as usize) * 4 / 3 + 16 * 1024
    }

    /// Largest body of a part upload.
    pub fn part_body_limit(&self) -> usize {
        sharelock_api::files::MAX_PART_BYTES + 64 * 1024
    }

    /// The byte quotas part writes are checked against (in the store, atomically).
    pub fn upload_limits(&self) -> sharelock_store::UploadLimits {
        sharelock_store::UploadLimits {
            account_bytes: self.account_quota_bytes,
            share_bytes: self.share_quota_bytes,
        }
    }

    /// The public URL without a trailing slash.
    pub fn public_url(&self) -> String {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        url.trim_end_matches('/').to_string()
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("sharelock.db").display()))
    }
}

/// What a secret setting shows as in the effective configuration.
pub const REDACTED: &str = "(redacted)";

/// Fewest characters an admin token may have.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// A secret: `(redacted)` when set, nothing when not.
fn redact<T, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some(REDACTED),
        None => s.serialize_none(),
    }
}

/// A database URL with its password (and any query, which may carry one) redacted.
fn redact_url<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(url) => s.serialize_some(&redacted_url(url)),
        None => s.serialize_none(),
    }
}

/// `postgres://user:secret@host/db?sslmode=require` → `postgres://user:(redacted)@host/db?(redacted)`;
/// a `sqlite://` path is shown as it is.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return REDACTED.to_owned();
    };
    if scheme == "sqlite" {
        return url.to_owned();
    }
    let (rest, query) = match rest.split_once('?') {
        Some((rest, _)) => (rest, format!("?{REDACTED}")),
        None => (rest, String::new()),
    };
    let rest = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{user}:{REDACTED}@{host}")
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{rest}{query}")
}

/// Durations in TOML and the environment are humantime strings (`90s`, `15m`, `12h`, `180d`).
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layers_override_in_order() {
        let dir =
            std::env::temp_dir().join(format!("sharelock-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(
            &file,
            "max_expiry = \"30d\"\nsignups = false\npublic_url = \"https://a.example\"\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("SHARELOCK_SIGNUPS", "true"),
            ("SHARELOCK_PUBLIC_URL", "https://b.example/"),
        ]
        .into();
        let overrides = Overrides {
            public_url: Some("https://c.example".into()),
            ..Default::default()
        };
        let config = Config::load_from(Some(&file), overrides, |k| {
            env.get(k).map(|v| v.to_string())
        })
        .unwrap();
        assert_eq!(config.max_expiry, Duration::from_secs(30 * 86_400));
        assert!(config.signups, "environment overrides the file");
        assert_eq!(
            config.public_url(),
            "https://c.example",
            "flags override the environment"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_bad_values() {
        let env = |k: &str| (k == "SHARELOCK_SIGNUPS").then(|| "maybe".to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_err());
        let env = |k: &str| (k == "SHARELOCK_PUBLIC_URL").then(|| "ftp://x".to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_err());
        let env = |k: &str| (k == "SHARELOCK_MAX_EXPIRY").then(|| "soon".to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_err());
        // The byte budget must hold the largest body a route accepts, or that route could never succeed.
        let env = |k: &str| match k {
            "SHARELOCK_MAX_ENVELOPE_BYTES" => Some((16 * 1024 * 1024).to_string()),
            "SHARELOCK_MAX_INFLIGHT_BYTES" => Some((17 * 1024 * 1024).to_string()),
            _ => None,
        };
        let err = Config::load_from(None, Overrides::default(), env).unwrap_err();
        assert!(format!("{err:#}").contains("max_inflight_bytes"), "{err:#}");
    }

    #[test]
    fn defaults() {
        let config = Config::load_from(None, Overrides::default(), |_| None).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        assert!(config.database_url().starts_with("sqlite://"));
        assert_eq!(config.max_expiry.as_secs(), 180 * 86_400);
        assert_eq!(config.account_quota_bytes, 10 << 30);
        assert_eq!(config.share_quota_bytes, 1 << 30);
        assert_eq!(config.max_live_shares, 1000);
        assert_eq!(config.upload_ttl.as_secs(), 86_400);
    }

    #[test]
    fn quota_settings_from_the_environment() {
        let env: HashMap<&str, &str> = [
            ("SHARELOCK_ACCOUNT_QUOTA_BYTES", "5000000"),
            ("SHARELOCK_SHARE_QUOTA_BYTES", "40000"),
            ("SHARELOCK_MAX_LIVE_SHARES", "3"),
            ("SHARELOCK_UPLOAD_TTL", "90s"),
        ]
        .into();
        let config = Config::load_from(None, Overrides::default(), |k| {
            env.get(k).map(|v| v.to_string())
        })
        .unwrap();
        let limits = config.upload_limits();
        assert_eq!(
            (limits.account_bytes, limits.share_bytes),
            (5_000_000, 40_000)
        );
        assert_eq!(config.max_live_shares, 3);
        assert_eq!(config.upload_ttl, Duration::from_secs(90));
        for (key, bad) in [
            ("SHARELOCK_ACCOUNT_QUOTA_BYTES", "0"),
            ("SHARELOCK_MAX_LIVE_SHARES", "0"),
            ("SHARELOCK_UPLOAD_TTL", "0s"),
        ] {
            let env = |k: &str| (k == key).then(|| bad.to_string());
            assert!(
                Config::load_from(None, Overrides::default(), env).is_err(),
                "{key}={bad}"
            );
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        let s3_secret = "s3-secret-9f8e7d6c5b4a";
        let prelogin = "prelogin-secret-0a1b2c3d4e";
        let env: HashMap<&str, &str> = [
            ("SHARELOCK_BLOB_BACKEND", "s3"),
            ("SHARELOCK_S3_BUCKET", "bucket"),
            ("SHARELOCK_S3_SECRET_ACCESS_KEY", s3_secret),
            ("SHARELOCK_PRELOGIN_SECRET", prelogin),
        ]
        .into();
        let config = Config::load_from(None, Overrides::default(), |k| {
            env.get(k).map(|v| v.to_string())
        })
        .unwrap();
        let printed = format!("{config:?} {config:#?}");
        assert!(!printed.contains(s3_secret), "{printed}");
        assert!(!printed.contains(prelogin), "{printed}");
        assert!(printed.contains("bucket"), "other settings still print");
        use secrecy::ExposeSecret;
        let kept = config.s3_secret_access_key.as_ref().unwrap();
        assert_eq!(kept.expose_secret(), s3_secret, "the value itself is kept");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        let env = |k: &str| {
            (k == "SHARELOCK_TRUSTED_PROXIES")
                .then(|| " 10.0.0.0/8, ::1 ,192.168.1.7/24".to_string())
        };
        let config = Config::load_from(None, Overrides::default(), env).unwrap();
        let nets: Vec<String> = config
            .trusted_proxy_nets()
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128", "192.168.1.0/24"]);
        let env = |k: &str| (k == "SHARELOCK_TRUSTED_PROXIES").then(|| "proxy.local".to_string());
        let err = Config::load_from(None, Overrides::default(), env).unwrap_err();
        assert!(format!("{err:#}").contains("proxy.local"), "{err:#}");
        let env = |k: &str| (k == "SHARELOCK_RATE_LIMIT_IPV6_PREFIX").then(|| "8".to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_err());
        let env =
            |k: &str| (k == "SHARELOCK_CLIENT_ADDRESS_HEADER").then(|| "forwarded".to_string());
        let config = Config::load_from(None, Overrides::default(), env).unwrap();
        assert_eq!(config.client_address_header, ClientAddressHeader::Forwarded);
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sharelock-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_secret_can_come_from_a_file() {
        use secrecy::ExposeSecret;
        let dir = scratch("secret-files");
        let mut env: HashMap<String, String> = HashMap::new();
        for (key, value) in [
            ("database_url", "postgres://u:pw-1@db/sharelock"),
            ("s3_access_key_id", "key-id-2"),
            ("s3_secret_access_key", "s3-secret-3"),
            ("prelogin_secret", "prelogin-4"),
            ("admin_token", "admin-token-5-0123456789abcdef0123456789"),
        ] {
            let path = dir.join(key);
            // A file written by `echo` ends in a newline that is not part of the secret.
            std::fs::write(&path, format!("{value}\n")).unwrap();
            env.insert(
                format!("SHARELOCK_{}_FILE", key.to_ascii_uppercase()),
                path.display().to_string(),
            );
        }
        assert_eq!(SECRET_KEYS.len(), 5, "every secret key is covered here");
        let config =
            Config::load_from(None, Overrides::default(), |k| env.get(k).cloned()).unwrap();
        assert_eq!(config.database_url(), "postgres://u:pw-1@db/sharelock");
        assert_eq!(config.s3_access_key_id.as_deref(), Some("key-id-2"));
        assert_eq!(
            config.s3_secret_access_key.unwrap().expose_secret(),
            "s3-secret-3"
        );
        assert_eq!(
            config.prelogin_secret.unwrap().expose_secret(),
            "prelogin-4"
        );
        assert_eq!(
            config.admin_token.unwrap().expose_secret(),
            "admin-token-5-0123456789abcdef0123456789"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn systemd_credentials_sit_below_the_environment() {
        use secrecy::ExposeSecret;
        let dir = scratch("credentials");
        std::fs::write(dir.join("prelogin_secret"), "from-credential\r\n").unwrap();
        std::fs::write(dir.join("s3_secret_access_key"), "s3-from-credential").unwrap();
        let env: HashMap<String, String> = [
            (
                "CREDENTIALS_DIRECTORY".to_string(),
                dir.display().to_string(),
            ),
            (
                "SHARELOCK_S3_SECRET_ACCESS_KEY".to_string(),
                "s3-from-env".to_string(),
            ),
        ]
        .into();
        let config =
            Config::load_from(None, Overrides::default(), |k| env.get(k).cloned()).unwrap();
        assert_eq!(
            config.prelogin_secret.unwrap().expose_secret(),
            "from-credential"
        );
        assert_eq!(
            config.s3_secret_access_key.unwrap().expose_secret(),
            "s3-from-env",
            "the environment overrides a credential"
        );
        assert!(
            config.database_url.is_none(),
            "absent credentials stay unset"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_secret_given_twice_is_refused() {
        let dir = scratch("twice");
        let path = dir.join("secret");
        std::fs::write(&path, "one").unwrap();
        let env = |k: &str| match k {
            "SHARELOCK_PRELOGIN_SECRET" => Some("two".to_string()),
            "SHARELOCK_PRELOGIN_SECRET_FILE" => Some(path.display().to_string()),
            _ => None,
        };
        let err = Config::load_from(None, Overrides::default(), env).unwrap_err();
        assert!(err.downcast_ref::<SecretGivenTwice>().is_some(), "{err:#}");
        assert_eq!(
            err.to_string(),
            "SHARELOCK_PRELOGIN_SECRET and SHARELOCK_PRELOGIN_SECRET_FILE are both set; set only one of them"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_or_empty_secret_files_are_named_without_contents() {
        let dir = scratch("unreadable");
        let missing = dir.join("missing");
        let env = |k: &str| {
            (k == "SHARELOCK_S3_SECRET_ACCESS_KEY_FILE").then(|| missing.display().to_string())
        };
        let err = format!(
            "{:#}",
            Config::load_from(None, Overrides::default(), env).unwrap_err()
        );
        assert!(err.contains("SHARELOCK_S3_SECRET_ACCESS_KEY_FILE"), "{err}");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let env =
            |k: &str| (k == "SHARELOCK_PRELOGIN_SECRET_FILE").then(|| empty.display().to_string());
        let err = format!(
            "{:#}",
            Config::load_from(None, Overrides::default(), env).unwrap_err()
        );
        assert!(err.contains("is empty"), "{err}");
        // Only secrets read files: a `_FILE` variable of another setting means nothing.
        let env = |k: &str| (k == "SHARELOCK_SIGNUPS_FILE").then(|| missing.display().to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The effective configuration shows every setting, and no secret: each secret key is set to a
    /// value that must not appear, the database URL keeps its user and host.
    #[test]
    fn the_effective_configuration_redacts_every_secret() {
        let mut env: HashMap<String, String> = HashMap::new();
        let mut secrets = Vec::new();
        for key in SECRET_KEYS {
            let value = match *key {
                "database_url" => {
                    "postgres://sharelock:pg-pass-31337@db.internal:5432/sharelock?sslmode=require&password=q-pass-777"
                        .to_owned()
                }
                other => format!("{other}-value-0123456789abcdefghijklmnop"),
            };
            secrets.push(value.clone());
            env.insert(format!("SHARELOCK_{}", key.to_ascii_uppercase()), value);
        }
        env.insert("SHARELOCK_BLOB_BACKEND".into(), "s3".into());
        env.insert("SHARELOCK_S3_BUCKET".into(), "the-bucket".into());
        env.insert("SHARELOCK_MAX_EXPIRY".into(), "30d".into());
        let config =
            Config::load_from(None, Overrides::default(), |k| env.get(k).cloned()).unwrap();
        let json = serde_json::to_string(&config).unwrap();
        let toml = toml::to_string(&config).unwrap();
        for printed in [&json, &toml] {
            for secret in &secrets {
                assert!(!printed.contains(secret.as_str()), "{printed}");
            }
            assert!(!printed.contains("pg-pass-31337"), "{printed}");
            assert!(!printed.contains("q-pass-777"), "{printed}");
            assert!(printed.contains("the-bucket"), "{printed}");
            assert!(
                printed.contains(
                    "postgres://sharelock:(redacted)@db.internal:5432/sharelock?(redacted)"
                ),
                "{printed}"
            );
        }
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        for key in SECRET_KEYS.iter().filter(|k| **k != "database_url") {
            assert_eq!(value[*key], REDACTED, "{key}");
        }
        assert_eq!(value["max_expiry"], "30days");
        assert_eq!(value["admin_token"], REDACTED);
        assert_eq!(
            redacted_url("sqlite:///var/lib/sharelock/db"),
            "sqlite:///var/lib/sharelock/db"
        );
        assert_eq!(
            redacted_url("postgres://db/sharelock"),
            "postgres://db/sharelock"
        );
        assert_eq!(redacted_url("nonsense"), REDACTED);
        // Unset secrets stay unset.
        let plain = Config::load_from(None, Overrides::default(), |_| None).unwrap();
        let value = serde_json::to_value(&plain).unwrap();
        assert!(value["admin_token"].is_null());
    }

    #[test]
    fn admin_token_and_signup_domains_are_checked() {
        let env = |k: &str| (k == "SHARELOCK_ADMIN_TOKEN").then(|| "short".to_string());
        let err = Config::load_from(None, Overrides::default(), env).unwrap_err();
        assert!(
            format!("{err:#}").contains("admin_token must be"),
            "{err:#}"
        );
        assert!(
            !format!("{err:#}").contains("short"),
            "the value is not repeated"
        );
        let env = |k: &str| {
            (k == "SHARELOCK_SIGNUP_EMAIL_DOMAINS")
                .then(|| "Example.ORG, @corp.example".to_string())
        };
        let config = Config::load_from(None, Overrides::default(), env).unwrap();
        assert_eq!(config.signup_email_domains, ["example.org", "corp.example"]);
        assert!(config.email_domain_allowed("ada@example.org"));
        assert!(config.email_domain_allowed("bob@corp.example"));
        assert!(!config.email_domain_allowed("eve@example.org.evil"));
        assert!(!config.email_domain_allowed("eve@sub.example.org"));
        let env = |k: &str| (k == "SHARELOCK_SIGNUP_EMAIL_DOMAINS").then(|| "a b".to_string());
        assert!(Config::load_from(None, Overrides::default(), env).is_err());
        let open = Config::load_from(None, Overrides::default(), |_| None).unwrap();
        assert!(open.email_domain_allowed("anyone@anywhere.example"));
        assert!(!open.invite_only);
    }
}
