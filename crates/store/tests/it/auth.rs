//! Organizations, tokens (by hash) and OAuth clients.

use store::{ClientRecord, Org, StoreError, TokenRecord};

use crate::util::{org, ts};

fn token(org_id: &str, hash: &str, expires_at: Option<&str>) -> TokenRecord {
    TokenRecord {
        token_hash: hash.to_owned(),
        org_id: org_id.to_owned(),
        user: "admin@example.com".to_owned(),
        scopes: vec!["cjp:config_read".to_owned(), "cjp:config_write".to_owned()],
        kind: "access".to_owned(),
        client_id: None,
        expires_at: expires_at.map(ts),
        created_at: ts("2026-01-01T00:00:00Z"),
    }
}

store_test!(orgs_round_trip, |store| async move {
    let first = Org {
        id: "8eb7da9a-c81c-4d13-b08b-38fdeb7330d8".to_owned(),
        name: "Default".to_owned(),
        created_at: ts("2026-01-01T00:00:00.001Z"),
    };
    let second = Org {
        id: "00000000-second".to_owned(),
        name: "Second".to_owned(),
        created_at: ts("2026-01-02T00:00:00Z"),
    };
    store.insert_org(&second).await.unwrap();
    store.insert_org(&first).await.unwrap();
    assert_eq!(store.get_org(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get_org("missing").await.unwrap(), None);
    assert_eq!(store.list_orgs().await.unwrap(), [first.clone(), second]);
    let dup = store.insert_org(&first).await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists { id }) if *id == first.id),
        "{dup:?}"
    );
});

store_test!(tokens_round_trip_by_hash, |store| async move {
    let org_id = org(&store).await;
    let t = token(&org_id, "sha256:abc", Some("2026-06-01T00:00:00Z"));
    store.insert_token(&t).await.unwrap();
    let mut refresh = token(&org_id, "sha256:def", None);
    refresh.kind = "refresh".to_owned();
    refresh.client_id = Some("client-1".to_owned());
    refresh.scopes = vec![];
    store.insert_token(&refresh).await.unwrap();

    assert_eq!(store.find_token("sha256:abc").await.unwrap(), Some(t));
    assert_eq!(store.find_token("sha256:def").await.unwrap(), Some(refresh));
    assert_eq!(store.find_token("sha256:zzz").await.unwrap(), None);

    let orphan = store
        .insert_token(&token("no-such-org", "sha256:x", None))
        .await;
    assert!(
        matches!(orphan, Err(StoreError::UnknownOrg { .. })),
        "{orphan:?}"
    );

    store.delete_token("sha256:abc").await.unwrap();
    store.delete_token("sha256:abc").await.unwrap();
    assert_eq!(store.find_token("sha256:abc").await.unwrap(), None);

    store
        .insert_token(&token(&org_id, "old", Some("2026-01-01T00:00:00Z")))
        .await
        .unwrap();
    store
        .insert_token(&token(&org_id, "new", Some("2026-12-01T00:00:00Z")))
        .await
        .unwrap();
    let swept = store
        .delete_expired_tokens(ts("2026-06-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert!(store.find_token("old").await.unwrap().is_none());
    assert!(store.find_token("new").await.unwrap().is_some());
    assert!(
        store.find_token("sha256:def").await.unwrap().is_some(),
        "no expiry: kept"
    );
});

store_test!(clients_round_trip, |store| async move {
    let org_id = org(&store).await;
    let c = ClientRecord {
        client_id: "C0ffee".to_owned(),
        secret_hash: "sha256:secret".to_owned(),
        org_id: org_id.clone(),
        name: "CI robot".to_owned(),
        scopes: vec!["cjp:config_read".to_owned()],
        created_at: ts("2026-01-01T00:00:00Z"),
    };
    store.insert_client(&c).await.unwrap();
    assert_eq!(store.find_client("C0ffee").await.unwrap(), Some(c.clone()));
    assert_eq!(store.find_client("c0ffee").await.unwrap(), None);
    let dup = store.insert_client(&c).await;
    assert!(
        matches!(dup, Err(StoreError::AlreadyExists { .. })),
        "{dup:?}"
    );
});
