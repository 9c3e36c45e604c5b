//! Flow drafts, listing, optimistic locking, edit locks, publishing and tags.

use serde_json::json;
use store::{DraftUpdate, FlowFilter, PublishRequest, StoreError};

use crate::util::{flow, org, ts};

fn draft(name: &str, actor: &str, marker: i64) -> DraftUpdate {
    DraftUpdate {
        document: json!({"name": name, "marker": marker}),
        name: name.to_owned(),
        description: Some(format!("saved by {actor}")),
        flow_type: "FLOW".to_owned(),
        actor: actor.to_owned(),
        at: ts("2026-02-01T10:00:00.000Z"),
    }
}

fn publish(actor: &str, tags: &[&str], comment: &str) -> PublishRequest {
    PublishRequest {
        comment: Some(comment.to_owned()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        actor: actor.to_owned(),
        at: ts("2026-02-02T10:00:00.000Z"),
    }
}

fn names(flows: &[store::FlowRecord]) -> Vec<&str> {
    flows.iter().map(|f| f.name.as_str()).collect()
}

store_test!(flow_crud_round_trip, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let f = flow(&org_id, "Main IVR");
    store.insert_flow(&f).await.unwrap();

    assert_eq!(
        store.get_flow(&org_id, &f.id).await.unwrap(),
        Some(f.clone())
    );
    assert_eq!(
        store.find_flow_by_name(&org_id, "Main IVR").await.unwrap(),
        Some(f.clone())
    );
    assert_eq!(
        store.find_flow_by_name(&org_id, "main ivr").await.unwrap(),
        None
    );
    // Another org's id is not found, as if it did not exist.
    assert_eq!(store.get_flow(&other_org, &f.id).await.unwrap(), None);
    assert!(!store.delete_flow(&other_org, &f.id).await.unwrap());

    assert!(store.delete_flow(&org_id, &f.id).await.unwrap());
    assert_eq!(store.get_flow(&org_id, &f.id).await.unwrap(), None);
    assert!(!store.delete_flow(&org_id, &f.id).await.unwrap());
});

store_test!(
    document_key_order_survives_the_round_trip,
    |store| async move {
        // Regression guard: JSONB would sort these keys; an export must be the import.
        let org_id = org(&store).await;
        let mut f = flow(&org_id, "ordered");
        f.document = serde_json::from_str(
            r#"{"zeta":1,"alpha":{"y":2,"b":[3,{"k":"v","a":null}]},"mid":"é ✓"}"#,
        )
        .unwrap();
        store.insert_flow(&f).await.unwrap();
        let back = store.get_flow(&org_id, &f.id).await.unwrap().unwrap();
        assert_eq!(back.document.to_string(), f.document.to_string());
    }
);

store_test!(timestamps_are_kept_to_the_millisecond, |store| async move {
    let org_id = org(&store).await;
    let mut f = flow(&org_id, "precise");
    f.created_date = ts("2026-01-15T09:12:00.123456789Z");
    f.last_modified_date = ts("2026-01-15T09:12:00.999999Z");
    f.locked_by = Some("alice".to_owned());
    f.locked_at = Some(ts("2026-01-15T09:12:01.5Z"));
    store.insert_flow(&f).await.unwrap();
    let back = store.get_flow(&org_id, &f.id).await.unwrap().unwrap();
    assert_eq!(back.created_date, ts("2026-01-15T09:12:00.123Z"));
    assert_eq!(back.last_modified_date, ts("2026-01-15T09:12:00.999Z"));
    assert_eq!(back.locked_at, Some(ts("2026-01-15T09:12:01.500Z")));
    assert_eq!(store::truncate_to_millis(f.created_date), back.created_date);
});

