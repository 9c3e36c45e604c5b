//! `http-request`: builds the request (method, URL with `queryParameters`, headers, body,
//! all templated), checks the URL against the [`HttpPolicy`], emits `HttpRequest` and waits.
//!
//! Any response takes `out`, whatever its status, unless `treatNon2xxAsError` is set (then a
//! non-2xx takes `error` with HTTP_STATUS, outputs still set). No response takes `error`:
//! TIMEOUT, CONNECTION_FAILED (also for an address the policy denies) or INVALID_URL. When
//! the body is JSON, `parseSettings` copy values from it into variables. Exposes
//! `httpStatusCode` (0 without a response), `httpResponseBody`, `httpResponseHeaders`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use minijinja::value::ValueKind;
use minijinja::Value;
use serde::{Deserialize, Serialize};

use super::common::with_query;
use crate::command::{Command, HttpRequest};
use crate::compile::{CompileCx, Input, ParseSetting};
use crate::event::{Event, HttpFailure};
use crate::expr::Expr;
use crate::run::{apply_parse_settings, Cx, Outcome};
use crate::state::WaitOn;

/// Which addresses http-request may call. The engine checks literal addresses and
/// `localhost` in the URL; a runtime must apply [`HttpPolicy::allows_ip`] to every address a
/// host name resolves to, and report a refusal as `HttpFailed { reason: denied }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpPolicy {
    /// Refuse private, link-local, shared (CGNAT), unspecified and multicast addresses
    /// (cloud metadata endpoints included).
    pub deny_private: bool,
    /// Allow 127.0.0.0/8, ::1 and `localhost` (tests and local development).
    pub allow_loopback: bool,
    /// Host names refused outright (exact, case-insensitive).
    pub deny_hosts: Vec<String>,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            deny_private: true,
            allow_loopback: false,
            deny_hosts: Vec::new(),
        }
    }
}

impl HttpPolicy {
    /// No restriction at all (offline tests with mocked HTTP).
    pub fn permissive() -> HttpPolicy {
        HttpPolicy {
            deny_private: false,
            allow_loopback: true,
            deny_hosts: Vec::new(),
        }
    }

    /// Whether the policy lets a request reach this address.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        if !self.deny_private {
            return true;
        }
        match ip {
            IpAddr::V4(v4) => !private_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => {
                    if v4.is_loopback() {
                        self.allow_loopback
                    } else {
                        !private_v4(v4)
                    }
                }
                None => !private_v6(v6),
            },
        }
    }

    /// Checks a URL: `Err((code, message))` with INVALID_URL or CONNECTION_FAILED.
    pub fn check_url(&self, url: &str) -> Result<(), (&'static str, String)> {
        let host = host_of(url).map_err(|m| ("INVALID_URL", m))?;
        let lower = host.to_ascii_lowercase();
        if self.deny_hosts.iter().any(|h| h.eq_ignore_ascii_case(&lower)) {
            return Err(("CONNECTION_FAILED", format!("host '{host}' is denied by policy")));
        }
        if lower == "localhost" || lower.ends_with(".localhost") {
            return if self.allow_loopback {
                Ok(())
            } else {
                Err(("CONNECTION_FAILED", format!("loopback host '{host}' is denied by policy")))
            };
        }
        let bare = lower.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if !self.allows_ip(ip) {
                return Err(("CONNECTION_FAILED", format!("address {ip} is denied by policy (private network)")));
            }
        }
        Ok(())
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified() || ip.is_multicast() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
}

/// The host of an absolute http(s) URL.
fn host_of(url: &str) -> Result<&str, String> {
    let url = url.trim();
    let rest = url
        .split_once("://")
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("'{url}' is not an http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if hostport.starts_with('[') {
        hostport.split_inclusive(']').next().unwrap_or_default()
    } else {
        hostport.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("'{url}' has no valid host"));
    }
    Ok(host)
}

#[derive(Debug)]
pub(crate) struct Config {
    method: String,
    url: Expr,
    query: Option<Input>,
    headers: Option<Input>,
    content_type: String,
    body: Option<Input>,
    timeout: u32,
    non2xx_is_error: bool,
    settings: Vec<ParseSetting>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        method: cx.string("method")?.unwrap_or_else(|| "GET".to_owned()),
        url: cx.expr_req("url")?,
        query: cx.input("queryParameters")?,
        headers: cx.input("headers")?,
        content_type: cx.string("contentType")?.unwrap_or_else(|| "application/json".to_owned()),
        body: cx.input("body")?,
        timeout: cx.int("timeoutInSec")?.unwrap_or(10).clamp(1, 60) as u32,
        non2xx_is_error: cx.bool("treatNon2xxAsError")?.unwrap_or(false),
        settings: cx.parse_settings("parseSettings")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    match build(c, cx) {
        Ok(req) => {
            let id = req.id;
            cx.emit(Command::HttpRequest(req));
            Outcome::Wait(WaitOn::Http { request: id })
        }
        Err(o) => o,
    }
}

