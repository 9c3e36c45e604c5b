//! switchboard-api (placeholder until implemented).
