//! Import jobs: batches written whole or not at all, fenced by the worker's lease; attempts
//! without progress counted; the job's steps through the services.

use std::io::Cursor;
use std::time::Duration;

use clientele_core::App;
use clientele_core::accounts::auth::Actor;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::audit::entry::AuditAction;
use clientele_core::audit::store::AuditQuery;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::{CustomerQuery, CustomerWrite};
use clientele_core::ids::ImportJobId;
use clientele_core::imports::job::{BatchEnd, Claim, ImportJob, ImportLease, ImportMode, ImportStatus, NewImport};
use clientele_core::imports::reader::{LineReader, sniff};
use clientele_core::imports::store::ImportBatch;
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use uuid::Uuid;

use crate::fixtures::{audited, customer, tenant};

/// A queued job of `tenant` holding `file`, made through the services.
async fn queued(app: &App, tenant: &Tenant, file: &str) -> ImportJob {
    let actor = Actor::command_line(tenant.id);
    let mut job = app.begin_import(&actor, NewImport::default()).await.unwrap();
    app.add_import_chunk(&job, 0, file.as_bytes()).await.unwrap();
    app.finish_import_upload(&mut job, file.len() as i64).await.unwrap();
    job
}

/// A lease of a new worker that has already run out, so that any claim after it may take over.
fn lapsed() -> ImportLease {
    ImportLease { worker: Uuid::new_v4(), until: Timestamp::now() }
}

/// Claims job `job` for `lease`'s worker as if `ahead` from now (when earlier leases ran out).
async fn claim(store: &dyn Store, job: &ImportJob, lease: &ImportLease, ahead: Duration) -> ImportJob {
    let now = Timestamp::now().add(ahead);
    store.claim_import_job(lease, now, Some((job.tenant_id, job.id))).await.unwrap().expect("the job is claimable")
}

/// A batch of `job` that creates `created` and moves the job on by their number of rows.
fn batch(job: &ImportJob, lease: ImportLease, created: &[Customer]) -> ImportBatch {
    let mut progressed = job.clone();
    progressed.rows_read += created.len() as i64;
    progressed.created += created.len() as i64;
    progressed.next_row += created.len() as i64;
    ImportBatch {
        job: progressed,
        lease,
        created: created.iter().map(|c| (c.clone(), audited(c, AuditAction::CustomerCreated))).collect(),
        updated: Vec::new(),
        recorded: CustomerWrite::default(),
        errors: Vec::new(),
        hold_open: Duration::ZERO,
    }
}

async fn customer_count(store: &dyn Store, tenant: &Tenant) -> usize {
    let query = CustomerQuery::all(clientele_core::accounts::access::CustomerScope::All, 200);
    store.list_customers(tenant.id, &query).await.unwrap().len()
}

async fn audit_count(store: &dyn Store, tenant: &Tenant) -> usize {
    store.list_audit(tenant.id, &AuditQuery { limit: 500, ..AuditQuery::default() }).await.unwrap().len()
}

