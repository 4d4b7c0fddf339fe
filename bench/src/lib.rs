//! Benchmarks; see benches/ and RESULTS.md.
