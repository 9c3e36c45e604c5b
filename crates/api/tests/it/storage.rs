//! Concurrency through the API: optimistic locking holds under racing clients, on both
//! backends; concurrent imports of one name create one flow; publishing numbers without gaps.

use std::collections::BTreeMap;

use serde_json::json;

use crate::util::{basic_flow, basic_flow_named, send};

const RACERS: usize = 20;

api_test!(
    concurrent_saves_with_one_expected_version_one_wins,
    |app| async move {
        let id = app.import(&basic_flow()).await;
        let path = app.v2(&format!("flows/{id}?expectedVersion=0"));
        let saves = (0..RACERS).map(|i| {
            let mut doc = basic_flow();
            doc["description"] = json!(format!("writer {i}"));
            send(app.request(reqwest::Method::POST, &path).json(&doc))
        });
        let results = futures_join_all(saves).await;
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for r in &results {
            *by_status.entry(r.status.as_u16()).or_default() += 1;
        }
        assert_eq!(
            by_status,
            BTreeMap::from([(200, 1), (409, RACERS - 1)]),
            "exactly one save wins"
        );
        let winner = results.iter().find(|r| r.status.as_u16() == 200).unwrap();
        let got = app.get(&app.v2(&format!("flows/{id}"))).await;
        let got = got.expect(200);
        assert_eq!(got["version"], 1);
        assert_eq!(got["description"], winner.json["flow"]["description"]);
    }
);

api_test!(
    concurrent_imports_of_one_name_create_one_flow,
    |app| async move {
        let path = app.v2("flows:import?overwrite=false&flowType=FLOW");
        let imports = (0..10).map(|_| {
            send(
                app.request(reqwest::Method::POST, &path)
                    .json(&basic_flow()),
            )
        });
        let results = futures_join_all(imports).await;
        let created = results.iter().filter(|r| r.status.as_u16() == 201).count();
        let conflicts = results.iter().filter(|r| r.status.as_u16() == 409).count();
        assert_eq!(
            (created, conflicts),
            (1, 9),
            "{:?}",
            results.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let list = app.get(&app.v2("flows")).await;
        assert_eq!(list.expect(200)["totalRecords"], 1);
    }
);

api_test!(concurrent_publishes_number_without_gaps, |app| async move {
    let id = app.import(&basic_flow_named("Published")).await;
    let path = app.v2(&format!("flows/{id}:publish"));
    let publishes = (0..8).map(|_| {
        send(
            app.request(reqwest::Method::POST, &path)
                .json(&json!({"tags": ["Live"]})),
        )
    });
    let results = futures_join_all(publishes).await;
    let mut numbers: Vec<i64> = results
        .iter()
        .map(|r| {
            r.expect(200)["publishedVersion"]["version"]
                .as_i64()
                .unwrap()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    let versions = app.get(&app.v2(&format!("flows/{id}/versions"))).await;
    let versions = versions.expect(200);
    assert_eq!(versions[0]["version"], 8);
    assert_eq!(versions[0]["tags"], json!(["Latest", "Live"]));
});

/// Runs the futures concurrently (spawned, so they truly race) and collects their results.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
