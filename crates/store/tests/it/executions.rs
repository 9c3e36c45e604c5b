//! Durable executions: checkpoints guarded by step, timers, traces, leases and claims.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use serde_json::value::RawValue;
use store::{
    Checkpoint, ClaimCursor, ExecutionFilter, ExecutionRecord, NewExecution, Records, StepTrace,
    StoreError, TimerRow, TracePage,
};

use crate::util::{flow, org, ts};

const LEASE: Duration = Duration::from_secs(30);

/// A new execution of `flow_id`, parked (`waiting`) at step 0 with no lease.
fn execution(org_id: &str, flow_id: &str, created_at: DateTime<Utc>) -> ExecutionRecord {
    ExecutionRecord {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: org_id.to_owned(),
        flow_id: flow_id.to_owned(),
        flow_version: Some(1),
        status: "waiting".to_owned(),
        state: json!({"node": "Queue", "vars": {"zeta": 1, "alpha": "é"}}),
        pending: json!([{"kind": "http", "node": "Lookup"}]),
        error: None,
        step: 0,
        created_at,
        updated_at: created_at,
        finished_at: None,
        lease_owner: None,
        lease_until: None,
    }
}

/// `value` as the serialized JSON a checkpoint carries.
fn raw(value: serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).unwrap()
}

fn checkpoint(expected_step: i64, status: &str, marker: i64) -> Checkpoint {
    Checkpoint {
        expected_step,
        status: status.to_owned(),
        state: raw(json!({"marker": marker})),
        pending: raw(json!([])),
        error: None,
        finished_at: None,
        timers: Vec::new(),
        trace: StepTrace::Row(node_record(marker)),
        at: ts("2026-03-01T10:00:05.000Z"),
    }
}

/// The one trace record the test checkpoints of `marker` append.
fn node_record(marker: i64) -> Records {
    Records::collect([json!({"node": format!("n{marker}")})])
}

/// A finished execution (`completed` at `finished_at`), with one trace record.
async fn finished(
    store: &store::Store,
    org_id: &str,
    finished_at: DateTime<Utc>,
) -> ExecutionRecord {
    let mut e = execution(org_id, "flow", finished_at);
    e.status = "completed".to_owned();
    e.finished_at = Some(finished_at);
    store
        .insert_execution(&e, &[], &[json!({"node": "End"})])
        .await
        .unwrap();
    e
}

fn ids(executions: &[ExecutionRecord]) -> Vec<&str> {
    executions.iter().map(|e| e.id.as_str()).collect()
}

store_test!(execution_round_trip, |store| async move {
    let org_id = org(&store).await;
    let other_org = org(&store).await;
    let mut e = execution(&org_id, "flow-1", ts("2026-03-01T10:00:00.123456Z"));
    e.lease_owner = Some("node-a".to_owned());
    e.lease_until = Some(ts("2026-03-01T10:00:30.5Z"));
    e.flow_version = None;
    let timers = [
        (2, ts("2026-03-01T10:05:00.000Z")),
        (1, ts("2026-03-01T10:01:00.999999Z")),
    ];
    let trace = [
        json!({"node": "Start", "port": "out"}),
        json!({"node": "Queue"}),
    ];
    store.insert_execution(&e, &timers, &trace).await.unwrap();

    let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
    assert_eq!(back.created_at, ts("2026-03-01T10:00:00.123Z"));
    assert_eq!(
        back.state.to_string(),
        e.state.to_string(),
        "key order kept"
    );
    let mut expected = e.clone();
    expected.created_at = back.created_at;
    expected.updated_at = back.created_at;
    assert_eq!(back, expected);
    assert_eq!(store.get_execution(&other_org, &e.id).await.unwrap(), None);

    assert_eq!(
        store.timers_of(&e.id).await.unwrap(),
        [
            TimerRow {
                execution_id: e.id.clone(),
                timer_id: 1,
                due: ts("2026-03-01T10:01:00.999Z"),
            },
            TimerRow {
                execution_id: e.id.clone(),
                timer_id: 2,
                due: ts("2026-03-01T10:05:00.000Z"),
            },
        ]
    );
    let back_trace = store.trace_of(&org_id, &e.id).await.unwrap();
    assert_eq!(back_trace.iter().map(|t| t.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(back_trace[0].record, trace[0]);
    assert_eq!(back_trace[1].record, trace[1]);
    assert!(back_trace.iter().all(|t| t.at == back.updated_at));
    assert!(store.trace_of(&other_org, &e.id).await.unwrap().is_empty());

    let dup = store.insert_execution(&e, &[], &[]).await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists { id }) if *id == e.id),
        "{dup:?}"
    );
    let orphan = store
        .insert_execution(&execution("no-such-org", "f", store::now()), &[], &[])
        .await;
    assert!(
        matches!(&orphan, Err(StoreError::UnknownOrg { org_id }) if org_id == "no-such-org"),
        "{orphan:?}"
    );
});

