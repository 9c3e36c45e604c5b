//! `/openapi.json` documents every entry of [`api::ENDPOINTS`], the router serves every
//! entry, and every route in the source is in the table: a route missing from the table or
//! the document fails here.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::util::send;

api_test!(openapi_documents_every_endpoint, |app| async move {
    let resp = crate::util::send(app.anonymous(Method::GET, "/openapi.json")).await;
    let doc = resp.expect(200).clone();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            assert!(op["responses"].is_object(), "{method} {path} has responses");
        }
    }
    let table: BTreeSet<(String, String)> = api::ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    assert_eq!(documented, table, "the document is the table, both ways");
    for e in api::ENDPOINTS {
        let op = &doc["paths"][e.path][e.method];
        match e.scope {
            Some(scope) => assert_eq!(
                op["security"],
                json!([{"bearer": [scope]}]),
                "{} {}",
                e.method,
                e.path
            ),
            None => assert_eq!(op["security"], json!([]), "{} {}", e.method, e.path),
        }
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in &params {
            assert!(
                e.path.contains(&format!("{{{p}}}")),
                "{} {} parameter {p}",
                e.method,
                e.path
            );
        }
        assert_eq!(
            params.len(),
            e.path.matches('{').count(),
            "{} {}",
            e.method,
            e.path
        );
    }
});

/// A concrete path for a table entry: the app's org, the project, harmless ids.
fn concrete(app: &crate::util::TestApp, path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(match &rest[start + 1..end] {
            "orgId" | "orgid" => app.org.as_str(),
            "projectId" => api::PROJECT_ID,
            "activityName" => "play-message",
            "inputName" => "prompt",
            _ => "ffffffffffffffffffffffff",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

api_test!(every_endpoint_in_the_table_is_routed, |app| async move {
    for e in api::ENDPOINTS {
        let method = Method::from_bytes(e.method.to_ascii_uppercase().as_bytes()).unwrap();
        let path = concrete(&app, e.path);
        let resp = send(app.request(method, &path).json(&json!({}))).await;
        let fallback = resp.status.as_u16() == 404 && resp.text.contains("No such endpoint");
        assert!(
            !fallback && resp.status.as_u16() != 405,
            "{} {} is in ENDPOINTS but not routed: {} {}",
            e.method,
            e.path,
            resp.status,
            resp.text
        );
        assert!(
            !resp.status.is_server_error(),
            "{} {}: {} {}",
            e.method,
            e.path,
            resp.status,
            resp.text
        );
    }
});

/// `{anything}` and `{anything}:action` -> `{}`.
fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str("{}");
        rest = &rest[end + 1..];
        if let Some(after) = rest.strip_prefix(':') {
            let action_len = after
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(after.len());
            rest = &after[action_len..];
        }
    }
    out.push_str(rest);
    out
}

/// Every `(method, path)` registered with `.route("path", get(..).post(..))` in the source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files = vec![];
    let mut dirs = vec![std::path::PathBuf::from(src)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests (at the bottom of a file) may build routers of their own.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut rest = text;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's text, up to its closing parenthesis.
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &rest[..end];
            let Some(q1) = call.find('"') else { continue };
            let Some(q2) = call[q1 + 1..].find('"') else {
                continue;
            };
            let path = normalize(&call[q1 + 1..q1 + 1 + q2]);
            let handlers = &call[q1 + 1 + q2..];
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if called {
                    out.insert((method.to_string(), path.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_route_in_the_source_is_in_the_table() {
    let table: BTreeSet<(String, String)> = api::ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), normalize(e.path)))
        .collect();
    let routes = routes_in_source();
    assert!(routes.len() >= 10, "found the routes: {routes:?}");
    let missing: Vec<_> = routes.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routed but not in api::ENDPOINTS (so not in /openapi.json): {missing:?}"
    );
}

#[test]
fn normalize_strips_parameters_and_actions() {
    assert_eq!(
        normalize("/{orgId}/v2/flows/{flowId}:export"),
        "/{}/v2/flows/{}"
    );
    assert_eq!(
        normalize("/{org_id}/v2/flows:validate"),
        "/{}/v2/flows:validate"
    );
    assert_eq!(
        normalize("/{org_id}/v2/flows/{flow_id}/versions"),
        "/{}/v2/flows/{}/versions"
    );
}
