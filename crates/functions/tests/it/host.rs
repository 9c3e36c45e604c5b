//! The async host: both languages behind one `invoke`, concurrency, and isolation of failures.
