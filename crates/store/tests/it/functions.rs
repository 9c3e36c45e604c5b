//! Custom functions: drafts, unique names, publishing with tags, locks.

use serde_json::json;
use store::StoreError;

use crate::util::{function, org, ts};

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

store_test!(function_crud_round_trip, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let mut f = function(&org_id, "parseContact");
    f.extra = json!({"zeta": true, "alpha": [1, 2]});
    store.insert_function(&f).await.unwrap();
    let back = store.get_function(&org_id, &f.id).await.unwrap().unwrap();
    assert_eq!(back, f);
    assert_eq!(
        back.extra.to_string(),
        f.extra.to_string(),
        "key order kept"
    );
    assert_eq!(
        store
            .find_function_by_name(&org_id, "parseContact")
            .await
            .unwrap(),
        Some(f.clone())
    );
    assert_eq!(store.get_function(&other_org, &f.id).await.unwrap(), None);

    store
        .insert_function(&function(&org_id, "alpha"))
        .await
        .unwrap();
    store
        .insert_function(&function(&org_id, "Zed"))
        .await
        .unwrap();
    store
        .insert_function(&function(&other_org, "other"))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .list_functions(&org_id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(listed, ["alpha", "parseContact", "Zed"]);

    assert!(store.delete_function(&org_id, &f.id).await.unwrap());
    assert!(!store.delete_function(&org_id, &f.id).await.unwrap());
    assert_eq!(store.get_function(&org_id, &f.id).await.unwrap(), None);
});

store_test!(function_names_are_unique_per_org, |store| async move {
    let org_id = org(&store).await;
    let first = function(&org_id, "parseContact");
    store.insert_function(&first).await.unwrap();
    let clash = store
        .insert_function(&function(&org_id, "parseContact"))
        .await;
    assert!(
        matches!(&clash, Err(StoreError::NameConflict { name }) if name == "parseContact"),
        "{clash:?}"
    );
    store
        .insert_function(&function(&org(&store).await, "parseContact"))
        .await
        .unwrap();

    let second = function(&org_id, "second");
    store.insert_function(&second).await.unwrap();
    let mut renamed = second.clone();
    renamed.name = "parseContact".to_owned();
    let clash = store
        .update_function(&org_id, &second.id, "bob", &renamed)
        .await;
    assert!(
        matches!(&clash, Err(StoreError::NameConflict { name }) if name == "parseContact"),
        "{clash:?}"
    );
    assert_eq!(
        store.get_function(&org_id, &second.id).await.unwrap(),
        Some(second)
    );
});

store_test!(update_function_replaces_the_draft, |store| async move {
    let org_id = org(&store).await;
    let f = function(&org_id, "parseContact");
    store.insert_function(&f).await.unwrap();

    let mut next = f.clone();
    next.name = "parseContactV2".to_owned();
    next.source_code =
        "export const handle = async (q, r) => { r.data = 1; return r; };".to_owned();
    next.timeout_in_sec = 5;
    next.inputs = json!([]);
    next.outputs = "{}".to_owned();
    next.extra = json!({"note": "kept"});
    next.last_modified_date = ts("2026-02-01T00:00:00.5Z");
    // Server-owned fields in the update are ignored.
    next.created_by = "mallory".to_owned();
    next.status = "Published".to_owned();
    next.draft_version = 99;

    let updated = store
        .update_function(&org_id, &f.id, "bob", &next)
        .await
        .unwrap();
    assert_eq!(updated.name, "parseContactV2");
    assert_eq!(updated.source_code, next.source_code);
    assert_eq!(
        (updated.timeout_in_sec, updated.inputs.clone()),
        (5, json!([]))
    );
    assert_eq!(updated.extra, json!({"note": "kept"}));
    assert_eq!(updated.last_modified_by, "bob");
    assert_eq!(updated.last_modified_date, ts("2026-02-01T00:00:00.500Z"));
    assert_eq!(updated.created_by, "alice@example.com");
    assert_eq!(updated.status, "Draft");
    assert_eq!(updated.draft_version, 1);
    assert_eq!(
        store.get_function(&org_id, &f.id).await.unwrap(),
        Some(updated)
    );

    let missing = store.update_function(&org_id, "nope", "bob", &next).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
});