fn build(c: &Config, cx: &mut Cx<'_>) -> Result<HttpRequest, Outcome> {
    let url = cx.text("url", &c.url).map_err(Outcome::Fail)?;
    let query = c.query.as_ref().map(|q| cx.eval_input("queryParameters", q)).transpose().map_err(Outcome::Fail)?;
    let url = with_query(url.trim(), query.as_ref());
    if let Err((code, message)) = cx.config.http.check_url(&url) {
        cx.set_outputs(no_response());
        return Err(cx.failure(code, message));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(h) = &c.headers {
        let h = cx.eval_input("headers", h).map_err(Outcome::Fail)?;
        if let Ok(keys) = h.try_iter() {
            for k in keys {
                let v = h.get_item(&k).unwrap_or(Value::UNDEFINED);
                headers.push((crate::value::text(&k), crate::value::text(&v)));
            }
        }
    }
    let body = match &c.body {
        None => None,
        Some(b) => {
            let v = cx.eval_input("body", b).map_err(Outcome::Fail)?;
            Some(match v.kind() {
                ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
                ValueKind::Map if c.content_type == "application/x-www-form-urlencoded" => {
                    with_query("", Some(&v)).trim_start_matches('?').to_owned()
                }
                _ => serde_json::to_string(&v).unwrap_or_default(),
            })
        }
    };
    if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".to_owned(), c.content_type.clone()));
    }
    Ok(HttpRequest {
        id: cx.id(),
        method: c.method.clone(),
        url,
        headers,
        body,
        timeout_secs: c.timeout,
    })
}

