//! switchboard-store (placeholder until implemented).