store_test!(flow_names_are_unique_per_org, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let first = flow(&org_id, "Main IVR");
    store.insert_flow(&first).await.unwrap();

    let clash = store.insert_flow(&flow(&org_id, "Main IVR")).await;
    assert!(
        matches!(&clash, Err(StoreError::NameConflict { name }) if name == "Main IVR"),
        "{clash:?}"
    );
    // Names are case-sensitive, and per org.
    store.insert_flow(&flow(&org_id, "main ivr")).await.unwrap();
    store
        .insert_flow(&flow(&other_org, "Main IVR"))
        .await
        .unwrap();

    let mut same_id = flow(&org_id, "Another");
    same_id.id = first.id.clone();
    let dup = store.insert_flow(&same_id).await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists { id }) if *id == first.id),
        "{dup:?}"
    );

    let orphan = store.insert_flow(&flow("no-such-org", "x")).await;
    assert!(
        matches!(&orphan, Err(StoreError::UnknownOrg { org_id }) if org_id == "no-such-org"),
        "{orphan:?}"
    );
    assert!(!clash.unwrap_err().is_internal());
});

store_test!(list_flows_filters_orders_and_pages, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let mut ids = std::collections::BTreeMap::new();
    for (name, flow_type) in [
        ("gamma_1", "FLOW"),
        ("Beta", "SUBFLOW"),
        ("alpha", "FLOW"),
        ("gamma%2", "SUBFLOW"),
        ("Delta GAMMA", "FLOW"),
        ("Émile", "FLOW"),
    ] {
        let mut f = flow(&org_id, name);
        f.flow_type = flow_type.to_owned();
        ids.insert(name, f.id.clone());
        store.insert_flow(&f).await.unwrap();
    }
    store.insert_flow(&flow(&other_org, "alpha")).await.unwrap();

    let (all, total) = store
        .list_flows(&org_id, &FlowFilter::default())
        .await
        .unwrap();
    assert_eq!(total, 6);
    // Case-insensitive name order on both backends, whatever the database locale.
    assert_eq!(
        names(&all),
        [
            "alpha",
            "Beta",
            "Delta GAMMA",
            "gamma%2",
            "gamma_1",
            "Émile"
        ]
    );

    let by_name = |needle: &str| FlowFilter {
        name_contains: Some(needle.to_owned()),
        ..FlowFilter::default()
    };
    let (found, total) = store.list_flows(&org_id, &by_name("GAMMA")).await.unwrap();
    assert_eq!(
        (names(&found), total),
        (vec!["Delta GAMMA", "gamma%2", "gamma_1"], 3)
    );
    // LIKE metacharacters in the search are literal.
    let (found, _) = store.list_flows(&org_id, &by_name("%")).await.unwrap();
    assert_eq!(names(&found), ["gamma%2"]);
    let (found, _) = store.list_flows(&org_id, &by_name("a_")).await.unwrap();
    assert_eq!(names(&found), ["gamma_1"]);
    // Non-ASCII case folding.
    let (found, _) = store.list_flows(&org_id, &by_name("ÉMI")).await.unwrap();
    assert_eq!(names(&found), ["Émile"]);

    let subflows = FlowFilter {
        flow_type: Some("SUBFLOW".to_owned()),
        ..FlowFilter::default()
    };
    let (found, total) = store.list_flows(&org_id, &subflows).await.unwrap();
    assert_eq!((names(&found), total), (vec!["Beta", "gamma%2"], 2));

    let chosen = FlowFilter {
        ids: Some(vec![
            ids["alpha"].clone(),
            ids["Beta"].clone(),
            "unknown".to_owned(),
        ]),
        ..FlowFilter::default()
    };
    let (found, total) = store.list_flows(&org_id, &chosen).await.unwrap();
    assert_eq!((names(&found), total), (vec!["alpha", "Beta"], 2));
    let none = FlowFilter {
        ids: Some(vec![]),
        ..FlowFilter::default()
    };
    assert_eq!(store.list_flows(&org_id, &none).await.unwrap(), (vec![], 0));

    let page = |offset, limit| FlowFilter {
        offset,
        limit,
        ..FlowFilter::default()
    };
    let (found, total) = store.list_flows(&org_id, &page(2, 2)).await.unwrap();
    assert_eq!((names(&found), total), (vec!["Delta GAMMA", "gamma%2"], 6));
    let (found, total) = store.list_flows(&org_id, &page(5, 10)).await.unwrap();
    assert_eq!((names(&found), total), (vec!["Émile"], 6));
    let (found, total) = store.list_flows(&org_id, &page(10, 10)).await.unwrap();
    assert_eq!((found.len(), total), (0, 6));

    let combined = FlowFilter {
        name_contains: Some("a".to_owned()),
        flow_type: Some("FLOW".to_owned()),
        offset: 1,
        limit: 1,
        ids: None,
    };
    let (found, total) = store.list_flows(&org_id, &combined).await.unwrap();
    assert_eq!((names(&found), total), (vec!["Delta GAMMA"], 3));
});

