//! switchboard-functions (placeholder until implemented).
