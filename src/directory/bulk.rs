//! `POST /Bulk` (RFC 7644 §3.7), executed: creators of a `bulkId` run
//! before the operations referring to it (the plan comes from
//! `scim_protocol::bulk`). Operations run in chunks: up to [`CHUNK_OPS`]
//! of them (or as many as [`CHUNK_TIME`] allows) share one transaction,
//! which pays for one commit and writes the chunk's audit rows and events
//! multi-row. Each operation stays all or nothing: an operation refused
//! before it touches the database (a bad body, an unresolved `bulkId`) is
//! answered at once; one refused inside the transaction rolls the chunk
//! back, the operations before it run again as a chunk of their own, and
//! the refused one runs alone, in its own transaction, for its answer.
//! A chunk whose commit fails runs again one operation at a time.
//! The caller renders the outcome.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::resources::Planned;
use super::{Cancel, Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::Tx;
use scim_protocol::bulk::{self, BulkMethod, BulkOp, BulkRequest, OpDone, OpOutcome};
use scim_protocol::schema::Kind;
use scim_protocol::ScimError;

/// Operations one chunk's transaction runs at most.
const CHUNK_OPS: usize = 500;
/// How long one chunk holds the write transaction at most (other writers
/// wait meanwhile); the operation running when it is up finishes.
const CHUNK_TIME: Duration = Duration::from_millis(250);

/// How a chunk ended.
enum Chunk {
    /// This many operations ran and were committed (0: the run stopped).
    Ran(usize),
    /// The operation at this position failed inside the transaction;
    /// nothing of the chunk stayed.
    FailedAt(usize),
    /// The transaction failed (its begin or commit) after this many
    /// operations; nothing of the chunk stayed.
    Unusable(usize),
}

/// One operation, resolved and parsed: what remains to run in a
/// transaction.
struct Step {
    method: BulkMethod,
    kind: Kind,
    id: Option<String>,
    tag: Option<String>,
    /// Create, PUT and PATCH, parsed (None: a DELETE).
    planned: Option<Planned>,
}

/// Every operation's outcome, in request order.
#[derive(Debug)]
pub struct BulkOutcome {
    pub operations: Vec<OpOutcome<DirectoryError>>,
}

/// The state of one Bulk request while it runs.
struct Run {
    /// bulkId → the id of the resource its POST created.
    created: HashMap<String, String>,
    /// (request index, outcome), in the order operations ran.
    results: Vec<(usize, OpOutcome<DirectoryError>)>,
    errors: usize,
    fail_on_errors: Option<usize>,
}

/// What a [`Run`] held before a chunk, to forget the chunk if it fails.
struct Before {
    created: HashMap<String, String>,
    results: usize,
    errors: usize,
}

impl Run {
    /// `failOnErrors` reached: no further operation runs.
    fn stopped(&self) -> bool {
        self.fail_on_errors.is_some_and(|max| self.errors >= max)
    }

    fn record(&mut self, i: usize, op: &BulkOp, result: DirectoryResult<OpDone>) {
        match &result {
            Ok(done) => {
                if let (Some(b), 201) = (&op.bulk_id, done.status) {
                    self.created.insert(b.clone(), done.id.clone());
                }
            }
            Err(_) => self.errors += 1,
        }
        self.results.push((i, OpOutcome::of(op, result)));
    }

    fn before(&self) -> Before {
        Before {
            created: self.created.clone(),
            results: self.results.len(),
            errors: self.errors,
        }
    }

    /// Forget what a chunk that did not commit recorded.
    fn restore(&mut self, b: Before) {
        self.created = b.created;
        self.results.truncate(b.results);
        self.errors = b.errors;
    }
}

impl Directory {
    /// Run a Bulk request. Operations caught in a circular reference do not
    /// run: each answers 409, counted toward `failOnErrors` like any other
    /// error. Once `cancel` is set (the client went away, or its time is
    /// up) no further operation starts; the one running finishes, so each
    /// is still all or nothing.
    pub async fn bulk(&self, ctx: &Ctx, req: BulkRequest, cancel: &Cancel) -> BulkOutcome {
        let (order, stuck) = bulk::plan(&req.ops);
        let mut run = Run {
            created: HashMap::new(),
            results: Vec::with_capacity(req.ops.len()),
            errors: 0,
            fail_on_errors: req.fail_on_errors,
        };
        let mut rest = &order[..];
        let mut limit = CHUNK_OPS;
        while !rest.is_empty() && !run.stopped() {
            if cancel.is_cancelled() {
                tracing::info!(
                    done = run.results.len(),
                    of = req.ops.len(),
                    "bulk request cancelled: its client went away or its time was up"
                );
                break;
            }
            let next = &rest[..limit.min(rest.len())];
            let ran = match self.bulk_chunk(ctx, &req.ops, next, &mut run, cancel).await {
                Chunk::Ran(0) => break,
                Chunk::Ran(n) => n,
                // The ones before it again, as a chunk of their own.
                Chunk::FailedAt(k) if k > 0 => {
                    limit = k;
                    continue;
                }
                Chunk::FailedAt(_) => {
                    self.bulk_one_by_one(ctx, &req.ops, &next[..1], &mut run, cancel)
                        .await
                }
                Chunk::Unusable(n) => {
                    let upto = n.clamp(1, next.len());
                    self.bulk_one_by_one(ctx, &req.ops, &next[..upto], &mut run, cancel)
                        .await
                }
            };
            if ran == 0 {
                break;
            }
            rest = &rest[ran.min(rest.len())..];
            limit = CHUNK_OPS;
        }
        for i in stuck {
            if run.stopped() {
                break;
            }
            let e = ScimError::conflict(
                "circular bulkId reference: this operation and the ones it refers to wait for each other",
            );
            run.record(i, &req.ops[i], Err(e.into()));
        }
        // Answer in request order.
        run.results.sort_by_key(|(i, _)| *i);
        BulkOutcome {
            operations: run.results.into_iter().map(|(_, o)| o).collect(),
        }
    }

    /// Run the operations of `order` in one transaction (as many as its
    /// time allows).
    async fn bulk_chunk(
        &self,
        ctx: &Ctx,
        ops: &[BulkOp],
        order: &[usize],
        run: &mut Run,
        cancel: &Cancel,
    ) -> Chunk {
        let before = run.before();
        let started = Instant::now();
        let mut tx = match self.store.write(&ctx.tenant).await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(error = %e, "bulk chunk could not begin; its operations run one by one");
                return Chunk::Unusable(0);
            }
        };
        // Users' new rows wait for the next statement, to be written
        // many at a time.
        tx.defer_user_writes();
        let mut ran = 0;
        let mut ahead = Ahead::Nothing;
        for (at, &i) in order.iter().enumerate() {
            let time_up = ran > 0 && started.elapsed() >= CHUNK_TIME;
            if time_up || run.stopped() || cancel.is_cancelled() {
                break;
            }
            let op = &ops[i];
            if let Err(e) = read_ahead(&mut tx, ops, &order[at..], &mut ahead).await {
                tracing::warn!(error = %e, "bulk chunk could not read ahead; its operations run one by one");
                run.restore(before);
                return Chunk::Unusable(ran);
            }
            let result = match self.bulk_step(ctx, op, &run.created) {
                // Refused before any statement: nothing to undo.
                Err(e) => Err(e),
                Ok(step) => match self.bulk_run(ctx, &mut tx, step).await {
                    Ok(done) => Ok(done),
                    Err(_) => {
                        drop(tx);
                        run.restore(before);
                        return Chunk::FailedAt(ran);
                    }
                },
            };
            run.record(i, op, result);
            ran += 1;
        }
        if let Err(e) = tx.commit().await {
            tracing::warn!(error = %e, "bulk chunk did not commit; its operations run one by one");
            run.restore(before);
            return Chunk::Unusable(ran);
        }
        Chunk::Ran(ran)
    }

    /// Each operation of `order` in its own transaction.
    async fn bulk_one_by_one(
        &self,
        ctx: &Ctx,
        ops: &[BulkOp],
        order: &[usize],
        run: &mut Run,
        cancel: &Cancel,
    ) -> usize {
        let mut ran = 0;
        for &i in order {
            if run.stopped() || cancel.is_cancelled() {
                break;
            }
            let op = &ops[i];
            let result = self.bulk_op_alone(ctx, op, &run.created).await;
            run.record(i, op, result);
            ran += 1;
        }
        ran
    }

    /// One operation in a transaction of its own.
    async fn bulk_op_alone(
        &self,
        ctx: &Ctx,
        op: &BulkOp,
        created: &HashMap<String, String>,
    ) -> DirectoryResult<OpDone> {
        let step = self.bulk_step(ctx, op, created)?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let done = self.bulk_run(ctx, &mut tx, step).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// One operation, its `bulkId:` references replaced by the ids
    /// created, its body parsed: no statement yet.
    fn bulk_step(
        &self,
        ctx: &Ctx,
        op: &BulkOp,
        created: &HashMap<String, String>,
    ) -> DirectoryResult<Step> {
        let (method, kind, id) = op.parsed.clone()?;
        let data = match &op.data {
            Some(d) => bulk::substitute(d, created).map_err(unresolved)?,
            None => Value::Null,
        };
        let id = id
            .map(|i| bulk::resolve_id(&i, created))
            .transpose()
            .map_err(unresolved)?;
        let tag = op.version.clone();
        let planned = match (method, id.as_deref()) {
            (BulkMethod::Post, _) => Some(self.plan_create(ctx, kind, &data)?),
            (BulkMethod::Put, Some(id)) => {
                Some(self.plan_replace(ctx, kind, id, &data, tag.as_deref())?)
            }
            (BulkMethod::Patch, Some(id)) => {
                Some(self.plan_patch(ctx, kind, id, &data, tag.as_deref())?)
            }
            (BulkMethod::Delete, Some(_)) => None,
            (_, None) => return Err(ScimError::invalid_path("a resource path is needed").into()),
        };
        Ok(Step {
            method,
            kind,
            id,
            tag,
            planned,
        })
    }

    /// Run a step in `tx`. Only the id and version are answered.
    async fn bulk_run(&self, ctx: &Ctx, tx: &mut Tx, step: Step) -> DirectoryResult<OpDone> {
        let rt = self.registry.resource_type(step.kind);
        let done = |status: u16, id: &str, version: Option<i64>| OpDone {
            status,
            id: id.to_string(),
            location: format!("{}{}/{}", ctx.base_url, rt.endpoint, id),
            version,
        };
        match (step.planned, step.id.as_deref()) {
            (Some(planned), _) => {
                let status = if step.method == BulkMethod::Post {
                    201
                } else {
                    200
                };
                let w = self.run_planned(tx, planned).await?;
                Ok(done(status, &w.stored.id, Some(w.stored.version)))
            }
            (None, Some(id)) => {
                self.delete_in(ctx, tx, step.kind, id, step.tag.as_deref())
                    .await?;
                Ok(done(204, id, None))
            }
            (None, None) => Err(ScimError::invalid_path("a resource path is needed").into()),
        }
    }
}

