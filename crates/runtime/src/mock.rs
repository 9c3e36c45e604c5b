//! Mocks for offline runs and flow tests: [`MockHttp`] (canned responses by method and
//! URL) and [`MockFunctions`] (canned results or errors by function name or id). Both
//! record the calls they answered, and both parse from the JSON files `flow run` takes.
//!
//! `--mock-http` file: a list of rules, the first match wins:
//!
//! ```json
//! [{"method": "GET", "url": "https://crm.example.com/customers/*", "status": 200,
//!   "headers": {"content-type": "application/json"}, "body": {"tier": "gold"}},
//!  {"url": "https://slow.example.com/", "failure": "timeout"}]
//! ```
//!
//! `url` matches exactly, or as a prefix when it ends with `*`; `method` (any when absent)
//! case-insensitively. `body` is a string, or JSON sent as its text. `status` defaults to
//! 200. `failure` (`timeout`, `connect`, `invalidUrl`, `denied`) answers with no response.
//!
//! `--mock-function` file: an object of function name (or id) to `{"result": ...}` or
//! `{"error": {"kind": "thrown"|"timeout"|"memory"|"notFound", "message": "..."}}`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use engine::{FunctionCall, FunctionErrorKind, FunctionOutcome, HttpFailure, HttpRequest};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::http::{HttpClient, HttpResult};
use crate::{BoxFuture, FunctionRunner, RuntimeError};

/// A malformed mock file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MockError(pub String);

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HttpRule {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, Json>,
    #[serde(default)]
    body: Json,
    #[serde(default)]
    failure: Option<HttpFailure>,
}

fn ok_status() -> u16 {
    200
}

impl HttpRule {
    fn matches(&self, req: &HttpRequest) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(&req.method) {
                return false;
            }
        }
        match self.url.strip_suffix('*') {
            Some(prefix) => req.url.starts_with(prefix),
            None => req.url == self.url,
        }
    }

    fn answer(&self) -> HttpResult {
        if let Some(reason) = self.failure {
            return HttpResult::failed(reason, format!("mocked failure for {}", self.url));
        }
        let text = |v: &Json| match v {
            Json::String(s) => s.clone(),
            Json::Null => String::new(),
            other => other.to_string(),
        };
        HttpResult::Response {
            status: self.status,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect(),
            body: text(&self.body),
        }
    }
}

/// Canned HTTP responses; requests no rule matches go to the fallback (the real network
/// with `--allow-network`) or fail like a refused connection.
pub struct MockHttp {
    rules: Vec<HttpRule>,
    fallback: Option<Arc<dyn HttpClient>>,
    calls: Mutex<Vec<HttpRequest>>,
}

