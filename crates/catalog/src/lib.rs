//! switchboard-catalog (placeholder until implemented).