app_conformance! {
    async fn an_import_stops_at_its_next_batch_once_its_creator_is_disabled_or_no_longer_an_admin(app: &App) {
        use clientele_core::accounts::auth::Origin;
        use clientele_core::accounts::services::{NewUser, TokenSubject};
        use clientele_core::accounts::user::Role;
        let store = app.store();
        let t = tenant(store, "T").await;
        let file: String = std::iter::once("first_name,last_name\n".to_owned())
            .chain((0..6).map(|i| format!("Anna,Rossi{i}\n")))
            .collect();
        let format = sniff(file.as_bytes()).unwrap();
        for (case, stop) in ["disabled", "demoted"].into_iter().enumerate() {
            let email = format!("admin{case}@example.com");
            let new = NewUser { tenant_id: t.id, email: email.clone(), role: "admin".into(), password: "correct horse battery".into(), partner_id: None };
            let user = app.create_user(new).await.unwrap();
            let token = app.issue_token(&TokenSubject::User(t.id, email.clone()), Duration::from_secs(600)).await.unwrap();
            let actor = app.authenticate(&token.access_token, Origin::default()).await.unwrap();
            let mut job = app.begin_import(&actor, NewImport::default()).await.unwrap();
            app.add_import_chunk(&job, 0, file.as_bytes()).await.unwrap();
            app.finish_import_upload(&mut job, file.len() as i64).await.unwrap();
            let worker = Uuid::new_v4();
            let Claim::Run(claimed) = app.claim_import(worker, Some((t.id, job.id))).await.unwrap() else {
                panic!("the job is claimable");
            };
            let mut reader = LineReader::open(Cursor::new(file.clone().into_bytes()), format).unwrap();
            let headers = reader.headers().to_vec();
            let mut run = app.start_import_run(claimed, worker, format, headers).await.unwrap().unwrap();
            assert_eq!(app.import_lines(&mut run, reader.next_lines(3)).await.unwrap(), BatchEnd::Committed);
            let before = customer_count(store, &t).await;
            match stop {
                "disabled" => app.set_user_disabled(t.id, user.id, true).await.unwrap(),
                _ => assert!(store.set_user_role(t.id, user.id, Role::Operator).await.unwrap()),
            }
            assert_eq!(app.import_lines(&mut run, reader.next_lines(3)).await.unwrap(), BatchEnd::Stopped, "{stop}");
            assert_eq!(customer_count(store, &t).await, before, "{stop}: nothing after the check is written");
            let ended = store.get_import_job(t.id, job.id).await.unwrap().unwrap();
            assert_eq!((ended.status, ended.rows_read, ended.created), (ImportStatus::Failed, 3, 3), "{stop}");
            let failure = ended.failure.unwrap_or_default();
            let expected = if stop == "disabled" { "was disabled" } else { "is now operator and may no longer import" };
            assert!(failure.contains(&email) && failure.contains(expected), "{stop}: {failure}");
            let query = AuditQuery { action: Some("import.finished".into()), limit: 50, ..AuditQuery::default() };
            let entries = store.list_audit(t.id, &query).await.unwrap();
            let entry = entries.iter().find(|e| e.object_id == Uuid::from(job.id)).expect("the stop is audited");
            assert_eq!(entry.outcome, clientele_core::audit::entry::Outcome::Denied);
            assert_eq!(entry.reason.as_deref(), Some(failure.as_str()));
            assert_eq!(entry.actor_id, Some(Uuid::from(user.id)));
            // Claimed again (after a restart, say), the failed job does not run.
            assert!(matches!(app.claim_import(Uuid::new_v4(), Some((t.id, job.id))).await.unwrap(), Claim::Nothing));
        }
        assert_eq!(customer_count(store, &t).await, 6);
    }

    async fn a_worker_that_lost_its_job_writes_nothing_of_its_batch(app: &App) {
        let store = app.store();
        let t = tenant(store, "T").await;
        let job = queued(app, &t, "first_name,last_name\nAnna,Rossi\n").await;
        let (first, second) = (lapsed(), ImportLease { worker: Uuid::new_v4(), until: Timestamp::now().add(Duration::from_secs(60)) });
        let mine = claim(store, &job, &first, Duration::ZERO).await;
        // The first worker's lease ran out and a second one took the job over.
        let theirs = claim(store, &job, &second, Duration::from_millis(1)).await;
        let (entries, customers) = (audit_count(store, &t).await, customer_count(store, &t).await);
        let late = customer(&t, serde_json::json!({"first_name": "Anna", "last_name": "Rossi"}));
        assert!(!store.commit_import_batch(&batch(&mine, first, &[late])).await.unwrap(), "the fence refuses it");
        assert_eq!(customer_count(store, &t).await, customers, "no customer from the lost batch");
        assert_eq!(audit_count(store, &t).await, entries, "no audit entry from the lost batch");
        let saved = store.get_import_job(t.id, job.id).await.unwrap().unwrap();
        assert_eq!((saved.next_row, saved.created), (0, 0), "no progress from the lost batch");
        assert!(!store.renew_import_lease(t.id, job.id, &first).await.unwrap(), "nor a renewed lease");

        let current = customer(&t, serde_json::json!({"first_name": "Anna", "last_name": "Rossi"}));
        assert!(store.commit_import_batch(&batch(&theirs, second, &[current])).await.unwrap());
        assert_eq!(customer_count(store, &t).await, customers + 1);
        assert_eq!(store.get_import_job(t.id, job.id).await.unwrap().unwrap().next_row, 1);
        assert!(store.renew_import_lease(t.id, job.id, &second).await.unwrap());
    }

    async fn a_batch_is_written_whole_or_not_at_all(app: &App) {
        let store = app.store();
        let t = tenant(store, "T").await;
        let job = queued(app, &t, "first_name,last_name\nAnna,Rossi\nLuca,Bianchi\n").await;
        let lease = ImportLease { worker: Uuid::new_v4(), until: Timestamp::now().add(Duration::from_secs(60)) };
        let job = claim(store, &job, &lease, Duration::ZERO).await;
        let existing = crate::fixtures::stored(store, &t, "Sara", "Galli").await;
        let (entries, customers) = (audit_count(store, &t).await, customer_count(store, &t).await);
        // One new customer, and an update made from a version that is no longer current.
        let mut write = batch(&job, lease, &[customer(&t, serde_json::json!({"first_name": "Anna", "last_name": "Rossi"}))]);
        let changed = Customer { version: 3, ..existing.clone() };
        write.updated.push((changed, 2, audited(&existing, AuditAction::CustomerUpdated)));
        write.errors.push(clientele_core::imports::job::ImportRowError {
            row: 2,
            cells: vec!["Luca".into(), "Bianchi".into()],
            errors: vec![clientele_core::FieldError::new("email", clientele_core::FieldCode::Invalid, "bad")],
        });
        let refused = store.commit_import_batch(&write).await;
        assert!(
            matches!(refused, Err(clientele_core::Error::Conflict { code: clientele_core::ErrorCode::VersionConflict, .. })),
            "{refused:?}"
        );
        assert_eq!(customer_count(store, &t).await, customers, "the new customer rolled back with it");
        assert_eq!(audit_count(store, &t).await, entries);
        assert!(store.import_errors(t.id, job.id, 0, 10).await.unwrap().is_empty(), "and the refused row");
        assert_eq!(store.get_import_job(t.id, job.id).await.unwrap().unwrap().next_row, 0, "and the progress");
    }

    async fn a_batch_written_twice_creates_its_customers_once(app: &App) {
        let store = app.store();
        let t = tenant(store, "T").await;
        let job = queued(app, &t, "first_name,last_name\nAnna,Rossi\nLuca,Bianchi\n").await;
        let lease = ImportLease { worker: Uuid::new_v4(), until: Timestamp::now().add(Duration::from_secs(60)) };
        let job = claim(store, &job, &lease, Duration::ZERO).await;
        let rows: Vec<Customer> = [("Anna", "Rossi"), ("Luca", "Bianchi")]
            .iter()
            .enumerate()
            .map(|(i, (first, last))| Customer {
                id: clientele_core::imports::job::customer_id_for_row(job.id, i as i64 + 1),
                ..customer(&t, serde_json::json!({"first_name": first, "last_name": last}))
            })
            .collect();
        let once = batch(&job, lease, &rows);
        assert!(store.commit_import_batch(&once).await.unwrap());
        let entries = audit_count(store, &t).await;
        // The same batch again (its progress somehow lost): its customers are there already.
        assert!(store.commit_import_batch(&once).await.unwrap());
        assert_eq!(customer_count(store, &t).await, 2);
        assert_eq!(audit_count(store, &t).await, entries, "no second audit entry either");
    }

    async fn attempts_that_make_no_progress_are_counted_and_progress_resets_the_count(app: &App) {
        let store = app.store();
        let t = tenant(store, "T").await;
        let job = queued(app, &t, "first_name,last_name\nAnna,Rossi\n").await;
        let mut stalled = Vec::new();
        for _ in 0..3 {
            stalled.push(claim(store, &job, &lapsed(), Duration::ZERO).await.stalled_attempts);
        }
        assert_eq!(stalled, [0, 1, 2]);
        let lease = lapsed();
        let mut progressed = claim(store, &job, &lease, Duration::ZERO).await;
        progressed.next_row = 1;
        assert!(store.save_import_job(&progressed, Some(&lease)).await.unwrap());
        let after = claim(store, &job, &lapsed(), Duration::from_secs(120)).await;
        assert_eq!((after.attempts, after.stalled_attempts), (5, 0));
    }

    async fn a_job_is_given_up_after_attempts_without_progress_but_not_after_interrupted_ones(app: &App) {
        let store = app.store();
        let t = tenant(store, "T").await;
        // Stalled: five attempts in a row end before saving anything; the sixth gives up.
        let stuck = queued(app, &t, "first_name,last_name\nAnna,Rossi\n").await;
        for _ in 0..clientele_core::imports::job::MAX_STALLED_ATTEMPTS {
            claim(store, &stuck, &lapsed(), Duration::ZERO).await;
        }
        let Claim::GaveUp(given_up) = app.claim_import(Uuid::new_v4(), Some((t.id, stuck.id))).await.unwrap() else {
            panic!("the job was not given up");
        };
        assert_eq!(given_up.status, ImportStatus::Failed);
        assert!(given_up.failure.as_deref().unwrap_or_default().contains("no progress"), "{given_up:?}");
        assert_eq!(store.get_import_job(t.id, stuck.id).await.unwrap().unwrap().status, ImportStatus::Failed);

        // Interrupted: eight attempts each save a row before they end; the job still finishes.
        let file: String = std::iter::once("first_name,last_name\n".to_owned())
            .chain((0..10).map(|i| format!("Anna,Rossi{i}\n")))
            .collect();
        let job = queued(app, &t, &file).await;
        let format = sniff(file.as_bytes()).unwrap();
        for attempt in 0..9u64 {
            let worker = Uuid::new_v4();
            // Each claim comes after the previous worker's renewed lease ran out.
            let lease = ImportLease { worker, until: Timestamp::now() };
            let claimed = claim(store, &job, &lease, Duration::from_secs(120 * (attempt + 1))).await;
            assert_eq!(claimed.stalled_attempts, 0);
            let mut reader = LineReader::open(Cursor::new(file.clone().into_bytes()), format).unwrap();
            let headers = reader.headers().to_vec();
            let mut run = app.start_import_run(claimed, worker, format, headers).await.unwrap().unwrap();
            if attempt < 8 {
                // Done before: skipped. Then one row more, and the worker dies.
                let lines = reader.next_lines(attempt as usize + 1);
                assert_eq!(app.import_lines(&mut run, lines).await.unwrap(), BatchEnd::Committed);
                continue;
            }
            assert_eq!(app.import_lines(&mut run, reader.next_lines(100)).await.unwrap(), BatchEnd::Committed);
            assert!(app.finish_import_run(run).await.unwrap());
        }
        let done = store.get_import_job(t.id, job.id).await.unwrap().unwrap();
        assert_eq!((done.status, done.rows_read, done.created, done.attempts), (ImportStatus::Succeeded, 10, 10, 9));
        assert_eq!(customer_count(store, &t).await, 10);
    }
}