store_test!(
    list_executions_filters_orders_and_pages,
    |store| async move {
        let org_id = org(&store).await;
        let other_org = org(&store).await;
        let mut all = Vec::new();
        for (i, (flow_id, status)) in [
            ("a", "running"),
            ("b", "waiting"),
            ("a", "completed"),
            ("a", "waiting"),
            ("b", "failed"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = execution(&org_id, flow_id, ts("2026-03-01T10:00:00Z"));
            e.created_at += chrono::Duration::seconds(i as i64);
            e.status = status.to_owned();
            store.insert_execution(&e, &[], &[]).await.unwrap();
            all.push(e);
        }
        store
            .insert_execution(&execution(&other_org, "a", store::now()), &[], &[])
            .await
            .unwrap();
        let newest_first: Vec<&str> = all.iter().rev().map(|e| e.id.as_str()).collect();

        let (page, total) = store
            .list_executions(&org_id, &ExecutionFilter::default())
            .await
            .unwrap();
        assert_eq!(total, 5);
        assert_eq!(ids(&page), newest_first);

        let by_flow = ExecutionFilter {
            flow_id: Some("a".to_owned()),
            ..ExecutionFilter::default()
        };
        let (page, total) = store.list_executions(&org_id, &by_flow).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(ids(&page), [&all[3].id, &all[2].id, &all[0].id]);

        let waiting_a = ExecutionFilter {
            status: Some("waiting".to_owned()),
            ..by_flow.clone()
        };
        let (page, total) = store.list_executions(&org_id, &waiting_a).await.unwrap();
        assert_eq!((ids(&page), total), (vec![all[3].id.as_str()], 1));

        let paged = ExecutionFilter {
            offset: 1,
            limit: 2,
            ..ExecutionFilter::default()
        };
        let (page, total) = store.list_executions(&org_id, &paged).await.unwrap();
        assert_eq!(total, 5, "the total ignores paging");
        assert_eq!(ids(&page), newest_first[1..3]);

        let none = ExecutionFilter {
            status: Some("cancelled".to_owned()),
            ..ExecutionFilter::default()
        };
        assert_eq!(
            store.list_executions(&org_id, &none).await.unwrap(),
            (Vec::new(), 0)
        );
    }
);

store_test!(
    checkpoint_appends_trace_and_replaces_timers,
    |store| async move {
        let org_id = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store
            .insert_execution(
                &e,
                &[
                    (1, ts("2026-03-01T10:01:00Z")),
                    (2, ts("2026-03-01T10:02:00Z")),
                ],
                &[json!({"node": "Start"})],
            )
            .await
            .unwrap();

        let mut c = checkpoint(0, "waiting", 1);
        c.timers = vec![
            (2, ts("2026-03-01T10:02:00Z")),
            (3, ts("2026-03-01T10:03:00Z")),
        ];
        // Stored as written, whatever the JSON holds (SQLite passes them through json_each).
        let tricky = json!({"node": "A", "x": 1.5, "tiny": -2.5e-10, "big": u64::MAX,
            "s": "é\n\"q\" \u{1F600} \\", "nested": [{}, [], null, true]});
        c.trace = StepTrace::Row(Records::collect([&tricky, &json!({"node": "B"})]));
        let step = store
            .checkpoint_execution(&org_id, &e.id, &c)
            .await
            .unwrap();
        assert_eq!(step, 1);
        let saved = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        assert_eq!(saved.step, 1);
        assert_eq!(saved.state, json!({"marker": 1}));
        assert_eq!(saved.pending, json!([]));
        assert_eq!(saved.updated_at, c.at);
        assert_eq!(saved.created_at, e.created_at);
        assert_eq!(saved.status, "waiting");
        let timer_ids: Vec<i64> = store
            .timers_of(&e.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.timer_id)
            .collect();
        assert_eq!(timer_ids, [2, 3]);

        // The last step: finished, no timers left, an error recorded.
        let mut last = checkpoint(1, "failed", 2);
        last.error = Some("HTTP 500 at Lookup".to_owned());
        last.finished_at = Some(ts("2026-03-01T10:00:06Z"));
        last.trace = StepTrace::Row(Records::collect([
            json!({"node": "C", "error": "HTTP 500"}),
        ]));
        let step = store
            .checkpoint_execution(&org_id, &e.id, &last)
            .await
            .unwrap();
        assert_eq!(step, 2);
        let done = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        assert_eq!(done.step, 2);
        assert_eq!(done.status, "failed");
        assert_eq!(done.error.as_deref(), Some("HTTP 500 at Lookup"));
        assert_eq!(done.finished_at, last.finished_at);
        assert!(store.timers_of(&e.id).await.unwrap().is_empty());

        let trace = store.trace_of(&org_id, &e.id).await.unwrap();
        let seqs: Vec<i64> = trace.iter().map(|t| t.seq).collect();
        let nodes: Vec<&serde_json::Value> = trace.iter().map(|t| &t.record["node"]).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(trace[1].record, tricky);
        assert_eq!(
            nodes,
            [&json!("Start"), &json!("A"), &json!("B"), &json!("C")]
        );

        // A checkpoint without trace records appends nothing.
        let mut quiet = checkpoint(2, "failed", 3);
        quiet.trace = StepTrace::Row(Records::collect(std::iter::empty::<u8>()));
        store
            .checkpoint_execution(&org_id, &e.id, &quiet)
            .await
            .unwrap();
        assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap().len(), 4);

        // Many records in one step (more than one multi-row insert).
        let mut big = checkpoint(3, "failed", 4);
        big.trace = StepTrace::Row(Records::collect((0..1200).map(|i| json!({"i": i}))));
        big.timers = (0..1100)
            .map(|i| (i, ts("2026-03-02T00:00:00Z") + chrono::Duration::seconds(i)))
            .collect();
        store
            .checkpoint_execution(&org_id, &e.id, &big)
            .await
            .unwrap();
        let trace = store.trace_of(&org_id, &e.id).await.unwrap();
        assert_eq!(trace.len(), 1204);
        assert_eq!(trace[1203].seq, 1204);
        assert_eq!(trace[1203].record, json!({"i": 1199}));
        assert_eq!(store.timers_of(&e.id).await.unwrap().len(), 1100);

        // Back to a small set: one kept with a new due time, one new, the rest gone; the
        // numbering goes on after the big step.
        let mut small = checkpoint(4, "waiting", 5);
        small.timers = vec![
            (7, ts("2026-03-03T00:00:00Z")),
            (5000, ts("2026-03-04T00:00:00Z")),
        ];
        store
            .checkpoint_execution(&org_id, &e.id, &small)
            .await
            .unwrap();
        let timers: Vec<(i64, DateTime<Utc>)> = store
            .timers_of(&e.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.timer_id, t.due))
            .collect();
        assert_eq!(timers, small.timers);
        let trace = store.trace_of(&org_id, &e.id).await.unwrap();
        assert_eq!(trace.last().map(|t| t.seq), Some(1205));
    }
);