/// The user a PUT or PATCH names by its id (not by a `bulkId`): what a
/// chunk can read ahead.
fn user_update_target(op: &BulkOp) -> Option<&str> {
    match &op.parsed {
        Ok((BulkMethod::Put | BulkMethod::Patch, Kind::User, Some(id)))
            if !id.starts_with("bulkId:") =>
        {
            Some(id)
        }
        _ => None,
    }
}

/// The data of a user create: what a chunk can read ahead for.
fn user_create_data(op: &BulkOp) -> Option<&Map<String, Value>> {
    match &op.parsed {
        Ok((BulkMethod::Post, Kind::User, _)) => op.data.as_ref().and_then(Value::as_object),
        _ => None,
    }
}

/// What a chunk has read ahead for the operations coming.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ahead {
    Nothing,
    /// The users of a run of user PUTs and PATCHes.
    Updates,
    /// The keys of a run of user creates.
    Creates,
}

impl Ahead {
    fn of(op: &BulkOp) -> Ahead {
        if user_update_target(op).is_some() {
            Ahead::Updates
        } else if user_create_data(op).is_some() {
            Ahead::Creates
        } else {
            Ahead::Nothing
        }
    }
}

/// Before the first operation of `rest`: at the start of a run of user
/// PUTs and PATCHes, read the run's users in one statement; at the start
/// of a run of user creates, what their guards ask; before an operation
/// of another kind, forget what was read (it may change those users).
async fn read_ahead(
    tx: &mut Tx,
    ops: &[BulkOp],
    rest: &[usize],
    ahead: &mut Ahead,
) -> DirectoryResult<()> {
    let Some(&first) = rest.first() else {
        return Ok(());
    };
    let next = Ahead::of(&ops[first]);
    if next == *ahead {
        return Ok(());
    }
    if *ahead != Ahead::Nothing {
        tx.forget_prefetched();
    }
    match next {
        Ahead::Nothing => {}
        Ahead::Updates => {
            let ids: Vec<&str> = rest
                .iter()
                .map_while(|&i| user_update_target(&ops[i]))
                .collect();
            tx.prefetch_users(&ids).await?;
        }
        Ahead::Creates => {
            let datas: Vec<&Map<String, Value>> = rest
                .iter()
                .map_while(|&i| user_create_data(&ops[i]))
                .collect();
            tx.read_ahead_creates(&datas).await?;
        }
    }
    *ahead = next;
    Ok(())
}

/// A `bulkId` no operation created (or whose creator failed).
fn unresolved(b: String) -> DirectoryError {
    ScimError::conflict(format!(
        "bulkId \"{b}\" did not resolve: no operation created it, or it failed"
    ))
    .into()
}