/// A job of `tenant` as stored, with nothing done.
fn bare_job(tenant: &Tenant, status: ImportStatus, dry_run: bool) -> ImportJob {
    ImportJob {
        id: ImportJobId::new(),
        tenant_id: tenant.id,
        status,
        mode: ImportMode::Create,
        dry_run,
        mapping: serde_json::Map::new(),
        file_name: None,
        file_size: 0,
        encoding: None,
        delimiter: None,
        unmapped_columns: Vec::new(),
        columns: Vec::new(),
        rows_read: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        failure: None,
        created_at: Timestamp::now(),
        created_by: None,
        actor_role: "cli".into(),
        started_at: None,
        finished_at: None,
        next_row: 0,
        undo: None,
        attempts: 0,
        stalled_attempts: 0,
    }
}

/// The audit entry of a job's start.
fn started(tenant: &Tenant, job: &ImportJob) -> clientele_core::audit::entry::AuditEntry {
    let actor = Actor::command_line(tenant.id);
    clientele_core::audit::entry::AuditEntry::new(&actor, tenant.id, AuditAction::ImportStarted, "import", job.id, None)
}

conformance! {
    async fn an_import_is_claimed_for_undoing_once_and_only_once_finished(store: &dyn Store) {
        use clientele_core::imports::job::ImportUndo;
        let t = tenant(store, "T").await;
        let other = tenant(store, "Other").await;
        let undo = ImportUndo { at: Timestamp::now(), deleted: 0, restored: 0, kept: 0 };
        let done = bare_job(&t, ImportStatus::Succeeded, false);
        let dry = bare_job(&t, ImportStatus::Succeeded, true);
        let running = bare_job(&t, ImportStatus::Running, false);
        for job in [&done, &dry, &running] {
            store.insert_import_job(job, &started(&t, job)).await.unwrap();
        }
        assert!(!store.claim_import_undo(other.id, done.id, &undo).await.unwrap(), "another tenant's");
        let (first, second) =
            tokio::join!(store.claim_import_undo(t.id, done.id, &undo), store.claim_import_undo(t.id, done.id, &undo));
        assert_eq!([first.unwrap(), second.unwrap()].iter().filter(|claimed| **claimed).count(), 1);
        assert_eq!(store.get_import_job(t.id, done.id).await.unwrap().unwrap().undo, Some(undo.clone()));
        assert!(!store.claim_import_undo(t.id, done.id, &undo).await.unwrap(), "undone already");
        assert!(!store.claim_import_undo(t.id, dry.id, &undo).await.unwrap(), "a dry run");
        assert!(!store.claim_import_undo(t.id, running.id, &undo).await.unwrap(), "not finished");
    }

    async fn uploads_that_never_completed_are_failed_and_dropped(store: &dyn Store) {
        let t = tenant(store, "T").await;
        let now = Timestamp::now();
        let job = |created_at: Timestamp| ImportJob { created_at, ..bare_job(&t, ImportStatus::Receiving, false) };
        let entry = |job: &ImportJob| started(&t, job);
        let old = job(now.sub(std::time::Duration::from_secs(3 * 3600)));
        let fresh = job(now);
        for j in [&old, &fresh] {
            store.insert_import_job(j, &entry(j)).await.unwrap();
            store.add_import_chunk(t.id, j.id, 0, b"first_name\n").await.unwrap();
        }
        let abandoned = store.abandon_stale_uploads(now.sub(std::time::Duration::from_secs(2 * 3600)), now).await.unwrap();
        assert_eq!(abandoned, 1);
        let old = store.get_import_job(t.id, old.id).await.unwrap().unwrap();
        assert_eq!((old.status, old.failure.as_deref()), (ImportStatus::Failed, Some("the upload never completed")));
        assert_eq!(store.import_file_chunk(t.id, old.id, 0).await.unwrap(), None);
        assert_eq!(store.get_import_job(t.id, fresh.id).await.unwrap().unwrap().status, ImportStatus::Receiving);
        assert!(store.import_file_chunk(t.id, fresh.id, 0).await.unwrap().is_some());
    }
}
