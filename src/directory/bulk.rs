//! `POST /Bulk` (RFC 7644 §3.7), executed: operations run one by one, each
//! in its own transaction, creators of a `bulkId` before the operations
//! referring to it (the plan comes from `scim_protocol::bulk`). The caller
//! renders the outcome.

use std::collections::HashMap;

use serde_json::Value;

use super::{Cancel, Ctx, Directory, DirectoryError, DirectoryResult};
use scim_protocol::bulk::{self, BulkMethod, BulkOp, BulkRequest, OpDone, OpOutcome};
use scim_protocol::projection::{parse_selectors, Projection};
use scim_protocol::ScimError;

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
        for i in order {
            if run.stopped() {
                break;
            }
            if cancel.is_cancelled() {
                tracing::info!(
                    done = run.results.len(),
                    of = req.ops.len(),
                    "bulk request cancelled: its client went away or its time was up"
                );
                break;
            }
            let op = &req.ops[i];
            let result = self.bulk_op(ctx, op, &run.created).await;
            run.record(i, op, result);
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

    /// One operation, its `bulkId:` references replaced by the ids created.
    async fn bulk_op(
        &self,
        ctx: &Ctx,
        op: &BulkOp,
        created: &HashMap<String, String>,
    ) -> DirectoryResult<OpDone> {
        let (method, kind, id) = op.parsed.clone()?;
        let data = match &op.data {
            Some(d) => bulk::substitute(d, created).map_err(unresolved)?,
            None => Value::Null,
        };
        let id = id
            .map(|i| bulk::resolve_id(&i, created))
            .transpose()
            .map_err(unresolved)?;
        let rt = self.registry.resource_type(kind);
        // Only the id and version are answered.
        let projection = Projection {
            attributes: Some(parse_selectors(&self.registry, rt, "id")?),
            excluded: None,
        };
        let tag = op.version.as_deref();
        let done = |status: u16, id: &str, version: Option<i64>| OpDone {
            status,
            id: id.to_string(),
            location: format!("{}{}/{}", ctx.base_url, rt.endpoint, id),
            version,
        };
        match (method, id) {
            (BulkMethod::Post, _) => {
                let r = self.create(ctx, kind, &data, &projection).await?;
                Ok(done(201, &r.stored.id, Some(r.stored.version)))
            }
            (BulkMethod::Put, Some(id)) => {
                let r = self
                    .replace(ctx, kind, &id, &data, tag, &projection)
                    .await?;
                Ok(done(200, &id, Some(r.stored.version)))
            }
            (BulkMethod::Patch, Some(id)) => {
                let r = self.patch(ctx, kind, &id, &data, tag, &projection).await?;
                Ok(done(200, &id, Some(r.stored.version)))
            }
            (BulkMethod::Delete, Some(id)) => {
                self.delete(ctx, kind, &id, tag).await?;
                Ok(done(204, &id, None))
            }
            (_, None) => Err(ScimError::invalid_path("a resource path is needed").into()),
        }
    }
}

/// A `bulkId` no operation created (or whose creator failed).
fn unresolved(b: String) -> DirectoryError {
    ScimError::conflict(format!(
        "bulkId \"{b}\" did not resolve: no operation created it, or it failed"
    ))
    .into()
}
