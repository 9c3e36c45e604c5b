//! [`RuntimeError`]: infrastructure failures of the driver. Everything a flow can handle
//! (a refused connection, a thrown function, a missing tag) is an answer the engine routes
//! to an error port, never this.

/// The run could not continue.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not step (a program missing from the environment, a corrupt state).
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// The store failed while resolving a function.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// The function host failed on its own account (not the function's).
    #[error("function host: {0}")]
    FunctionHost(String),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    HttpClient(String),
}
