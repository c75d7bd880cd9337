//! `sharelock serve` keeping its files in S3 (a moto server on loopback, set up through the
//! SHARELOCK_S3_* settings as an operator would): files uploaded by the owner and by the recipient of
//! an editable share come back byte-identical, and deleting the record removes its objects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::home::Home;
use sharelock_store::testing::s3;

fn content(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
        .collect()
}

#[test]
fn files_live_in_s3_and_go_with_their_record() {
    let bucket = s3::fresh_bucket_blocking();
    let prefix = match bucket.base_prefix() {
        Some(base) => format!("{base}/deploy-1"),
        None => "deploy-1".to_owned(),
    };
    let mut env = bucket.server_env();
    env.retain(|(k, _)| k != "SHARELOCK_S3_PREFIX");
    env.push(("SHARELOCK_S3_PREFIX".into(), prefix.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_with(&env);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = || runtime.block_on(bucket.keys());

    let owner = Home::new(&server);
    owner.register("owner@example.org");
    // Over 16 MiB, so the file is more than one part.
    let scan = content(17 * 1024 * 1024 + 123, 7);
    let src = server.scratch().join("scan.bin");
    std::fs::write(&src, &scan).unwrap();
    let id = owner.add_file_record("Scans", &src);
    let stored = keys();
    assert!(stored.len() >= 2, "two parts or more: {stored:?}");
    assert!(
        stored
            .iter()
            .all(|k| k.starts_with(&format!("{prefix}/files/{id}/"))),
        "every object under the prefix and the record: {stored:?}"
    );
    assert!(
        std::fs::read_dir(server.data_dir().join("blobs"))
            .map(|mut d| d.next().is_none())
            .unwrap_or(true),
        "nothing in the local blob directory"
    );

    let (link, _) = owner.share(&id, &["--expires", "1h", "--editable"]);
    let bob = Home::new(&server);
    let theirs = server.scratch().join("theirs");
    bob.run(&[
        "open",
        &link,
        "--save-files",
        theirs.to_str().unwrap(),
        "--json",
    ])
    .ok();
    assert!(std::fs::read(theirs.join("scan.bin")).unwrap() == scan);

    let reply = content(300_000, 11);
    let reply_path = server.scratch().join("reply.bin");
    std::fs::write(&reply_path, &reply).unwrap();
    bob.run(&["open", &link, "--attach", reply_path.to_str().unwrap()])
        .ok();
    let back = server.scratch().join("back");
    let shown = owner
        .run(&[
            "record",
            "show",
            &id,
            "--save-files",
            back.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(shown["record"]["files"].as_array().unwrap().len(), 2);
    assert!(std::fs::read(back.join("scan.bin")).unwrap() == scan);
    assert!(std::fs::read(back.join("reply.bin")).unwrap() == reply);
    assert!(
        keys().len() > stored.len(),
        "the reply is in the bucket too"
    );

    owner.run(&["record", "delete", &id]).ok();
    assert_eq!(
        keys(),
        Vec::<String>::new(),
        "the record's objects are gone"
    );
    let log = server.log();
    assert!(!log.contains(&id), "the record id is in the server log");
}