store_test!(
    update_draft_replaces_and_bumps_the_version,
    |store| async move {
        let org_id = org(&store).await;
        let f = flow(&org_id, "Main IVR");
        store.insert_flow(&f).await.unwrap();

        let saved = store
            .update_draft(&org_id, &f.id, Some(0), &draft("Main IVR v2", "bob", 1))
            .await
            .unwrap();
        assert_eq!(saved.version, 1);
        assert_eq!(saved.name, "Main IVR v2");
        assert_eq!(saved.document, json!({"name": "Main IVR v2", "marker": 1}));
        assert_eq!(saved.description.as_deref(), Some("saved by bob"));
        assert_eq!(saved.last_modified_by, "bob");
        assert_eq!(saved.last_modified_date, ts("2026-02-01T10:00:00Z"));
        assert_eq!(
            (saved.created_by.as_str(), saved.created_date),
            ("alice@example.com", f.created_date)
        );
        assert_eq!(saved.status, "Draft");
        assert_eq!(
            store.get_flow(&org_id, &f.id).await.unwrap(),
            Some(saved.clone())
        );
        // The old name is free again; the new one is taken.
        assert!(store
            .find_flow_by_name(&org_id, "Main IVR")
            .await
            .unwrap()
            .is_none());

        // Stale expected version.
        let stale = store
            .update_draft(&org_id, &f.id, Some(0), &draft("x", "bob", 2))
            .await;
        assert!(
            matches!(stale, Err(StoreError::VersionConflict { current: 1 })),
            "{stale:?}"
        );
        // No expected version: no check.
        let saved = store
            .update_draft(&org_id, &f.id, None, &draft("Main IVR v2", "bob", 3))
            .await
            .unwrap();
        assert_eq!(saved.version, 2);

        // Renaming onto another flow's name fails and leaves the draft as it was.
        store.insert_flow(&flow(&org_id, "Taken")).await.unwrap();
        let clash = store
            .update_draft(&org_id, &f.id, Some(2), &draft("Taken", "bob", 4))
            .await;
        assert!(
            matches!(&clash, Err(StoreError::NameConflict { name }) if name == "Taken"),
            "{clash:?}"
        );
        assert_eq!(store.get_flow(&org_id, &f.id).await.unwrap(), Some(saved));

        let missing = store
            .update_draft(&org_id, "nope", None, &draft("x", "bob", 5))
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        let foreign = store
            .update_draft(&org(&store).await, &f.id, None, &draft("x", "bob", 6))
            .await;
        assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    }
);