store_test!(
    a_dropped_checkpoint_is_written_in_full_or_not_at_all,
    |store| async move {
        // On PostgreSQL a checkpoint is one statement, with no transaction around it to be
        // left open (and a dropped statement may still finish later, unordered here).
        if store.backend() == store::Backend::Postgres {
            return;
        }
        let org_id = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store.insert_execution(&e, &[], &[]).await.unwrap();
        let mut c = checkpoint(0, "waiting", 1);
        c.timers = vec![(1, ts("2026-03-01T10:01:00Z"))];
        // Dropped mid-flight (or not even started).
        let write = store.checkpoint_execution(&org_id, &e.id, &c);
        let _ = tokio::time::timeout(Duration::from_micros(1), write).await;
        // The store still writes (no transaction left open), after the dropped one is done.
        let other = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store.insert_execution(&other, &[], &[]).await.unwrap();
        let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        let (timers, trace) = (
            store.timers_of(&e.id).await.unwrap().len(),
            store.trace_of(&org_id, &e.id).await.unwrap().len(),
        );
        match back.step {
            0 => assert_eq!((timers, trace), (0, 0)),
            _ => assert_eq!((back.step, timers, trace), (1, 1, 1)),
        }
        store
            .checkpoint_execution(&org_id, &e.id, &checkpoint(back.step, "waiting", 2))
            .await
            .unwrap();
    }
);

store_test!(
    trace_numbering_continues_after_retention,
    |store| async move {
        let org_id = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store
            .insert_execution(&e, &[], &[json!({"node": "Start"}), json!({"node": "A"})])
            .await
            .unwrap();
        let mut c = checkpoint(0, "completed", 1);
        c.finished_at = Some(ts("2026-03-01T10:00:01Z"));
        store
            .checkpoint_execution(&org_id, &e.id, &c)
            .await
            .unwrap();
        assert_eq!(
            store
                .prune_traces(ts("2026-03-02T00:00:00Z"))
                .await
                .unwrap(),
            3
        );
        // A later checkpoint (a finished task is not resumed; this checks the counter).
        store
            .checkpoint_execution(&org_id, &e.id, &checkpoint(1, "completed", 2))
            .await
            .unwrap();
        let seqs: Vec<i64> = store
            .trace_of(&org_id, &e.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.seq)
            .collect();
        assert_eq!(seqs, [4]);
    }
);

store_test!(batch_inserts_are_all_or_nothing, |store| async move {
    let org_id = org(&store).await;
    let now = ts("2026-03-01T10:00:00Z");
    let (a, b) = (
        execution(&org_id, "flow", now),
        execution(&org_id, "flow", now),
    );
    let timers = [(1, now)];
    let trace = [json!({"node": "Start"})];
    let new = |record| NewExecution {
        record,
        timers: &timers,
        trace: &trace,
    };
    store.insert_executions(&[new(&a), new(&b)]).await.unwrap();
    for e in [&a, &b] {
        assert!(store.get_execution(&org_id, &e.id).await.unwrap().is_some());
        assert_eq!(store.timers_of(&e.id).await.unwrap().len(), 1);
        assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap().len(), 1);
    }
    // The second row repeats an id: neither is written.
    let c = execution(&org_id, "flow", now);
    let result = store.insert_executions(&[new(&c), new(&a)]).await;
    assert!(
        matches!(&result, Err(StoreError::AlreadyExists { id }) if *id == a.id),
        "{result:?}"
    );
    assert_eq!(store.get_execution(&org_id, &c.id).await.unwrap(), None);
    // Later checkpoints number the trace from the inserted records on.
    store
        .checkpoint_execution(&org_id, &a.id, &checkpoint(0, "waiting", 1))
        .await
        .unwrap();
    let seqs: Vec<i64> = store
        .trace_of(&org_id, &a.id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.seq)
        .collect();
    assert_eq!(seqs, [1, 2]);
});

