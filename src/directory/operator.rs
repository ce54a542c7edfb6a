//! What the admin API, the `rollcall` command and `main` read through the
//! directory instead of the store: tenants and acting users, the audit
//! trail and the event feed, seats, roles, pending transfers, and
//! deprovisioning jobs as views. Reads the command line prints an error of
//! answer the store's error as it is.

use std::sync::Arc;

use super::access::Permission;
use super::admin::Paging;
use super::views::{
    self, AuditPage, AuditRecord, EventPage, EventView, JobDetail, JobList, JobRowView, RoleView,
    RolesView, SeatsView, TransferView, TransfersView,
};
use super::{
    Ctx, Directory, DirectoryConfig, DirectoryError, DirectoryResult, SystemClock, UuidGen,
};
use crate::store::{AuditQuery, JobRecord, Store, StoreError, StoreResult, Tenant, UserRecord};

impl Directory {
    /// A directory over a store opened on its own (the command line's token
    /// and audit commands): default settings, the access extension's type
    /// and role as given.
    pub async fn open_plain(database: &str) -> StoreResult<Directory> {
        Ok(Directory::new(
            Store::connect(database).await?,
            Arc::new(scim_protocol::schema::Registry::new()),
            Arc::new(SystemClock),
            Arc::new(UuidGen),
            DirectoryConfig::default(),
        ))
    }

    /// A checked copy of the (SQLite) database `database` in `to`.
    pub async fn backup(
        database: &str,
        to: &std::path::Path,
    ) -> StoreResult<crate::store::BackupReport> {
        crate::store::backup(database, to).await
    }

    /// The tenant of this name.
    pub async fn find_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.store.find_tenant(name).await
    }

    /// A user who is not deleted (by id or userName).
    pub async fn live_user(&self, tenant: &Tenant, key: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self
            .store
            .user_record(tenant, key)
            .await?
            .filter(|u| u.deleted_at.is_none()))
    }

    /// The userName of a user (deleted ones too), for an actor's label.
    pub async fn user_name_of(&self, tenant: &Tenant, id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .store
            .user_record(tenant, id)
            .await?
            .map(|u| u.user_name))
    }

    /// A page of the audit trail, oldest first, with the next cursor.
    pub async fn audit_page(&self, tenant: &Tenant, q: &AuditQuery) -> StoreResult<AuditPage> {
        let items = self
            .store
            .audit_page(tenant, q)
            .await?
            .into_iter()
            .map(serde_json::from_value::<AuditRecord>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(AuditPage::new(items, q.limit))
    }

    /// Events after the cursor; `next` is the cursor to poll with next.
    pub async fn events_page(
        &self,
        tenant: &Tenant,
        after: i64,
        limit: i64,
    ) -> StoreResult<EventPage> {
        let events = self.store.events_page(tenant, after, limit).await?;
        let next = events.last().map(|e| e.id).unwrap_or(after);
        Ok(EventPage {
            events: events.into_iter().map(EventView::from).collect(),
            next: next.to_string(),
        })
    }

    /// Seats in use and their limits (admin and above).
    pub async fn seats(&self, ctx: &Ctx) -> DirectoryResult<SeatsView> {
        self.require(ctx, Permission::TenantSettings).await?;
        let (users, viewers) = self.store.seat_usage(&ctx.tenant).await?;
        Ok(SeatsView::new(users, viewers))
    }

    /// Ownership transfers not yet acknowledged (admin and above).
    pub async fn pending_transfers(&self, ctx: &Ctx) -> DirectoryResult<TransfersView> {
        self.require(ctx, Permission::TenantSettings).await?;
        let items = self
            .store
            .pending_transfers(&ctx.tenant)
            .await?
            .into_iter()
            .map(TransferView::from)
            .collect();
        Ok(TransfersView { items })
    }

    /// The tenant's role catalog, lowest first.
    pub async fn role_catalog(&self, tenant: &Tenant) -> DirectoryResult<Vec<RoleView>> {
        self.policy_of(tenant)
            .await?
            .catalog(&tenant.name)
            .list()
            .into_iter()
            .map(views::read)
            .collect()
    }

    /// The role catalog and the project roles (member and above).
    pub async fn roles(&self, ctx: &Ctx) -> DirectoryResult<RolesView> {
        self.require(ctx, Permission::UsersRead).await?;
        Ok(RolesView {
            roles: self.role_catalog(&ctx.tenant).await?,
            project_roles: super::access::PROJECT_ROLES
                .iter()
                .map(|r| r.to_string())
                .collect(),
        })
    }

    /// A deprovisioning job of the tenant.
    pub async fn job(&self, ctx: &Ctx, id: &str) -> DirectoryResult<JobRecord> {
        self.require(ctx, Permission::DeprovisionRun).await?;
        self.store
            .job(&ctx.tenant, id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("deprovisioning job {id} not found")))
    }

    /// A job and one page of its per-row report.
    pub async fn job_detail(
        &self,
        ctx: &Ctx,
        id: &str,
        paging: Paging,
    ) -> DirectoryResult<JobDetail> {
        let job = self.job(ctx, id).await?;
        let rows = self
            .store
            .job_rows(&job.id, paging.offset(), paging.page_size)
            .await?;
        let rows = paging.envelope(rows.iter().map(JobRowView::from).collect(), job.total);
        Ok(JobDetail {
            job: self.job_view(&job).await?,
            rows,
        })
    }

    /// The tenant's latest jobs, newest first.
    pub async fn job_list(&self, ctx: &Ctx) -> DirectoryResult<JobList> {
        self.require(ctx, Permission::DeprovisionRun).await?;
        let mut items = Vec::new();
        for job in self.store.jobs(&ctx.tenant, 100).await? {
            items.push(self.job_view(&job).await?);
        }
        Ok(JobList { items })
    }
}