impl MockHttp {
    /// No rules: every request goes to the fallback, or is refused.
    pub fn new() -> MockHttp {
        MockHttp {
            rules: Vec::new(),
            fallback: None,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Rules from a JSON list (see the module documentation).
    pub fn from_json(rules: &Json) -> Result<MockHttp, MockError> {
        let rules: Vec<HttpRule> = serde_json::from_value(rules.clone()).map_err(|e| {
            MockError(format!(
                "HTTP mocks must be a list of {{method?, url, status?, headers?, body?, failure?}}: {e}"
            ))
        })?;
        Ok(MockHttp {
            rules,
            ..MockHttp::new()
        })
    }

    /// Sends requests no rule matches through `client`.
    pub fn with_fallback(mut self, client: Arc<dyn HttpClient>) -> MockHttp {
        self.fallback = Some(client);
        self
    }

    /// The requests seen so far, in order.
    pub fn calls(&self) -> Vec<HttpRequest> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Default for MockHttp {
    fn default() -> Self {
        MockHttp::new()
    }
}

impl HttpClient for MockHttp {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpResult> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
        if let Some(rule) = self.rules.iter().find(|r| r.matches(request)) {
            return Box::pin(std::future::ready(rule.answer()));
        }
        match &self.fallback {
            Some(client) => client.send(request),
            None => Box::pin(std::future::ready(HttpResult::failed(
                HttpFailure::Connect,
                format!(
                    "connection refused: no mock for {} {} (offline; pass --allow-network to call it)",
                    request.method, request.url
                ),
            ))),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionMockSpec {
    #[serde(default)]
    result: Option<Json>,
    #[serde(default)]
    error: Option<ErrorSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    message: String,
}

/// Canned function results by function name or id.
#[derive(Debug, Default)]
pub struct MockFunctions {
    answers: BTreeMap<String, FunctionOutcome>,
    calls: Mutex<Vec<FunctionCall>>,
}

impl MockFunctions {
    pub fn new() -> MockFunctions {
        MockFunctions::default()
    }

    /// Answers calls of `function` (name or id) with `outcome`.
    pub fn insert(&mut self, function: impl Into<String>, outcome: FunctionOutcome) -> &mut Self {
        self.answers.insert(function.into(), outcome);
        self
    }

    /// Mocks from a JSON object (see the module documentation).
    pub fn from_json(mocks: &Json) -> Result<MockFunctions, MockError> {
        let specs: BTreeMap<String, FunctionMockSpec> = serde_json::from_value(mocks.clone())
            .map_err(|e| {
                MockError(format!(
                    "function mocks must be an object of name -> {{result}} or {{error: {{kind, message}}}}: {e}"
                ))
            })?;
        let mut out = MockFunctions::new();
        for (name, spec) in specs {
            let outcome = match (spec.result, spec.error) {
                (Some(data), None) => FunctionOutcome::Ok { data },
                (None, Some(e)) => FunctionOutcome::Err {
                    kind: error_kind(e.kind.as_deref().unwrap_or("thrown")).ok_or_else(|| {
                        MockError(format!(
                            "function mock '{name}': unknown error kind '{}' (thrown, timeout, memory, notFound)",
                            e.kind.as_deref().unwrap_or_default()
                        ))
                    })?,
                    message: e.message,
                },
                _ => {
                    return Err(MockError(format!(
                        "function mock '{name}' needs exactly one of result or error"
                    )))
                }
            };
            out.insert(name, outcome);
        }
        Ok(out)
    }

    /// The calls answered so far, in order.
    pub fn calls(&self) -> Vec<FunctionCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn answer(&self, call: &FunctionCall) -> FunctionOutcome {
        let found = [&call.function_name, &call.function_id]
            .into_iter()
            .flatten()
            .find_map(|k| self.answers.get(k));
        match found {
            Some(o) => o.clone(),
            None => {
                let who = call
                    .function_name
                    .as_deref()
                    .or(call.function_id.as_deref())
                    .unwrap_or("?");
                FunctionOutcome::Err {
                    kind: FunctionErrorKind::NotFound,
                    message: format!("no mock for function {who}"),
                }
            }
        }
    }
}

fn error_kind(s: &str) -> Option<FunctionErrorKind> {
    Some(match s {
        "thrown" | "compile" => FunctionErrorKind::Thrown,
        "timeout" => FunctionErrorKind::Timeout,
        "memory" | "memoryLimit" => FunctionErrorKind::MemoryLimit,
        "notFound" | "not_found" => FunctionErrorKind::NotFound,
        _ => return None,
    })
}

impl FunctionRunner for MockFunctions {
    fn invoke<'a>(
        &'a self,
        call: &'a FunctionCall,
    ) -> BoxFuture<'a, Result<FunctionOutcome, RuntimeError>> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call.clone());
        Box::pin(std::future::ready(Ok(self.answer(call))))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            id: 1,
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_secs: 5,
        }
    }

    #[tokio::test]
    async fn first_matching_rule_answers() {
        let m = MockHttp::from_json(&json!([
            {"method": "post", "url": "https://x.example/a", "status": 500},
            {"url": "https://x.example/*", "body": {"ok": true}, "headers": {"x-n": 1}},
            {"url": "https://slow.example/", "failure": "timeout"}
        ]))
        .unwrap();
        assert_eq!(
            m.send(&get("https://x.example/a")).await,
            HttpResult::Response {
                status: 200,
                headers: vec![("x-n".into(), "1".into())],
                body: r#"{"ok":true}"#.into()
            }
        );
        assert!(matches!(
            m.send(&get("https://slow.example/")).await,
            HttpResult::Failed {
                reason: HttpFailure::Timeout,
                ..
            }
        ));
        assert!(matches!(
            m.send(&get("https://other.example/")).await,
            HttpResult::Failed { reason: HttpFailure::Connect, message } if message.contains("no mock for GET https://other.example/")
        ));
        assert_eq!(m.calls().len(), 3);
        assert!(MockHttp::from_json(&json!([{"uri": "x"}]))
            .err()
            .is_some_and(|e| e.0.contains("uri")));
    }

    #[tokio::test]
    async fn functions_answer_by_name_or_id() {
        let m = MockFunctions::from_json(&json!({
            "parseContact": {"result": {"areaCode": "415"}},
            "fn-7": {"error": {"kind": "timeout", "message": "slow"}}
        }))
        .unwrap();
        let call = |name: Option<&str>, id: Option<&str>| FunctionCall {
            id: 1,
            function_name: name.map(Into::into),
            function_id: id.map(Into::into),
            tag: "Live".into(),
            inputs: json!({}),
        };
        assert_eq!(
            m.invoke(&call(Some("parseContact"), None)).await.unwrap(),
            FunctionOutcome::Ok {
                data: json!({"areaCode": "415"})
            }
        );
        assert!(matches!(
            m.invoke(&call(None, Some("fn-7"))).await.unwrap(),
            FunctionOutcome::Err {
                kind: FunctionErrorKind::Timeout,
                ..
            }
        ));
        assert_eq!(
            m.invoke(&call(Some("other"), None)).await.unwrap(),
            FunctionOutcome::Err {
                kind: FunctionErrorKind::NotFound,
                message: "no mock for function other".into()
            }
        );
        for bad in [
            json!({"f": {}}),
            json!({"f": {"result": 1, "error": {"message": "x"}}}),
            json!({"f": {"error": {"kind": "weird"}}}),
            json!([]),
        ] {
            assert!(MockFunctions::from_json(&bad).is_err(), "{bad}");
        }
    }
}