store_test!(
    claims_to_resume_return_the_stored_json_text,
    |store| async move {
        let org_id = org(&store).await;
        let now = ts("2026-03-01T12:00:00Z");
        let mut expected = Vec::new();
        for i in 0..5 {
            let e = execution(&org_id, "flow", now + chrono::Duration::seconds(i));
            store.insert_execution(&e, &[], &[]).await.unwrap();
            expected.push(e);
        }
        let mut done = execution(&org_id, "flow", now);
        done.status = "completed".to_owned();
        store.insert_execution(&done, &[], &[]).await.unwrap();

        let start = ClaimCursor::default();
        let (mut claimed, cursor) = store
            .claim_executions_to_resume("node-a", LEASE, now, 3, &start)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 3);
        let (rest, end) = store
            .claim_executions_to_resume("node-a", LEASE, now, 10, &cursor)
            .await
            .unwrap();
        claimed.extend(rest);
        // Nothing is left after the cursor, nor from the start.
        for from in [&end, &start] {
            let (none, _) = store
                .claim_executions_to_resume("node-b", LEASE, now, 10, from)
                .await
                .unwrap();
            assert!(none.is_empty());
        }
        claimed.sort_by_key(|c| c.created_at);
        assert_eq!(claimed.len(), expected.len());
        for (c, e) in claimed.iter().zip(&expected) {
            assert_eq!(c.id, e.id);
            assert_eq!((&c.org_id, &c.flow_id), (&e.org_id, &e.flow_id));
            assert_eq!((c.flow_version, c.step), (e.flow_version, e.step));
            // The text as stored: key order kept.
            assert_eq!(c.state, e.state.to_string());
            assert_eq!(c.pending, e.pending.to_string());
            let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
            assert_eq!(back.lease_owner.as_deref(), Some("node-a"));
        }
    }
);

store_test!(
    stale_checkpoint_conflicts_and_changes_nothing,
    |store| async move {
        let org_id = org(&store).await;
        let other_org = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store
            .insert_execution(&e, &[(1, ts("2026-03-01T10:01:00Z"))], &[json!({"n": 0})])
            .await
            .unwrap();
        store
            .checkpoint_execution(&org_id, &e.id, &checkpoint(0, "waiting", 1))
            .await
            .unwrap();
        let first = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        let timers = store.timers_of(&e.id).await.unwrap();
        let trace = store.trace_of(&org_id, &e.id).await.unwrap();

        let mut stale = checkpoint(0, "completed", 2);
        stale.timers = vec![(9, ts("2026-03-01T11:00:00Z"))];
        let result = store.checkpoint_execution(&org_id, &e.id, &stale).await;
        assert!(
            matches!(result, Err(StoreError::VersionConflict { current: 1 })),
            "{result:?}"
        );
        assert!(!result.unwrap_err().is_internal());
        assert_eq!(
            store.get_execution(&org_id, &e.id).await.unwrap(),
            Some(first)
        );
        assert_eq!(store.timers_of(&e.id).await.unwrap(), timers);
        assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap(), trace);

        for (org, id) in [(&other_org, e.id.as_str()), (&org_id, "no-such-execution")] {
            let missing = store
                .checkpoint_execution(org, id, &checkpoint(1, "waiting", 3))
                .await;
            assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        }
    }
);

