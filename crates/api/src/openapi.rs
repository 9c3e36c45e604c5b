//! The OpenAPI 3.0 document of everything served, generated from the route table
//! ([`crate::ENDPOINTS`]) so it cannot drift from the router (a test checks both ways).

use serde_json::{json, Map, Value};

pub fn document() -> Value {
    let mut paths = Map::new();
    for ep in crate::ENDPOINTS {
        let params: Vec<Value> = ep
            .path
            .split('/')
            .flat_map(|seg| {
                let mut out = Vec::new();
                let mut rest = seg;
                while let Some(start) = rest.find('{') {
                    let Some(end) = rest[start..].find('}') else { break };
                    out.push(rest[start + 1..start + end].to_string());
                    rest = &rest[start + end + 1..];
                }
                out
            })
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": ep.summary,
            "tags": [ep.tag],
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"}
            }
        });
        match ep.scope {
            Some(scope) => {
                op["security"] = json!([{"bearer": [scope]}]);
                op["x-required-scope"] = json!(scope);
            }
            None => op["security"] = json!([]),
        }
        let entry = paths
            .entry(ep.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[ep.method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "switchboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Open contact-center orchestration server, wire-compatible with the Webex Contact Center public API."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "Platform error envelope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorResponse"}}}}},
            "schemas": {
                "ApiErrorResponse": {"type": "object", "properties": {
                    "trackingId": {"type": "string"},
                    "error": {"type": "object", "properties": {
                        "key": {"type": "string"},
                        "message": {"type": "array", "items": {"type": "object", "properties": {"description": {"type": "string"}}}}
                    }}
                }}
            }
        }
    })
}
