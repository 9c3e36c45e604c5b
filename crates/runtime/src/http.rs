//! [`HttpClient`]: performs the engine's `HttpRequest` commands. [`ReqwestHttpClient`] is
//! the real one (reqwest with rustls); [`OfflineHttp`] refuses every request, as `flow run`
//! does without mocks.
//!
//! Private networks: the engine checks literal addresses and `localhost` in the URL
//! against its [`HttpPolicy`], but a host name can resolve anywhere (DNS rebinding, a
//! metadata endpoint behind a friendly name). So the client checks again: literal
//! addresses before connecting, every resolved address in its DNS resolver, and every
//! redirect target. A refusal is `HttpFailed { reason: denied }`. System proxies are off by
//! default, because a proxy would resolve names where the policy cannot see them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engine::{Event, HttpFailure, HttpPolicy, HttpRequest};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{BoxFuture, RuntimeError};

/// Performs HTTP requests for flows.
pub trait HttpClient: Send + Sync {
    /// Performs `request`; every failure is a [`HttpResult::Failed`].
    fn send<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpResult>;
}

/// What came of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpResult {
    /// A response, whatever its status.
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// No response.
    Failed {
        reason: HttpFailure,
        message: String,
    },
}

impl HttpResult {
    pub fn failed(reason: HttpFailure, message: impl Into<String>) -> HttpResult {
        HttpResult::Failed {
            reason,
            message: message.into(),
        }
    }

    /// The answer to request `id`.
    pub fn into_event(self, id: u64) -> Event {
        match self {
            HttpResult::Response {
                status,
                headers,
                body,
            } => Event::HttpResponse {
                id,
                status,
                headers,
                body,
            },
            HttpResult::Failed { reason, message } => Event::HttpFailed {
                id,
                reason,
                message,
            },
        }
    }
}

/// Settings of [`ReqwestHttpClient`].
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Which addresses may be called. Default: private ranges denied, loopback allowed
    /// (tests and local development; a server's configuration turns it off).
    pub policy: HttpPolicy,
    /// A larger response body is a failure (the flow takes its error port).
    pub max_response_bytes: usize,
    pub max_redirects: usize,
    /// Use `HTTP_PROXY`/`HTTPS_PROXY` from the environment. Off: with a proxy, the address
    /// policy cannot see where names resolve.
    pub use_system_proxy: bool,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            policy: HttpPolicy {
                deny_private: true,
                allow_loopback: true,
                deny_hosts: Vec::new(),
            },
            max_response_bytes: 1 << 20,
            max_redirects: 5,
            use_system_proxy: false,
            user_agent: concat!("switchboard/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A refusal by the address policy, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Denied(String);

/// The real client.
#[derive(Clone, Debug)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
}

impl ReqwestHttpClient {
    pub fn new(config: HttpConfig) -> Result<ReqwestHttpClient, RuntimeError> {
        let config = Arc::new(config);
        let policy = Arc::new(config.policy.clone());
        let for_redirects = policy.clone();
        let max_redirects = config.max_redirects;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                let n = attempt.previous().len();
                return attempt.error(format!("stopped after {n} redirects"));
            }
            match check_target(&for_redirects, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err((_, message)) => attempt.error(Denied(message)),
            }
        });
        let mut builder = reqwest::Client::builder()
            .redirect(redirect)
            .dns_resolver(Arc::new(PolicyResolver { policy }))
            .user_agent(config.user_agent.clone());
        if !config.use_system_proxy {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| RuntimeError::HttpClient(chain(&e)))?;
        Ok(ReqwestHttpClient { client, config })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    async fn perform(&self, req: &HttpRequest) -> HttpResult {
        let url = match reqwest::Url::parse(req.url.trim()) {
            Ok(u) => u,
            Err(e) => {
                return HttpResult::failed(
                    HttpFailure::InvalidUrl,
                    format!("'{}' is not a valid URL: {e}", req.url),
                )
            }
        };
        if let Err((reason, message)) = check_target(&self.config.policy, &url) {
            return HttpResult::failed(reason, message);
        }
        let method = match reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                return HttpResult::failed(
                    HttpFailure::InvalidUrl,
                    format!("'{}' is not an HTTP method", req.method),
                )
            }
        };
        let mut builder = self
            .client
            .request(method, url)
            .timeout(Duration::from_secs(u64::from(req.timeout_secs.max(1))));
        for (name, value) in &req.headers {
            let name_ok = reqwest::header::HeaderName::from_bytes(name.as_bytes());
            let value_ok = reqwest::header::HeaderValue::from_str(value);
            match (name_ok, value_ok) {
                (Ok(n), Ok(v)) => builder = builder.header(n, v),
                _ => {
                    // No reason code fits better; the message says what is wrong.
                    return HttpResult::failed(
                        HttpFailure::InvalidUrl,
                        format!("invalid request header '{name}'"),
                    );
                }
            }
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return classify(&e),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.config.max_response_bytes {
                        return HttpResult::failed(
                            HttpFailure::Connect,
                            format!(
                                "the response body exceeds the limit of {} bytes",
                                self.config.max_response_bytes
                            ),
                        );
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return classify(&e),
            }
        }
        HttpResult::Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