store_test!(publish_function_versions_and_tags, |store| async move {
    let org_id = org(&store).await;
    let f = function(&org_id, "parseContact");
    store.insert_function(&f).await.unwrap();
    let at = ts("2026-03-01T12:00:00Z");

    let (after, v1) = store
        .publish_function(
            &org_id,
            &f.id,
            &tags(&["Live", "Latest"]),
            Some("Initial release."),
            "alice",
            at,
        )
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.source_code, f.source_code);
    assert_eq!(
        (
            v1.language.as_str(),
            v1.selected_runtime.as_str(),
            v1.timeout_in_sec
        ),
        ("js", "nodejs22.x", 3)
    );
    assert_eq!(
        (v1.inputs.clone(), v1.outputs.clone()),
        (f.inputs.clone(), f.outputs.clone())
    );
    assert_eq!(
        (
            v1.comment.as_deref(),
            v1.created_by.as_str(),
            v1.created_date
        ),
        (Some("Initial release."), "alice", at)
    );
    assert_eq!(after.status, "Published");
    assert_eq!(
        after.tag_version_map,
        [("Latest".to_owned(), 1), ("Live".to_owned(), 1)].into()
    );
    assert_eq!(
        store.get_function(&org_id, &f.id).await.unwrap(),
        Some(after.clone())
    );

    let mut next = f.clone();
    next.source_code = "// v2".to_owned();
    let updated = store
        .update_function(&org_id, &f.id, "bob", &next)
        .await
        .unwrap();
    assert_eq!(updated.status, "Published", "an update keeps the status");
    assert_eq!(
        updated.tag_version_map, after.tag_version_map,
        "and the tags"
    );

    let (after, v2) = store
        .publish_function(&org_id, &f.id, &tags(&["Latest", "Dev"]), None, "bob", at)
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.source_code.as_str(), v2.comment.clone()),
        (2, "// v2", None)
    );
    assert_eq!(
        after.tag_version_map,
        [
            ("Dev".to_owned(), 2),
            ("Latest".to_owned(), 2),
            ("Live".to_owned(), 1)
        ]
        .into()
    );

    // Version 1 is immutable.
    let old = store
        .get_function_version(&org_id, &f.id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old, v1);
    assert_eq!(
        store.get_function_version(&org_id, &f.id, 3).await.unwrap(),
        None
    );
    let numbers: Vec<_> = store
        .list_function_versions(&org_id, &f.id)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(numbers, [2, 1]);
    let listed = store.list_functions(&org_id).await.unwrap();
    assert_eq!(listed[0].tag_version_map, after.tag_version_map);

    let missing = store
        .publish_function(&org_id, "nope", &[], None, "bob", at)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    assert!(store.delete_function(&org_id, &f.id).await.unwrap());
    assert_eq!(
        store.get_function_version(&org_id, &f.id, 1).await.unwrap(),
        None
    );
});

store_test!(
    function_locks_guard_updates_and_publishes,
    |store| async move {
        let org_id = org(&store).await;
        let f = function(&org_id, "guarded");
        store.insert_function(&f).await.unwrap();
        let at = ts("2026-03-01T08:00:00Z");

        let locked = store
            .set_function_lock(&org_id, &f.id, "alice", true, at)
            .await
            .unwrap();
        assert_eq!(locked.locked_by.as_deref(), Some("alice"));
        let by_alice = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Locked { by }) if by == "alice");
        assert!(by_alice(
            store
                .update_function(&org_id, &f.id, "bob", &f)
                .await
                .map(|_| ())
        ));
        assert!(by_alice(
            store
                .publish_function(&org_id, &f.id, &[], None, "bob", at)
                .await
                .map(|_| ())
        ));
        assert!(by_alice(
            store
                .set_function_lock(&org_id, &f.id, "bob", true, at)
                .await
                .map(|_| ())
        ));
        assert!(by_alice(
            store
                .set_function_lock(&org_id, &f.id, "bob", false, at)
                .await
                .map(|_| ())
        ));

        store
            .update_function(&org_id, &f.id, "alice", &f)
            .await
            .unwrap();
        let (published, _) = store
            .publish_function(&org_id, &f.id, &tags(&["Dev"]), None, "alice", at)
            .await
            .unwrap();
        assert_eq!(published.locked_by.as_deref(), Some("alice"));
        let unlocked = store
            .set_function_lock(&org_id, &f.id, "alice", false, at)
            .await
            .unwrap();
        assert_eq!(unlocked.locked_by, None);
        assert_eq!(
            unlocked.tag_version_map,
            [("Dev".to_owned(), 1)].into(),
            "lock answers carry the tags"
        );
        store
            .set_function_lock(&org_id, &f.id, "alice", false, at)
            .await
            .unwrap();
        store
            .update_function(&org_id, &f.id, "bob", &f)
            .await
            .unwrap();

        let missing = store
            .set_function_lock(&org_id, "nope", "alice", true, at)
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    }
);
