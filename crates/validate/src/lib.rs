//! switchboard-validate (placeholder until implemented).
