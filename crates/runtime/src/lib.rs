//! switchboard-runtime (placeholder until implemented).
