//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) and the seeds built from the protocol
//! vectors through the same harness the fuzz targets run, so every input a fuzzer ever kept (findings
//! included) stays a regression test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn replay(target: &str) {
    let run = sharelock_fuzz::target(target).unwrap();
    let dir = corpus_dir(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "the corpus of `{target}` is empty");
    for path in inputs {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "`{target}` fails on {}", path.display());
    }
    for (name, data) in sharelock_fuzz::seeds() {
        if name == target {
            run(&data);
        }
    }
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            replay(stringify!($name));
        })*

        #[test]
        fn every_target_is_replayed() {
            let mut listed = vec![$(stringify!($name)),*];
            let mut targets: Vec<&str> = sharelock_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
            listed.sort_unstable();
            targets.sort_unstable();
            assert_eq!(listed, targets);
        }
    };
}

corpus_tests!(
    link,
    signature,
    content_digest,
    envelope,
    record_body,
    summary,
    stream_header,
    stream,
    otpauth,
    api_body,
);
