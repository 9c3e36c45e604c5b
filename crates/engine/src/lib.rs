//! switchboard-engine (placeholder until implemented).
