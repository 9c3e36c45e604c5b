//! Configuration entities in the generic table.

use serde_json::json;
use store::{EntityRecord, StoreError};

use crate::util::{org, ts};

fn entity(org_id: &str, kind: &str, id: &str, name: &str) -> EntityRecord {
    EntityRecord {
        org_id: org_id.to_owned(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        body: json!({"id": id, "name": name, "channelType": "telephony"}),
        created_at: ts("2026-01-01T00:00:00Z"),
        updated_at: ts("2026-01-01T00:00:00Z"),
    }
}

store_test!(entities_upsert_list_and_isolate, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let q1 = entity(&org_id, "queue", "q1", "Sales");
    store.upsert_entity(&q1).await.unwrap();
    store
        .upsert_entity(&entity(&org_id, "queue", "q2", "Billing"))
        .await
        .unwrap();
    store
        .upsert_entity(&entity(&org_id, "team", "t1", "Sales"))
        .await
        .unwrap();
    store
        .upsert_entity(&entity(&other_org, "queue", "q1", "Foreign"))
        .await
        .unwrap();

    let queues = store.list_entities(&org_id, "queue").await.unwrap();
    assert_eq!(
        queues.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["Billing", "Sales"]
    );
    assert_eq!(
        store.get_entity(&org_id, "queue", "q1").await.unwrap(),
        Some(q1.clone())
    );
    assert_eq!(store.get_entity(&org_id, "team", "q1").await.unwrap(), None);
    assert_eq!(
        store
            .get_entity(&other_org, "queue", "q1")
            .await
            .unwrap()
            .map(|e| e.name),
        Some("Foreign".to_owned())
    );
    let by_name = store
        .find_entity_by_name(&org_id, "team", "Sales")
        .await
        .unwrap();
    assert_eq!(by_name.map(|e| e.id), Some("t1".to_owned()));

    // An upsert replaces name, body and updated_at, and keeps created_at.
    let mut renamed = entity(&org_id, "queue", "q1", "Sales EMEA");
    renamed.body = json!({"id": "q1", "name": "Sales EMEA", "maxActiveContacts": 5});
    renamed.created_at = ts("2030-01-01T00:00:00Z");
    renamed.updated_at = ts("2026-02-01T00:00:00.250Z");
    store.upsert_entity(&renamed).await.unwrap();
    let back = store
        .get_entity(&org_id, "queue", "q1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.name, "Sales EMEA");
    assert_eq!(back.body, renamed.body);
    assert_eq!(
        (back.created_at, back.updated_at),
        (q1.created_at, renamed.updated_at)
    );
    assert_eq!(
        store.list_entities(&org_id, "queue").await.unwrap().len(),
        2
    );

    assert!(store.delete_entity(&org_id, "queue", "q1").await.unwrap());
    assert!(!store.delete_entity(&org_id, "queue", "q1").await.unwrap());
    assert!(store
        .get_entity(&other_org, "queue", "q1")
        .await
        .unwrap()
        .is_some());

    let orphan = store
        .upsert_entity(&entity("no-such-org", "queue", "q", "x"))
        .await;
    assert!(
        matches!(orphan, Err(StoreError::UnknownOrg { .. })),
        "{orphan:?}"
    );
});
