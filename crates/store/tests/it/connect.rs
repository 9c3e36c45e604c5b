//! Connecting: URLs, migrations, reopening, in-memory databases.

use store::{Backend, Store, StoreError};

use crate::util::{flow, org};

store_test!(migrations_are_idempotent, |store| async move {
    let org_id = org(&store).await;
    store.insert_flow(&flow(&org_id, "kept")).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store
        .find_flow_by_name(&org_id, "kept")
        .await
        .unwrap()
        .is_some());
    store.ping().await.unwrap();
});

#[tokio::test]
async fn reopening_a_sqlite_file_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    // The directory does not exist yet: connect creates it.
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/nested/switchboard.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let org_id = org(&store).await;
    let f = flow(&org_id, "persisted");
    store.insert_flow(&f).await.unwrap();
    store.close().await;

    let reopened = Store::connect(&url).await.unwrap();
    assert_eq!(reopened.get_flow(&org_id, &f.id).await.unwrap(), Some(f));
    // Both handles open at once (another process, say) also works.
    let second = Store::connect(&url).await.unwrap();
    second.ping().await.unwrap();
    second.close().await;
    reopened.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_is_one_database() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let org_id = org(&store).await;
    let f = flow(&org_id, "ephemeral");
    store.insert_flow(&f).await.unwrap();
    // Reads and writes see the same database.
    assert_eq!(store.get_flow(&org_id, &f.id).await.unwrap(), Some(f));
    let other = Store::connect("sqlite::memory:").await.unwrap();
    assert!(
        other.list_orgs().await.unwrap().is_empty(),
        "each in-memory store is its own"
    );
}

#[tokio::test]
async fn unsupported_urls_are_rejected() {
    for url in ["mysql://localhost/x", "", "file.db"] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{url}: {err:?}");
        assert!(err.is_internal());
    }
}

#[tokio::test]
async fn postgres_backend_and_isolation() {
    let Some(a) = crate::util::postgres_store().await else {
        return;
    };
    let Some(b) = crate::util::postgres_store().await else {
        return;
    };
    assert_eq!(a.backend(), Backend::Postgres);
    org(&a).await;
    assert_eq!(a.list_orgs().await.unwrap().len(), 1);
    assert!(
        b.list_orgs().await.unwrap().is_empty(),
        "isolated schemas share no rows"
    );
    a.close().await;
    b.close().await;
}