store_test!(
    concurrent_checkpoints_with_one_expected_step_have_one_winner,
    |store| async move {
        let org_id = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store.insert_execution(&e, &[], &[]).await.unwrap();

        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (store, org_id, id) = (store.clone(), org_id.clone(), e.id.clone());
                tokio::spawn(async move {
                    let mut c = checkpoint(0, "waiting", i);
                    c.timers = vec![(i, ts("2026-03-01T10:01:00Z"))];
                    (i, store.checkpoint_execution(&org_id, &id, &c).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (i, Ok(step)) => winners.push((i, step)),
                (_, Err(StoreError::VersionConflict { current: 1 })) => {}
                (_, Err(e)) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one checkpoint wins");
        let (i, step) = &winners[0];
        assert_eq!(*step, 1);
        let now = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        assert_eq!(now.state, json!({"marker": i}));
        let timer_ids: Vec<i64> = store
            .timers_of(&e.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.timer_id)
            .collect();
        assert_eq!(timer_ids, [*i]);
        let trace = store.trace_of(&org_id, &e.id).await.unwrap();
        assert_eq!(trace.len(), 1, "only the winner's trace");
        assert_eq!(trace[0].record, json!({"node": format!("n{i}")}));
    }
);

store_test!(
    concurrent_claimers_take_each_unfinished_execution_once,
    |store| async move {
        let org_a = org(&store).await;
        let org_b = org(&store).await;
        let now = ts("2026-03-01T12:00:00Z");
        let mut unfinished = BTreeSet::new();
        for i in 0..60 {
            let org_id = if i % 2 == 0 { &org_a } else { &org_b };
            let mut e = execution(org_id, "flow", now);
            e.status = if i % 3 == 0 { "running" } else { "waiting" }.to_owned();
            store.insert_execution(&e, &[], &[]).await.unwrap();
            unfinished.insert(e.id);
        }
        let mut finished_ids = BTreeSet::new();
        for status in ["completed", "failed", "cancelled"] {
            let mut e = execution(&org_a, "flow", now);
            e.status = status.to_owned();
            e.finished_at = Some(now);
            store.insert_execution(&e, &[], &[]).await.unwrap();
            finished_ids.insert(e.id);
        }
        // Held by a live lease elsewhere: not claimable.
        let mut held = execution(&org_b, "flow", now);
        held.lease_owner = Some("node-c".to_owned());
        held.lease_until = Some(now + chrono::Duration::seconds(10));
        store.insert_execution(&held, &[], &[]).await.unwrap();

        let claimers: Vec<_> = ["node-a", "node-b"]
            .into_iter()
            .map(|owner| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut claimed = Vec::new();
                    loop {
                        let batch = store
                            .claim_unfinished_executions(owner, LEASE, now, 7)
                            .await
                            .unwrap();
                        if batch.is_empty() {
                            return claimed;
                        }
                        assert!(batch.len() <= 7);
                        for e in batch {
                            assert_eq!(e.lease_owner.as_deref(), Some(owner));
                            assert_eq!(e.lease_until, Some(now + chrono::Duration::seconds(30)));
                            claimed.push(e.id);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for claimer in claimers {
            let claimed = claimer.await.unwrap();
            total += claimed.len();
            seen.extend(claimed);
        }
        assert_eq!(total, unfinished.len(), "nothing claimed twice");
        assert_eq!(seen, unfinished, "every unfinished execution claimed");
        assert!(seen.is_disjoint(&finished_ids));

        // Everything is leased now.
        let again = store
            .claim_unfinished_executions("node-d", LEASE, now, 100)
            .await
            .unwrap();
        assert!(again.is_empty(), "{:?}", ids(&again));
        assert!(store
            .claim_unfinished_executions("node-d", LEASE, now, 0)
            .await
            .unwrap()
            .is_empty());
    }
);

store_test!(leases_expire_renew_and_release, |store| async move {
    let org_id = org(&store).await;
    let now = ts("2026-03-01T12:00:00Z");
    let e = execution(&org_id, "flow", now);
    store.insert_execution(&e, &[], &[]).await.unwrap();
    let later = |secs: i64| now + chrono::Duration::seconds(secs);

    let claimed = store
        .claim_unfinished_executions("node-a", Duration::from_secs(10), now, 10)
        .await
        .unwrap();
    assert_eq!(ids(&claimed), [e.id.as_str()]);
    assert_eq!(claimed[0].lease_until, Some(later(10)));

    // Still held a moment before it runs out.
    assert!(store
        .claim_unfinished_executions("node-b", LEASE, later(9), 10)
        .await
        .unwrap()
        .is_empty());
    // Renewed by its owner, and only by its owner.
    assert!(store.renew_lease(&e.id, "node-a", later(20)).await.unwrap());
    assert!(!store.renew_lease(&e.id, "node-b", later(60)).await.unwrap());
    assert!(!store
        .renew_lease("no-such", "node-a", later(60))
        .await
        .unwrap());
    assert!(store
        .claim_unfinished_executions("node-b", LEASE, later(19), 10)
        .await
        .unwrap()
        .is_empty());

    // Expired: claimable again, and the old owner has lost it.
    let taken = store
        .claim_unfinished_executions("node-b", LEASE, later(20), 10)
        .await
        .unwrap();
    assert_eq!(ids(&taken), [e.id.as_str()]);
    assert_eq!(taken[0].lease_owner.as_deref(), Some("node-b"));
    assert_eq!(taken[0].lease_until, Some(later(50)));
    assert!(!store.renew_lease(&e.id, "node-a", later(80)).await.unwrap());

    // Releasing by someone else does nothing; by the owner frees it at once.
    store.release_lease(&e.id, "node-a").await.unwrap();
    let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
    assert_eq!(back.lease_owner.as_deref(), Some("node-b"));
    store.release_lease(&e.id, "node-b").await.unwrap();
    let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
    assert_eq!((back.lease_owner, back.lease_until), (None, None));
    let retaken = store
        .claim_unfinished_executions("node-c", LEASE, later(21), 10)
        .await
        .unwrap();
    assert_eq!(ids(&retaken), [e.id.as_str()]);

    // Checkpoints leave the lease alone.
    store
        .checkpoint_execution(&org_id, &e.id, &checkpoint(0, "waiting", 1))
        .await
        .unwrap();
    let saved = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
    assert_eq!(saved.lease_owner.as_deref(), Some("node-c"));
    assert_eq!(saved.lease_until, Some(later(51)));

    // The heartbeat renews every unfinished execution the owner holds, and nothing else.
    let second = execution(&org_id, "flow", now);
    store.insert_execution(&second, &[], &[]).await.unwrap();
    let mut done = execution(&org_id, "flow", now);
    done.status = "completed".to_owned();
    done.lease_owner = Some("node-c".to_owned());
    done.lease_until = Some(later(5));
    store.insert_execution(&done, &[], &[]).await.unwrap();
    store
        .claim_unfinished_executions("node-c", LEASE, later(22), 10)
        .await
        .unwrap();
    // Only leases running out before the given time are touched.
    assert_eq!(
        store
            .renew_leases_running_out("node-c", later(100), later(52))
            .await
            .unwrap(),
        1,
        "the lease until 51 s, not the one until 52 s"
    );
    assert_eq!(store.renew_leases("node-c", later(100)).await.unwrap(), 2);
    for (id, until) in [
        (&e.id, later(100)),
        (&second.id, later(100)),
        (&done.id, later(5)),
    ] {
        let back = store.get_execution(&org_id, id).await.unwrap().unwrap();
        assert_eq!(back.lease_until, Some(until));
    }
    assert_eq!(store.renew_leases("node-z", later(100)).await.unwrap(), 0);
});

store_test!(
    prune_traces_removes_only_finished_before_the_cutoff,
    |store| async move {
        let org_id = org(&store).await;
        let cutoff = ts("2026-03-01T00:00:00Z");
        let old = finished(&store, &org_id, cutoff - chrono::Duration::days(1)).await;
        let mut old_trace = checkpoint(0, "completed", 1);
        old_trace.finished_at = old.finished_at;
        store
            .checkpoint_execution(&org_id, &old.id, &old_trace)
            .await
            .unwrap();
        let at_cutoff = finished(&store, &org_id, cutoff).await;
        let recent = finished(&store, &org_id, cutoff + chrono::Duration::hours(1)).await;
        let mut running = execution(&org_id, "flow", cutoff - chrono::Duration::days(2));
        running.status = "waiting".to_owned();
        store
            .insert_execution(&running, &[], &[json!({"node": "Start"})])
            .await
            .unwrap();

        assert_eq!(store.prune_traces(cutoff).await.unwrap(), 2);
        assert!(store.trace_of(&org_id, &old.id).await.unwrap().is_empty());
        for kept in [&at_cutoff, &recent, &running] {
            assert_eq!(store.trace_of(&org_id, &kept.id).await.unwrap().len(), 1);
        }
        assert!(
            store
                .get_execution(&org_id, &old.id)
                .await
                .unwrap()
                .is_some(),
            "the execution itself stays"
        );
        assert_eq!(store.prune_traces(cutoff).await.unwrap(), 0);
    }
);

/// A checkpoint deferring its trace: `tail` the pages the row keeps, the last holding
/// `marker`'s one record (numbered `seq`).
fn deferred(expected_step: i64, marker: i64, seq: i64, earlier: &[TracePage]) -> Checkpoint {
    let mut c = checkpoint(expected_step, "waiting", marker);
    let mut tail = earlier.to_vec();
    tail.push(TracePage::new(seq, c.at, node_record(marker)));
    c.trace = StepTrace::Deferred { tail, records: 1 };
    c
}

/// The tail pages of a deferred checkpoint.
fn tail_of(c: &Checkpoint) -> Vec<TracePage> {
    match &c.trace {
        StepTrace::Deferred { tail, .. } => tail.clone(),
        StepTrace::Row(_) => panic!("not deferred"),
    }
}

/// Writes `c` to execution `id`, then reads its trace as (seq, node) pairs.
async fn write_and_read(
    store: &store::Store,
    org_id: &str,
    id: &str,
    c: &Checkpoint,
) -> Vec<(i64, String)> {
    store.checkpoint_execution(org_id, id, c).await.unwrap();
    read(store, org_id, id).await
}

/// The trace of execution `id` as (seq, node) pairs.
async fn read(store: &store::Store, org_id: &str, id: &str) -> Vec<(i64, String)> {
    seqs_and_nodes(&store.trace_of(org_id, id).await.unwrap())
}

fn seqs_and_nodes(trace: &[store::TraceRow]) -> Vec<(i64, String)> {
    trace
        .iter()
        .map(|t| (t.seq, t.record["node"].as_str().unwrap_or("?").to_owned()))
        .collect()
}

store_test!(
    deferred_trace_pages_are_read_from_the_tail_until_moved_and_once_after,
    |store| async move {
        let org_id = org(&store).await;
        let e = execution(&org_id, "flow", ts("2026-03-01T10:00:00Z"));
        store
            .insert_execution(&e, &[], &[json!({"node": "Start"})])
            .await
            .unwrap();
        let expected = |n: i64| -> Vec<(i64, String)> {
            (1..=n)
                .map(|i| {
                    (
                        i,
                        if i == 1 {
                            "Start".to_owned()
                        } else {
                            format!("n{i}")
                        },
                    )
                })
                .collect()
        };

        // Step 1 keeps its page (record 2) in the row only.
        let one = deferred(0, 2, 2, &[]);
        assert_eq!(
            write_and_read(&store, &org_id, &e.id, &one).await,
            expected(2)
        );
        let page2 = tail_of(&one).pop().unwrap();

        // Step 2: page 2 not yet moved, so the tail holds both.
        let two = deferred(1, 3, 3, std::slice::from_ref(&page2));
        assert_eq!(
            write_and_read(&store, &org_id, &e.id, &two).await,
            expected(3)
        );
        let page3 = tail_of(&two).pop().unwrap();

        // Page 2 moved (twice: harmless), while the tail still has it: read once.
        store
            .append_trace_pages(&[(&e.id, &page2)], &[])
            .await
            .unwrap();
        store
            .append_trace_pages(&[(&e.id, &page2)], &[])
            .await
            .unwrap();
        assert_eq!(read(&store, &org_id, &e.id).await, expected(3));

        // Step 3 writes a tail without page 2; a page of an unknown execution is skipped.
        let three = deferred(2, 4, 4, std::slice::from_ref(&page3));
        store
            .checkpoint_execution(&org_id, &e.id, &three)
            .await
            .unwrap();
        store
            .append_trace_pages(&[("no-such-execution", &page3)], &[])
            .await
            .unwrap();
        assert_eq!(read(&store, &org_id, &e.id).await, expected(4));

        // Taken over: the stored tail (pages 3 and 4) moves into the table.
        assert_eq!(store.move_trace_tail(&e.id).await.unwrap(), 2);
        let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
        assert_eq!(back.step, 3);

        // The last step, its tail cleared once its pages are moved.
        let mut last = deferred(3, 5, 5, &[]);
        last.status = "completed".to_owned();
        last.finished_at = Some(ts("2026-03-01T10:00:09Z"));
        store
            .checkpoint_execution(&org_id, &e.id, &last)
            .await
            .unwrap();
        let page5 = tail_of(&last).pop().unwrap();
        store
            .append_trace_pages(&[(&e.id, &page5)], &[&e.id])
            .await
            .unwrap();
        let trace = store.trace_of(&org_id, &e.id).await.unwrap();
        assert_eq!(seqs_and_nodes(&trace), expected(5));
        assert_eq!(
            store.move_trace_tail(&e.id).await.unwrap(),
            0,
            "tail cleared"
        );
        assert_eq!(trace[4].at, ts("2026-03-01T10:00:05Z"));

        // A stale checkpoint writes no tail.
        assert!(matches!(
            store
                .checkpoint_execution(&org_id, &e.id, &deferred(3, 9, 9, &[]))
                .await,
            Err(StoreError::VersionConflict { .. })
        ));
        assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap().len(), 5);
    }
);

store_test!(
    prune_traces_counts_and_clears_pages_still_in_tails,
    |store| async move {
        let org_id = org(&store).await;
        let cutoff = ts("2026-03-01T00:00:00Z");
        let e = execution(&org_id, "flow", cutoff - chrono::Duration::days(2));
        store.insert_execution(&e, &[], &[]).await.unwrap();
        let one = deferred(0, 1, 1, &[]);
        store
            .checkpoint_execution(&org_id, &e.id, &one)
            .await
            .unwrap();
        let mut last = deferred(1, 2, 2, &tail_of(&one));
        last.status = "completed".to_owned();
        last.finished_at = Some(cutoff - chrono::Duration::days(1));
        store
            .checkpoint_execution(&org_id, &e.id, &last)
            .await
            .unwrap();
        assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap().len(), 2);

        assert_eq!(store.prune_traces(cutoff).await.unwrap(), 2);
        assert!(store.trace_of(&org_id, &e.id).await.unwrap().is_empty());
        assert_eq!(store.prune_traces(cutoff).await.unwrap(), 0);
    }
);

store_test!(deleting_a_flow_keeps_its_executions, |store| async move {
    let org_id = org(&store).await;
    let f = flow(&org_id, "Main IVR");
    store.insert_flow(&f).await.unwrap();
    let e = execution(&org_id, &f.id, ts("2026-03-01T10:00:00Z"));
    store
        .insert_execution(&e, &[(1, ts("2026-03-01T10:01:00Z"))], &[json!({})])
        .await
        .unwrap();
    assert!(store.delete_flow(&org_id, &f.id).await.unwrap());
    let back = store.get_execution(&org_id, &e.id).await.unwrap().unwrap();
    assert_eq!(back.flow_id, f.id);
    assert_eq!(store.timers_of(&e.id).await.unwrap().len(), 1);
    assert_eq!(store.trace_of(&org_id, &e.id).await.unwrap().len(), 1);
});

store_test!(
    a_thousand_executions_insert_and_claim_quickly,
    |store| async move {
        let org_id = org(&store).await;
        let now = ts("2026-03-01T12:00:00Z");
        let started = Instant::now();
        let inserters: Vec<_> = (0..4)
            .map(|_| {
                let (store, org_id) = (store.clone(), org_id.clone());
                tokio::spawn(async move {
                    for _ in 0..250 {
                        let e = execution(&org_id, "flow", now);
                        store
                            .insert_execution(
                                &e,
                                &[(1, now + chrono::Duration::minutes(5))],
                                &[json!({"node": "Start"}), json!({"node": "Queue"})],
                            )
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for inserter in inserters {
            inserter.await.unwrap();
        }
        let inserted = started.elapsed();

        let mut claimed = 0;
        loop {
            let batch = store
                .claim_unfinished_executions("node-a", LEASE, now, 400)
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            claimed += batch.len();
        }
        let total = started.elapsed();
        eprintln!(
            "{:?}: 1,000 inserts in {inserted:?}, claimed in {:?}",
            store.backend(),
            total - inserted
        );
        assert_eq!(claimed, 1000);
        assert!(total < Duration::from_secs(10), "took {total:?}");
    }
);

/// A new parked execution in a new org of `store`: (org id, execution id).
async fn parked(store: &store::Store) -> (String, String) {
    let org_id = org(store).await;
    let e = execution(&org_id, "flow", store::now());
    store.insert_execution(&e, &[], &[]).await.unwrap();
    (org_id, e.id)
}

store_test!(
    checkpoints_beyond_the_connections_at_hand_all_land,
    |store| async move {
        // More concurrent checkpoints than an isolated PostgreSQL store's checkpoint
        // connections (2) and pool (3) together: the rest use the pool, waiting their turn.
        let mut executions = Vec::new();
        for _ in 0..16 {
            executions.push(parked(&store).await);
        }
        for round in 0..3 {
            let mut steps = tokio::task::JoinSet::new();
            for (org_id, id) in executions.clone() {
                let store = store.clone();
                steps.spawn(async move {
                    store
                        .checkpoint_execution(&org_id, &id, &checkpoint(round, "waiting", round))
                        .await
                });
            }
            while let Some(step) = steps.join_next().await {
                assert_eq!(step.unwrap().unwrap(), round + 1);
            }
        }
        for (org_id, id) in &executions {
            let e = store.get_execution(org_id, id).await.unwrap().unwrap();
            assert_eq!((e.step, e.state), (3, json!({"marker": 2})));
        }
    }
);

store_test!(
    a_checkpoint_dropped_midway_leaves_the_store_usable,
    |store| async move {
        let (org_id, id) = parked(&store).await;
        for _ in 0..5 {
            let step = store
                .get_execution(&org_id, &id)
                .await
                .unwrap()
                .unwrap()
                .step;
            let c = checkpoint(step, "waiting", step);
            // Polled once (the statement may be sent), then dropped: the connection that
            // carried it is never reused in an unknown state.
            tokio::select! {
                biased;
                _ = store.checkpoint_execution(&org_id, &id, &c) => {}
                _ = std::future::ready(()) => {}
            }
        }
        // Whatever the dropped ones did, each was all or nothing. One may still be running on
        // the server (a dropped client does not stop a sent statement): then the next
        // checkpoint meets a newer step, is refused, and lands with that step.
        let mut step = store
            .get_execution(&org_id, &id)
            .await
            .unwrap()
            .unwrap()
            .step;
        for _ in 0..10 {
            let e = store.get_execution(&org_id, &id).await.unwrap().unwrap();
            assert!(e.step <= 5, "{}", e.step);
            if e.step > 0 {
                assert_eq!(e.state, json!({"marker": e.step - 1}));
            }
            match store
                .checkpoint_execution(&org_id, &id, &checkpoint(step, "waiting", 99))
                .await
            {
                Ok(next) => {
                    assert_eq!(next, step + 1);
                    return;
                }
                Err(StoreError::VersionConflict { current }) => step = current,
                Err(e) => panic!("{e:?}"),
            }
        }
        panic!("no checkpoint landed");
    }
);

/// PostgreSQL terminates every connection of the store (a server restart, an administrator):
/// a checkpoint on a connection found dead fails (an internal error, nothing written), and
/// the next one gets a new connection and lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_checkpoints_outlive_their_connections() {
    let Some(store) = crate::util::postgres_store().await else {
        return;
    };
    let (org_id, id) = parked(&store).await;
    assert_eq!(
        store
            .checkpoint_execution(&org_id, &id, &checkpoint(0, "waiting", 0))
            .await
            .unwrap(),
        1
    );
    let url = std::env::var(crate::util::DATABASE_URL_ENV).unwrap();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let name = store.isolated_schema().unwrap().to_owned();
    let count = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1";
    let open: i64 = sqlx::query_scalar(count)
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(open >= 1, "the store's connections carry its name");
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&name)
    .execute(&mut admin)
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 = sqlx::query_scalar(count)
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} connections outlived termination"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut step = 1;
    let mut failures = 0;
    for marker in 1..=3 {
        loop {
            match store
                .checkpoint_execution(&org_id, &id, &checkpoint(step, "waiting", marker))
                .await
            {
                Ok(next) => {
                    step = next;
                    break;
                }
                Err(e) => {
                    assert!(e.is_internal(), "{e:?}");
                    failures += 1;
                    assert!(failures <= 1, "a dead connection was reused");
                }
            }
        }
    }
    assert_eq!(step, 4);
    // Read on the side: the pool's own connections are dead too, and each fails once.
    let (stored, state): (i64, String) = sqlx::query_as(&format!(
        "SELECT step, state FROM \"{name}\".executions WHERE id = $1"
    ))
    .bind(&id)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!((stored, state.as_str()), (4, r#"{"marker":3}"#));
    store.close().await;
}
