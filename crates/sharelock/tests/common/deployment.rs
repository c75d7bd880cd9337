//! Several `sharelock serve` nodes over one throwaway PostgreSQL database and one S3 bucket (moto), as an
//! operator runs them behind a load balancer or proxy.

use super::TestServer;
use sharelock_store::postgres::test_cluster::{TestDatabase, fresh_database};
use sharelock_store::testing::s3::{TestBucket, fresh_bucket};

/// The pre-login secret every node is given alike (docs/deploy.md).
pub const PRELOGIN_SECRET: &str = "the same pre-login secret on every node, long enough";

/// Nodes sharing one database and one bucket; everything is stopped and removed when dropped.
pub struct Deployment {
    pub nodes: Vec<TestServer>,
    /// The settings every node was started with, for starting another one.
    pub env: Vec<(String, String)>,
    dirs: Vec<tempfile::TempDir>,
    pub database: TestDatabase,
    pub bucket: TestBucket,
}

impl Deployment {
    /// Starts `count` nodes whose public URL is `public_url` (the balancer's or proxy's), with `extra`
    /// settings on top of the database, bucket and pre-login secret.
    pub async fn start(count: usize, public_url: &str, extra: &[(&str, &str)]) -> Deployment {
        let database = fresh_database().await;
        let bucket = fresh_bucket().await;
        let mut env = bucket.server_env();
        env.extend([
            (
                "SHARELOCK_DATABASE_URL".to_owned(),
                database.url().to_owned(),
            ),
            ("SHARELOCK_PUBLIC_URL".to_owned(), public_url.to_owned()),
            (
                "SHARELOCK_PRELOGIN_SECRET".to_owned(),
                PRELOGIN_SECRET.to_owned(),
            ),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut deployment = Deployment {
            nodes: Vec::new(),
            env,
            dirs: Vec::new(),
            database,
            bucket,
        };
        for _ in 0..count {
            deployment.add_node();
        }
        deployment
    }

    /// Starts one more node with the deployment's settings; returns its index.
    pub fn add_node(&mut self) -> usize {
        let dir = tempfile::tempdir().expect("temp dir");
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.nodes.push(TestServer::start_node(
            "127.0.0.1:0",
            dir.path().to_path_buf(),
            &env,
        ));
        self.dirs.push(dir);
        self.nodes.len() - 1
    }

    /// The nodes' `127.0.0.1:<port>` addresses.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(TestServer::addr).collect()
    }
}
