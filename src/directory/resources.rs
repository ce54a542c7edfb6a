//! SCIM resources as the directory serves them: create, read, list, PUT,
//! PATCH and DELETE, with the attributes computed from other tables (a
//! user's `groups`, a group's `members`) and the read-only access extension.

use serde_json::{json, Map, Value};

use super::write::{Update, Written};
use super::{Ctx, Directory, DirectoryError, DirectoryResult, Resource};
use crate::store::{Change, Event, GroupsOf, StoredResource, Tx};
use scim_protocol::list::ListQuery;
use scim_protocol::patch::{self, MemberOp, MemberRef, OpKind};
use scim_protocol::projection::Projection;
use scim_protocol::resource::normalize;
use scim_protocol::schema::{Kind, Mutability, Registry, URN_ACCESS};
use scim_protocol::ScimError;

fn display_of(kind: Kind, data: &Map<String, Value>) -> Option<String> {
    let key = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "group",
    }
}

/// Remove what is never stored (write-only values).
fn strip_write_only(registry: &Registry, kind: Kind, data: &mut Map<String, Value>) {
    let rt = registry.resource_type(kind);
    for attr in &rt.schema.attributes {
        if attr.mutability == Mutability::WriteOnly {
            data.remove(&attr.name);
        }
    }
}