fn no_response() -> [(&'static str, Value); 3] {
    [
        ("httpStatusCode", Value::from(0)),
        ("httpResponseBody", Value::from("")),
        ("httpResponseHeaders", crate::value::map_value::<_, &str>([])),
    ]
}

pub(crate) fn resume(c: &Config, cx: &mut Cx<'_>, _: &WaitOn, event: &Event) -> Outcome {
    match event {
        Event::HttpResponse { status, headers, body, .. } => {
            let headers = crate::value::map_value(headers.iter().map(|(k, v)| (k.as_str(), Value::from(v.as_str()))));
            cx.set_outputs([
                ("httpStatusCode", Value::from(*status)),
                ("httpResponseBody", Value::from(body.as_str())),
                ("httpResponseHeaders", headers),
            ]);
            if c.non2xx_is_error && !(200..300).contains(status) {
                return cx.failure("HTTP_STATUS", format!("{} answered {status}", c.method));
            }
            if !c.settings.is_empty() {
                if let Ok(doc) = crate::jsondoc::Tree::parse(body) {
                    if let Err(f) = apply_parse_settings(cx, &c.settings, &doc) {
                        return Outcome::Fail(f);
                    }
                }
            }
            Outcome::Port("out")
        }
        Event::HttpFailed { reason, message, .. } => {
            cx.set_outputs(no_response());
            let code = match reason {
                HttpFailure::Timeout => "TIMEOUT",
                HttpFailure::Connect | HttpFailure::Denied => "CONNECTION_FAILED",
                HttpFailure::InvalidUrl => "INVALID_URL",
            };
            let what = if message.is_empty() { format!("{reason:?}") } else { message.clone() };
            cx.failure(code, format!("no response: {what}"))
        }
        other => Outcome::Ignore(format!("{}: http-request waits for its response", other.label())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::activities::testkit::*;
    use crate::{EngineConfig, Start};

    fn kit(inputs: serde_json::Value) -> Kit {
        let mut props = json!({"url": "https://api.example.com/customers/{{ Id }}"});
        for (k, v) in inputs.as_object().unwrap() {
            props[k] = v.clone();
        }
        Kit::new(flow(
            json!([var("Id", "STRING", "C-7"), var("Token", "STRING", "s3cr3t"), var("Tier", "STRING", "")]),
            json!([node("HTTP", "http-request", props), node("Failed", "end-flow", json!({}))]),
            json!([["Start", "HTTP", "out"], ["HTTP", "Failed", "error"]]),
        ))
    }

    #[test]
    fn builds_the_request_from_templates() {
        let k = kit(json!({
            "method": "POST",
            "queryParameters": {"expand": "orders", "q": "{{ Id }} x"},
            "headers": {"Authorization": "Bearer {{ Token }}"},
            "body": {"id": "{{ Id }}", "n": 2},
            "timeoutInSec": 5
        }));
        let (st, out) = k.start();
        assert_eq!(
            commands(&out),
            vec![json!({
                "type": "httpRequest", "id": 1, "method": "POST",
                "url": "https://api.example.com/customers/C-7?expand=orders&q=C-7%20x",
                "headers": [["Authorization", "Bearer s3cr3t"], ["Content-Type", "application/json"]],
                "body": "{\"id\":\"C-7\",\"n\":2}",
                "timeoutSecs": 5
            })]
        );
        assert_eq!(st.threads()[0].wait.as_ref().map(|w| w.on.clone()), Some(WaitOn::Http { request: 1 }));
    }

    #[test]
    fn a_response_maps_into_variables() {
        let k = kit(json!({"parseSettings": [{"outputVariable": "Tier", "pathExpression": "$.tier"}]}));
        let (mut st, _) = k.start();
        let body = r#"{"tier": "gold"}"#.to_owned();
        let out = k.step(&mut st, Event::HttpResponse { id: 1, status: 404, headers: vec![("x-a".into(), "1".into())], body }, 2);
        assert_eq!(path(&out), vec![("HTTP".into(), "out".into())]);
        assert_eq!(st.variable("Tier"), Some(json!("gold")));
        assert_eq!(
            outputs(&out, "HTTP"),
            json!({"httpStatusCode": 404, "httpResponseBody": "{\"tier\": \"gold\"}", "httpResponseHeaders": {"x-a": "1"}, "errorCode": "", "errorMessage": ""})
        );
        assert_eq!(out.trace.get(0).unwrap().duration_ms, 2000);
    }

    #[test]
    fn errors_take_the_error_port() {
        let k = kit(json!({"treatNon2xxAsError": true}));
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::HttpResponse { id: 1, status: 503, headers: vec![], body: String::new() }, 1);
        assert_eq!(path(&out)[0], ("HTTP".into(), "error".into()));
        assert_eq!(outputs(&out, "HTTP")["errorCode"], json!("HTTP_STATUS"));
        assert_eq!(outputs(&out, "HTTP")["httpStatusCode"], json!(503));

        for (reason, code) in [(HttpFailure::Timeout, "TIMEOUT"), (HttpFailure::Connect, "CONNECTION_FAILED"), (HttpFailure::InvalidUrl, "INVALID_URL")] {
            let (mut st, _) = k.start();
            let out = k.step(&mut st, Event::HttpFailed { id: 1, reason, message: String::new() }, 10);
            assert_eq!(path(&out)[0], ("HTTP".into(), "error".into()));
            assert_eq!(outputs(&out, "HTTP")["errorCode"], json!(code));
            assert_eq!(outputs(&out, "HTTP")["httpStatusCode"], json!(0));
        }
    }

    #[test]
    fn private_addresses_are_denied_unless_allowed() {
        for (url, ok) in [
            ("https://api.example.com/x", true),
            ("http://10.1.2.3/x", false),
            ("http://169.254.169.254/latest/meta-data", false),
            ("http://[fd00::1]:8080/", false),
            ("http://127.0.0.1:9000/", false),
            ("http://localhost/", false),
            ("http://user@192.168.1.1/", false),
            ("ftp://example.com/", false),
        ] {
            assert_eq!(HttpPolicy::default().check_url(url).is_ok(), ok, "{url}");
        }
        let tests = HttpPolicy { allow_loopback: true, ..HttpPolicy::default() };
        assert!(tests.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(tests.check_url("http://localhost:8080/").is_ok());
        assert!(tests.check_url("http://10.0.0.1/").is_err());
        assert!(HttpPolicy::permissive().check_url("http://10.0.0.1/").is_ok());
        assert_eq!(HttpPolicy::default().check_url("not a url").unwrap_err().0, "INVALID_URL");

        let mut k = Kit::new(flow(
            json!([]),
            json!([node("HTTP", "http-request", json!({"url": "http://127.0.0.1:8080/hook"})), node("Failed", "end-flow", json!({}))]),
            json!([["Start", "HTTP", "out"], ["HTTP", "Failed", "error"]]),
        ));
        let (_, out) = k.start();
        assert_eq!(path(&out)[1], ("HTTP".into(), "error".into()));
        assert!(out.commands.iter().all(|c| !matches!(c, Command::HttpRequest(_))));
        k.engine = crate::Engine::new(EngineConfig { http: tests, ..EngineConfig::default() });
        let (_, out) = k.start_with(Start::default());
        assert!(matches!(out.commands[0], Command::HttpRequest(_)));
    }
}
