//! Fixtures: fresh stores per backend and records with sensible defaults.

use chrono::{DateTime, Utc};
use serde_json::json;
use store::{FlowRecord, FunctionRecord, Org, Store};

pub const DATABASE_URL_ENV: &str = "SWITCHBOARD_TEST_DATABASE_URL";

/// A migrated store in a new SQLite file; keep the directory alive as long as the store.
pub async fn sqlite_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    let store = Store::connect(&url).await.expect("connect to SQLite");
    (dir, store)
}

/// A migrated store in a private PostgreSQL schema, or None (after saying so) when
/// `SWITCHBOARD_TEST_DATABASE_URL` is not set.
pub async fn postgres_store() -> Option<Store> {
    let Ok(url) = std::env::var(DATABASE_URL_ENV) else {
        eprintln!("skipped: {DATABASE_URL_ENV} not set");
        return None;
    };
    Some(
        Store::connect_postgres_isolated(&url)
            .await
            .expect("connect to PostgreSQL"),
    )
}

/// A timestamp from RFC 3339 text.
pub fn ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

/// Inserts a new org and returns its id.
pub async fn org(store: &Store) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    store
        .insert_org(&Org {
            id: id.clone(),
            name: format!("org {id}"),
            created_at: store::now(),
        })
        .await
        .expect("insert org");
    id
}

/// A fresh draft flow as import would create it.
pub fn flow(org_id: &str, name: &str) -> FlowRecord {
    let at = ts("2026-01-15T09:12:00.000Z");
    FlowRecord {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: org_id.to_owned(),
        name: name.to_owned(),
        flow_type: "FLOW".to_owned(),
        description: Some(format!("{name} description")),
        status: "Draft".to_owned(),
        version: 0,
        document: json!({"name": name, "flowType": "FLOW", "process": {"nodes": [], "edges": []}}),
        created_by: "alice@example.com".to_owned(),
        created_date: at,
        last_modified_by: "alice@example.com".to_owned(),
        last_modified_date: at,
        locked_by: None,
        locked_at: None,
        latest_version: None,
    }
}

/// A fresh draft function, as the guide's parseContact.
pub fn function(org_id: &str, name: &str) -> FunctionRecord {
    let at = ts("2026-01-15T09:12:00.000Z");
    FunctionRecord {
        id: uuid::Uuid::new_v4().simple().to_string(),
        org_id: org_id.to_owned(),
        name: name.to_owned(),
        description: Some("Parses a contact record.".to_owned()),
        language: "js".to_owned(),
        selected_runtime: "nodejs22.x".to_owned(),
        timeout_in_sec: 3,
        source_code: "export const handle = async (request, response) => response;".to_owned(),
        inputs: json!([{"name": "contact", "dataType": "json", "value": "{}"}]),
        outputs: "{\"phoneDigits\":\"4155550132\"}".to_owned(),
        status: "Draft".to_owned(),
        draft_version: 0,
        tag_version_map: Default::default(),
        locked_by: None,
        created_by: "alice@example.com".to_owned(),
        created_date: at,
        last_modified_by: "alice@example.com".to_owned(),
        last_modified_date: at,
        extra: json!({}),
    }
}