impl Directory {
    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        name: Option<String>,
        action: &str,
        description: String,
        payload: Value,
    ) -> Change {
        Change {
            at: self.clock.now(),
            audit: ctx.audit(kind.name(), Some(id.to_string()), name, action, description),
            event: Event {
                kind: format!("{}.{action}", kind_word(kind)),
                object_id: Some(id.to_string()),
                payload,
            },
            extra_events: Vec::new(),
        }
    }

    /// Attributes computed from other tables (a User's `groups`, a Group's
    /// `members`) for a page of resources, in two queries at most, unless the
    /// projection leaves them out. A page carries at most
    /// `max_members_returned` members in all.
    async fn computed_many(
        &self,
        ctx: &Ctx,
        kind: Kind,
        stored: &[StoredResource],
        projection: &Projection,
        read: Option<GroupsOf>,
    ) -> DirectoryResult<Vec<Vec<(String, Value)>>> {
        let rt = self.registry.resource_type(kind);
        let mut out: Vec<Vec<(String, Value)>> = vec![Vec::new(); stored.len()];
        match kind {
            Kind::User => {
                if projection.omits(rt, "groups") {
                    return Ok(out);
                }
                let mut groups = match read {
                    Some(groups) => groups,
                    None => {
                        let ids: Vec<String> = stored.iter().map(|s| s.id.clone()).collect();
                        self.store.groups_of_many(&ctx.tenant, &ids).await?
                    }
                };
                for (slot, s) in out.iter_mut().zip(stored) {
                    let v: Vec<Value> = groups
                        .remove(&s.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|g| {
                            json!({
                                "value": g.id,
                                "$ref": format!("{}/Groups/{}", ctx.base_url, g.id),
                                "display": g.display,
                                "type": if g.direct { "direct" } else { "indirect" },
                            })
                        })
                        .collect();
                    slot.push(("groups".to_string(), Value::Array(v)));
                }
            }
            Kind::Group => {
                if projection.omits(rt, "members") {
                    return Ok(out);
                }
                let pks: Vec<i64> = stored.iter().map(|s| s.pk).collect();
                let cap = self.config.max_members_returned;
                let mut members = self.store.members_of_many(&pks, cap, cap).await?;
                for (slot, s) in out.iter_mut().zip(stored) {
                    let v: Vec<Value> = members
                        .remove(&s.pk)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|m| {
                            let mut o = Map::new();
                            o.insert("value".into(), Value::String(m.id.clone()));
                            o.insert(
                                "$ref".into(),
                                Value::String(format!(
                                    "{}/{}/{}",
                                    ctx.base_url,
                                    if m.kind == "Group" { "Groups" } else { "Users" },
                                    m.id
                                )),
                            );
                            if let Some(d) = m.display {
                                o.insert("display".into(), Value::String(d));
                            }
                            o.insert("type".into(), Value::String(m.kind));
                            Value::Object(o)
                        })
                        .collect();
                    slot.push(("members".to_string(), Value::Array(v)));
                }
            }
        }
        Ok(out)
    }

    /// The resources of `stored`, with the `groups` of users already read
    /// (`groups`: by the page's statement) or read now.
    async fn resources(
        &self,
        ctx: &Ctx,
        kind: Kind,
        stored: Vec<StoredResource>,
        projection: &Projection,
        groups: Option<GroupsOf>,
    ) -> DirectoryResult<Vec<Resource>> {
        let computed = self
            .computed_many(ctx, kind, &stored, projection, groups)
            .await?;
        Ok(stored
            .into_iter()
            .zip(computed)
            .map(|(mut stored, computed)| {
                if kind == Kind::User {
                    add_access(
                        &mut stored.data,
                        stored.status.as_deref(),
                        stored.access.as_ref(),
                    );
                }
                Resource {
                    kind,
                    stored,
                    computed,
                }
            })
            .collect())
    }

    async fn resource(
        &self,
        ctx: &Ctx,
        kind: Kind,
        stored: StoredResource,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        self.resources(ctx, kind, vec![stored], projection, None)
            .await?
            .pop()
            .ok_or_else(|| DirectoryError::Internal("resource vanished".into()))
    }

    pub async fn create(
        &self,
        ctx: &Ctx,
        kind: Kind,
        body: &Value,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        let planned = self.plan_create(ctx, kind, body)?;
        self.write_planned(ctx, kind, planned, projection).await
    }

    /// A single planned write in its own transaction, answered with the
    /// resource.
    async fn write_planned(
        &self,
        ctx: &Ctx,
        kind: Kind,
        planned: Planned,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        let mut tx = self.store.write(&ctx.tenant).await?;
        let stored = self.run_planned(&mut tx, planned).await?.finish(tx).await?;
        self.resource(ctx, kind, stored, projection).await
    }

    /// A create, parsed and checked: what [`Directory::run_planned`] inserts.
    pub(super) fn plan_create(
        &self,
        ctx: &Ctx,
        kind: Kind,
        body: &Value,
    ) -> DirectoryResult<Planned> {
        let rt = self.registry.resource_type(kind);
        let mut data = normalize(rt, body)?;
        let members = match kind {
            Kind::Group => match data.remove("members") {
                Some(v) => patch::parse_member_refs(&v)?,
                None => vec![],
            },
            Kind::User => vec![],
        };
        strip_write_only(&self.registry, kind, &mut data);
        let id = self.ids.new_id();
        let name = display_of(kind, &data);
        let change = self.change(
            ctx,
            kind,
            &id,
            name.clone(),
            "created",
            format!(
                "{} \"{}\" created",
                kind.name(),
                name.clone().unwrap_or_default()
            ),
            json!({ "id": id, "name": name }),
        );
        Ok(Planned::Create {
            kind,
            id,
            data,
            members,
            change,
        })
    }

    /// Run a planned write inside `tx`; the caller commits (or, inside a
    /// Bulk chunk, releases the operation's savepoint).
    pub(super) async fn run_planned(
        &self,
        tx: &mut Tx,
        planned: Planned,
    ) -> DirectoryResult<Written> {
        match planned {
            Planned::Create {
                kind,
                id,
                data,
                members,
                change,
            } => {
                let stored = match kind {
                    Kind::User => self.create_user(tx, &id, &data, &change).await?,
                    Kind::Group => {
                        self.insert_resource(kind, tx, &id, &data, &members, &change)
                            .await?
                    }
                };
                Ok(Written {
                    stored,
                    changed: true,
                })
            }
            Planned::Update {
                kind,
                id,
                if_match,
                f,
            } => {
                self.update_resource(kind, tx, &id, if_match.as_deref(), f)
                    .await
            }
        }
    }

    pub async fn get(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        let stored = self
            .store
            .get(kind, &ctx.tenant, id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("{} {id} not found", kind.name())))?;
        self.resource(ctx, kind, stored, projection).await
    }

    pub async fn list(
        &self,
        ctx: &Ctx,
        kind: Kind,
        query: &ListQuery,
    ) -> DirectoryResult<(i64, Vec<Resource>)> {
        let query = &status_words(query);
        let groups = kind == Kind::User
            && !query
                .projection
                .omits(self.registry.resource_type(kind), "groups");
        let (total, items, groups) = self
            .store
            .list_with_groups(kind, &ctx.tenant, query, groups)
            .await?;
        let out = self
            .resources(ctx, kind, items, &query.projection, groups)
            .await?;
        Ok((total, out))
    }

    /// A cursor page (RFC 9865): total, resources, next and previous cursors.
    pub async fn list_cursor(
        &self,
        ctx: &Ctx,
        kind: Kind,
        query: &ListQuery,
        cursor: scim_protocol::list::Cursor,
    ) -> DirectoryResult<(i64, Vec<Resource>, Option<String>, Option<String>)> {
        let query = &status_words(query);
        let page = self
            .store
            .list_cursor(kind, &ctx.tenant, query, cursor)
            .await?;
        let out = self
            .resources(ctx, kind, page.items, &query.projection, None)
            .await?;
        Ok((page.total, out, page.next, page.previous))
    }

    /// PUT: replace every client-settable attribute.
    pub async fn replace(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        let planned = self.plan_replace(ctx, kind, id, body, if_match)?;
        self.write_planned(ctx, kind, planned, projection).await
    }

    pub(super) fn plan_replace(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> DirectoryResult<Planned> {
        let rt = self.registry.resource_type(kind);
        let mut data = normalize(rt, body)?;
        let members = match kind {
            Kind::Group => Some(match data.remove("members") {
                Some(v) => patch::parse_member_refs(&v)?,
                None => vec![],
            }),
            Kind::User => None,
        };
        strip_write_only(&self.registry, kind, &mut data);
        let name = display_of(kind, &data);
        let change = self.change(
            ctx,
            kind,
            id,
            name.clone(),
            "updated",
            format!(
                "{} \"{}\" replaced",
                kind.name(),
                name.clone().unwrap_or_default()
            ),
            json!({ "id": id, "name": name }),
        );
        let registry = self.registry.clone();
        let id_owned = id.to_string();
        Ok(Planned::Update {
            kind,
            id: id.to_string(),
            if_match: if_match.map(str::to_string),
            f: Box::new(move |current| {
                check_immutable_replace(&registry, kind, &current.data, &data)?;
                let mut change = change;
                change.extra_events =
                    lifecycle_events(kind, id_owned.as_str(), &current.data, &data);
                Ok(Some(Update {
                    data,
                    member_ops: members.map(MemberOp::Replace).into_iter().collect(),
                    change,
                }))
            }),
        })
    }

    /// PATCH (RFC 7644 §3.5.2).
    pub async fn patch(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        projection: &Projection,
    ) -> DirectoryResult<Resource> {
        let planned = self.plan_patch(ctx, kind, id, body, if_match)?;
        self.write_planned(ctx, kind, planned, projection).await
    }

    pub(super) fn plan_patch(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> DirectoryResult<Planned> {
        let rt = self.registry.resource_type(kind);
        let ops = patch::parse_request_at_most(body, self.config.max_patch_operations)?;
        let (member_ops, ops) = match kind {
            Kind::Group => patch::split_members(rt, ops)?,
            Kind::User => (vec![], ops),
        };
        let registry = self.registry.clone();
        let summary = summarize(&ops, &member_ops);
        // Name and description are filled in once the patched state is known.
        let mut change = self.change(ctx, kind, id, None, "updated", String::new(), Value::Null);
        Ok(Planned::Update {
            kind,
            id: id.to_string(),
            if_match: if_match.map(str::to_string),
            f: Box::new(move |current| {
                let rt = registry.resource_type(kind);
                let mut data = current.data.clone();
                patch::apply(&registry, rt, &mut data, &ops)?;
                strip_write_only(&registry, kind, &mut data);
                if data == current.data && member_ops.is_empty() {
                    return Ok(None);
                }
                let name = display_of(kind, &data);
                change.audit.description = format!(
                    "{} \"{}\" patched: {summary}",
                    kind.name(),
                    name.clone().unwrap_or_default()
                );
                change.audit.object_name = name.clone();
                change.event.payload = json!({ "id": current.id, "name": name });
                change.extra_events = lifecycle_events(kind, &current.id, &current.data, &data);
                Ok(Some(Update {
                    change,
                    data,
                    member_ops,
                }))
            }),
        })
    }

    pub async fn delete(
        &self,
        ctx: &Ctx,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
    ) -> DirectoryResult<()> {
        if kind == Kind::User {
            // The identity provider cannot choose: the assets are handed on.
            let assets = super::lifecycle::Assets::default();
            self.delete_user(ctx, id, if_match, assets, false).await?;
            return Ok(());
        }
        let mut tx = self.store.write(&ctx.tenant).await?;
        self.delete_in(ctx, &mut tx, kind, id, if_match).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A SCIM DELETE inside `tx`; the caller commits.
    pub(super) async fn delete_in(
        &self,
        ctx: &Ctx,
        tx: &mut Tx,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
    ) -> DirectoryResult<()> {
        if kind == Kind::User {
            return self.scim_delete_user_in(ctx, tx, id, if_match).await;
        }
        self.delete_group(tx, id, if_match, |current| {
            let name = display_of(kind, &current.data);
            self.change(
                ctx,
                kind,
                &current.id,
                name.clone(),
                "deleted",
                format!(
                    "{} \"{}\" deleted",
                    kind.name(),
                    name.clone().unwrap_or_default()
                ),
                json!({ "id": current.id, "name": name }),
            )
        })
        .await
    }
}

/// How a planned update computes the new state from the current one.
pub(super) type UpdateFn =
    Box<dyn FnOnce(&StoredResource) -> Result<Option<Update>, ScimError> + Send>;

/// A SCIM write parsed and checked before any transaction opens: a bad
/// body costs no statement. (Built once per operation and moved, never
/// held in bulk: the size difference of the variants does not matter.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Planned {
    Create {
        kind: Kind,
        id: String,
        data: Map<String, Value>,
        members: Vec<MemberRef>,
        change: Change,
    },
    Update {
        kind: Kind,
        id: String,
        if_match: Option<String>,
        f: UpdateFn,
    },
}

/// The query with the status words of its filter (`enabled`, `passive`)
/// turned into the statuses they mean.
fn status_words(query: &ListQuery) -> ListQuery {
    let mut q = query.clone();
    q.filter = q.filter.map(super::modes::expand_status_words);
    q
}

/// Lifecycle events a user change carries besides `user.updated`:
/// `user.deactivated` / `user.reactivated` when `active` flips. (Changes of
/// effective type, role and plan are reported by the store, which computes
/// them.)
fn lifecycle_events(
    kind: Kind,
    id: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Vec<Event> {
    if kind != Kind::User {
        return Vec::new();
    }
    let mut out = Vec::new();
    let event = |kind: &str, payload: Value| Event {
        kind: kind.to_string(),
        object_id: Some(id.to_string()),
        payload,
    };
    let active = |m: &Map<String, Value>| m.get("active").and_then(Value::as_bool).unwrap_or(true);
    match (active(old), active(new)) {
        (true, false) => out.push(event("user.deactivated", json!({"id": id}))),
        (false, true) => out.push(event("user.reactivated", json!({"id": id}))),
        _ => {}
    }
    out
}

/// The read-only attributes the access extension reports: status and the
/// effective type, role and plan with their sources.
fn add_access(data: &mut Map<String, Value>, status: Option<&str>, access: Option<&Value>) {
    let ext = data
        .entry(URN_ACCESS.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(o) = ext.as_object_mut() {
        if let Some(s) = status {
            o.insert("status".into(), Value::String(s.into()));
        }
        if let Some(a) = access {
            for (key, eff, src) in [
                ("type", "effectiveType", "typeSource"),
                ("role", "effectiveRole", "roleSource"),
                ("plan", "effectivePlan", "planSource"),
            ] {
                let part = &a[key];
                if let Some(v) = part["value"].as_str() {
                    o.insert(eff.into(), Value::String(v.into()));
                }
                if let Some(source) = part["source"].as_str() {
                    let text = match part["rule"].as_str() {
                        Some(rule) => format!("{source}: {rule}"),
                        None => source.to_string(),
                    };
                    o.insert(src.into(), Value::String(text));
                }
            }
        }
    }
    if let Some(Value::Array(schemas)) = data.get_mut("schemas") {
        if !schemas.iter().any(|s| s.as_str() == Some(URN_ACCESS)) {
            schemas.push(Value::String(URN_ACCESS.into()));
        }
    }
}

/// PUT may not change an immutable attribute that already has a value.
fn check_immutable_replace(
    registry: &Registry,
    kind: Kind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScimError> {
    let rt = registry.resource_type(kind);
    for schema in rt.all_schemas() {
        let (o, n) = if schema.id == rt.schema.id {
            (Some(old), Some(new))
        } else {
            (
                old.get(&schema.id).and_then(Value::as_object),
                new.get(&schema.id).and_then(Value::as_object),
            )
        };
        for attr in schema
            .attributes
            .iter()
            .filter(|a| a.mutability == Mutability::Immutable)
        {
            let ov = o.and_then(|m| m.get(&attr.name));
            let nv = n.and_then(|m| m.get(&attr.name));
            if ov.is_some() && ov != nv {
                return Err(ScimError::mutability(format!(
                    "'{}' is immutable and cannot be changed",
                    attr.name
                )));
            }
        }
    }
    Ok(())
}

fn summarize(ops: &[patch::PatchOp], member_ops: &[MemberOp]) -> String {
    let mut parts: Vec<String> = ops
        .iter()
        .map(|o| {
            let verb = match o.op {
                OpKind::Add => "add",
                OpKind::Replace => "replace",
                OpKind::Remove => "remove",
            };
            match &o.raw_path {
                Some(p) => format!("{verb} {p}"),
                None => {
                    let keys: Vec<String> = o
                        .value
                        .as_ref()
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    format!("{verb} {}", keys.join(","))
                }
            }
        })
        .collect();
    for m in member_ops {
        parts.push(match m {
            MemberOp::Add(r) => format!("add {} member(s)", r.len()),
            MemberOp::Remove(r) => format!("remove {} member(s)", r.len()),
            MemberOp::RemoveAll => "remove all members".into(),
            MemberOp::Replace(r) => format!("replace members with {}", r.len()),
        });
    }
    parts.join("; ")
}
