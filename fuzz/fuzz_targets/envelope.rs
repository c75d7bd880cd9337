#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sharelock_fuzz::envelope(data));