impl HttpClient for ReqwestHttpClient {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpResult> {
        Box::pin(self.perform(request))
    }
}

/// Checks what can be checked before resolving: the scheme, denied host names, literal
/// addresses.
fn check_target(policy: &HttpPolicy, url: &reqwest::Url) -> Result<(), (HttpFailure, String)> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            HttpFailure::InvalidUrl,
            format!("'{url}' is not an http or https URL"),
        ));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err((HttpFailure::InvalidUrl, format!("'{url}' has no host")));
    };
    if policy
        .deny_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    {
        return Err((
            HttpFailure::Denied,
            format!("host '{host}' is denied by policy"),
        ));
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) if !policy.allows_ip(ip) => Err((
            HttpFailure::Denied,
            format!("address {ip} is denied by policy"),
        )),
        _ => Ok(()),
    }
}

/// Resolves with the system resolver and keeps only the addresses the policy allows.
struct PolicyResolver {
    policy: Arc<HttpPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if policy
                .deny_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&host))
            {
                return Err(Denied(format!("host '{host}' is denied by policy")).into());
            }
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| policy.allows_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                if let Some(first) = all.first() {
                    return Err(Denied(format!(
                        "host '{host}' resolves to {}, which is denied by policy",
                        first.ip()
                    ))
                    .into());
                }
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn classify(e: &reqwest::Error) -> HttpResult {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(d) = c.downcast_ref::<Denied>() {
            return HttpResult::failed(HttpFailure::Denied, d.0.clone());
        }
        cur = c.source();
    }
    let reason = if e.is_timeout() {
        HttpFailure::Timeout
    } else if e.is_builder() {
        HttpFailure::InvalidUrl
    } else {
        HttpFailure::Connect
    };
    HttpResult::failed(reason, chain(e))
}

/// Refuses every request like an unreachable network (`flow run` without mocks or
/// `--allow-network`).
#[derive(Clone, Debug, Default)]
pub struct OfflineHttp;

impl HttpClient for OfflineHttp {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpResult> {
        Box::pin(std::future::ready(HttpResult::failed(
            HttpFailure::Connect,
            format!(
                "connection refused: {} {} (offline: no mock matches and the network is off)",
                request.method, request.url
            ),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn literal_addresses_are_checked_before_connecting() {
        let p = HttpConfig::default().policy;
        assert!(check_target(&p, &url("http://127.0.0.1:9/")).is_ok());
        assert!(check_target(&p, &url("http://[::1]:9/")).is_ok());
        assert!(check_target(&p, &url("https://example.com/")).is_ok());
        for denied in [
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://192.168.1.1:8080/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            assert_eq!(
                check_target(&p, &url(denied)).map_err(|e| e.0),
                Err(HttpFailure::Denied),
                "{denied}"
            );
        }
        assert_eq!(
            check_target(&p, &url("ftp://example.com/")).map_err(|e| e.0),
            Err(HttpFailure::InvalidUrl)
        );
        let strict = HttpPolicy {
            allow_loopback: false,
            deny_hosts: vec!["Internal.Example".into()],
            ..p
        };
        assert!(check_target(&strict, &url("http://127.0.0.1/")).is_err());
        assert!(check_target(&strict, &url("http://internal.example/")).is_err());
    }
}
