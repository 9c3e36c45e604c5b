//! Python: the conformance table, then the isolation and limit tests.