store_test!(
    concurrent_saves_with_one_expected_version_have_one_winner,
    |store| async move {
        let org_id = org(&store).await;
        let f = flow(&org_id, "contended");
        store.insert_flow(&f).await.unwrap();

        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (store, org_id, id) = (store.clone(), org_id.clone(), f.id.clone());
                tokio::spawn(async move {
                    let update = draft("contended", &format!("editor{i}"), i);
                    (i, store.update_draft(&org_id, &id, Some(0), &update).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (i, Ok(saved)) => winners.push((i, saved)),
                (_, Err(StoreError::VersionConflict { current: 1 })) => {}
                (_, Err(e)) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one save wins");
        let (i, saved) = &winners[0];
        assert_eq!(saved.version, 1);
        let now = store.get_flow(&org_id, &f.id).await.unwrap().unwrap();
        assert_eq!(now.document, json!({"name": "contended", "marker": i}));
        assert_eq!(now.version, 1);
    }
);

store_test!(
    concurrent_saves_without_expected_version_lose_nothing,
    |store| async move {
        let org_id = org(&store).await;
        let f = flow(&org_id, "busy");
        store.insert_flow(&f).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (store, org_id, id) = (store.clone(), org_id.clone(), f.id.clone());
                tokio::spawn(async move {
                    store
                        .update_draft(&org_id, &id, None, &draft("busy", "bob", i))
                        .await
                })
            })
            .collect();
        let mut versions = Vec::new();
        for task in tasks {
            versions.push(task.await.unwrap().unwrap().version);
        }
        versions.sort();
        assert_eq!(versions, (1..=20).collect::<Vec<_>>());
    }
);

store_test!(locks_guard_saves_and_publishes, |store| async move {
    let org_id = org(&store).await;
    let f = flow(&org_id, "guarded");
    store.insert_flow(&f).await.unwrap();
    let at = ts("2026-03-01T08:00:00.000Z");

    let locked = store
        .set_flow_lock(&org_id, &f.id, "alice", true, at)
        .await
        .unwrap();
    assert_eq!(locked.locked_by.as_deref(), Some("alice"));
    assert_eq!(locked.locked_at, Some(at));
    // Locking again keeps the original time.
    let again = store
        .set_flow_lock(&org_id, &f.id, "alice", true, ts("2026-03-01T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(again.locked_at, Some(at));

    let is_locked_by_alice =
        |r: &Result<_, StoreError>| matches!(r, Err(StoreError::Locked { by }) if by == "alice");
    let save = store
        .update_draft(&org_id, &f.id, Some(0), &draft("guarded", "bob", 1))
        .await;
    assert!(is_locked_by_alice(&save.map(|_| ())), "save by bob");
    // The lock is reported before a stale version.
    let stale = store
        .update_draft(&org_id, &f.id, Some(7), &draft("guarded", "bob", 1))
        .await;
    assert!(is_locked_by_alice(&stale.map(|_| ())), "stale save by bob");
    let published = store
        .publish_flow(&org_id, &f.id, &publish("bob", &[], "no"))
        .await;
    assert!(is_locked_by_alice(&published.map(|_| ())), "publish by bob");
    let lock = store.set_flow_lock(&org_id, &f.id, "bob", true, at).await;
    assert!(is_locked_by_alice(&lock.map(|_| ())), "lock by bob");
    let unlock = store.set_flow_lock(&org_id, &f.id, "bob", false, at).await;
    assert!(is_locked_by_alice(&unlock.map(|_| ())), "unlock by bob");
    assert_eq!(
        store
            .get_flow(&org_id, &f.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        0
    );

    // The holder can save and publish.
    let saved = store
        .update_draft(&org_id, &f.id, Some(0), &draft("guarded", "alice", 1))
        .await
        .unwrap();
    assert_eq!(
        saved.locked_by.as_deref(),
        Some("alice"),
        "saving keeps the lock"
    );
    store
        .publish_flow(&org_id, &f.id, &publish("alice", &[], "ok"))
        .await
        .unwrap();

    let unlocked = store
        .set_flow_lock(&org_id, &f.id, "alice", false, at)
        .await
        .unwrap();
    assert_eq!((unlocked.locked_by, unlocked.locked_at), (None, None));
    // Unlocking an unlocked flow is fine; then anyone may save.
    store
        .set_flow_lock(&org_id, &f.id, "bob", false, at)
        .await
        .unwrap();
    store
        .update_draft(&org_id, &f.id, Some(1), &draft("guarded", "bob", 2))
        .await
        .unwrap();

    let missing = store
        .set_flow_lock(&org_id, "nope", "alice", true, at)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
});

store_test!(
    publish_numbers_versions_and_moves_tags,
    |store| async move {
        let org_id = org(&store).await;
        let f = flow(&org_id, "published");
        store.insert_flow(&f).await.unwrap();

        let v1 = store
            .publish_flow(
                &org_id,
                &f.id,
                &publish("alice", &["Live", "Dev", "Live"], "first"),
            )
            .await
            .unwrap();
        assert_eq!(v1.number, 1);
        assert_eq!(v1.tags, ["Dev", "Live"]);
        assert_eq!(v1.document, f.document);
        assert_eq!(v1.comment.as_deref(), Some("first"));
        assert_eq!(
            (v1.created_by.as_str(), v1.created_date),
            ("alice", ts("2026-02-02T10:00:00Z"))
        );
        let after = store.get_flow(&org_id, &f.id).await.unwrap().unwrap();
        assert_eq!(
            (after.status.as_str(), after.latest_version),
            ("Published", Some(1))
        );
        assert_eq!(after.version, 0, "publishing does not touch the draft");

        // Change the draft, publish again with some of the tags.
        store
            .update_draft(&org_id, &f.id, Some(0), &draft("published", "bob", 2))
            .await
            .unwrap();
        let v2 = store
            .publish_flow(&org_id, &f.id, &publish("bob", &["Dev", "Test"], "second"))
            .await
            .unwrap();
        assert_eq!(
            (v2.number, v2.tags.clone()),
            (2, vec!["Dev".to_owned(), "Test".to_owned()])
        );
        assert_eq!(v2.document, json!({"name": "published", "marker": 2}));
        let v3 = store
            .publish_flow(&org_id, &f.id, &publish("bob", &[], "third"))
            .await
            .unwrap();
        assert_eq!((v3.number, v3.tags.len()), (3, 0));

        let tags = store.flow_tags(&org_id, &f.id).await.unwrap();
        assert_eq!(
            tags.into_iter().collect::<Vec<_>>(),
            [
                ("Dev".to_owned(), 2),
                ("Live".to_owned(), 1),
                ("Test".to_owned(), 2)
            ]
        );
        let versions = store.list_flow_versions(&org_id, &f.id).await.unwrap();
        let summary: Vec<_> = versions
            .iter()
            .map(|v| (v.number, v.tags.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (3, vec![]),
                (2, vec!["Dev".to_owned(), "Test".to_owned()]),
                (1, vec!["Live".to_owned()])
            ]
        );

        // Old versions are immutable: later saves and publishes leave version 1 as it was.
        store
            .update_draft(&org_id, &f.id, None, &draft("published", "bob", 9))
            .await
            .unwrap();
        let old = store
            .get_flow_version(&org_id, &f.id, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.document, f.document);
        assert_eq!(
            (old.comment.as_deref(), old.tags.clone()),
            (Some("first"), vec!["Live".to_owned()])
        );
        assert_eq!(old.created_by, "alice");
        assert_eq!(
            store.get_flow_version(&org_id, &f.id, 4).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .get_flow(&org_id, &f.id)
                .await
                .unwrap()
                .unwrap()
                .latest_version,
            Some(3)
        );

        // Other orgs see nothing; unknown flows cannot be published.
        let other_org = org(&store).await;
        assert_eq!(
            store.get_flow_version(&other_org, &f.id, 1).await.unwrap(),
            None
        );
        assert!(store
            .list_flow_versions(&other_org, &f.id)
            .await
            .unwrap()
            .is_empty());
        let foreign = store
            .publish_flow(&other_org, &f.id, &publish("eve", &[], "x"))
            .await;
        assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");

        // Deleting the flow deletes its versions and tags.
        assert!(store.delete_flow(&org_id, &f.id).await.unwrap());
        assert!(store
            .list_flow_versions(&org_id, &f.id)
            .await
            .unwrap()
            .is_empty());
        assert!(store.flow_tags(&org_id, &f.id).await.unwrap().is_empty());
        store.insert_flow(&f).await.unwrap();
        let fresh = store
            .publish_flow(&org_id, &f.id, &publish("alice", &[], "again"))
            .await
            .unwrap();
        assert_eq!(fresh.number, 1);
    }
);

store_test!(
    concurrent_publishes_get_distinct_numbers,
    |store| async move {
        let org_id = org(&store).await;
        let f = flow(&org_id, "racing");
        store.insert_flow(&f).await.unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (store, org_id, id) = (store.clone(), org_id.clone(), f.id.clone());
                tokio::spawn(async move {
                    let tag = if i % 2 == 0 { "Even" } else { "Odd" };
                    store
                        .publish_flow(&org_id, &id, &publish("bob", &[tag, "Latest"], "race"))
                        .await
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for task in tasks {
            numbers.push(task.await.unwrap().unwrap().number);
        }
        numbers.sort();
        assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
        let tags = store.flow_tags(&org_id, &f.id).await.unwrap();
        assert_eq!(tags.get("Latest"), Some(&12));
        assert_eq!(
            store
                .get_flow(&org_id, &f.id)
                .await
                .unwrap()
                .unwrap()
                .latest_version,
            Some(12)
        );
    }
);
