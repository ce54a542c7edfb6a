//! `POST /.search` at the root (RFC 7644 §3.4.3): Users then Groups, paged
//! as one list. A filter that names attributes one type lacks simply matches
//! nothing of that type.

use super::{Ctx, Directory, DirectoryError, DirectoryResult, Resource};
use scim_protocol::list::{parse_list_query, ListQuery, PageLimits, RawListParams};
use scim_protocol::projection::Projection;
use scim_protocol::schema::Kind;
use scim_protocol::ScimError;

/// The resources of one type that fall into the page, with the projection
/// they are to be rendered with.
#[derive(Debug)]
pub struct SearchPart {
    pub kind: Kind,
    pub projection: Projection,
    pub resources: Vec<Resource>,
}

/// One page over every resource type.
#[derive(Debug)]
pub struct SearchAll {
    /// Matching resources of every type.
    pub total: i64,
    pub start_index: i64,
    /// Users first, then Groups.
    pub parts: Vec<SearchPart>,
}

impl Directory {
    /// Search every resource type; the page is counted across them.
    pub async fn search_all(
        &self,
        ctx: &Ctx,
        params: &RawListParams,
        limits: PageLimits,
    ) -> DirectoryResult<SearchAll> {
        if params.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "cursor pagination is per resource type: search /Users/.search or /Groups/.search",
            )
            .into());
        }
        let queries = self.queries_for_every_type(params, limits)?;
        let start = queries.first().map(|(_, q)| q.start_index).unwrap_or(1);
        let count = queries.first().map(|(_, q)| q.count).unwrap_or(0);
        let mut total = 0;
        let mut parts = Vec::with_capacity(queries.len());
        let mut skip = start - 1;
        let mut want = count;
        for (kind, mut q) in queries {
            // One query per type: its total, and what falls into the window.
            q.start_index = skip + 1;
            q.count = want;
            let (n, resources) = self.list(ctx, kind, &q).await?;
            total += n;
            want -= resources.len() as i64;
            skip = (skip - n).max(0);
            parts.push(SearchPart {
                kind,
                projection: q.projection,
                resources,
            });
        }
        Ok(SearchAll {
            total,
            start_index: start,
            parts,
        })
    }

    /// The query for each type it makes sense for; the first error when it
    /// makes sense for none.
    fn queries_for_every_type(
        &self,
        params: &RawListParams,
        limits: PageLimits,
    ) -> DirectoryResult<Vec<(Kind, ListQuery)>> {
        let mut queries = Vec::new();
        let mut first_err = None;
        for kind in [Kind::User, Kind::Group] {
            let rt = self.registry.resource_type(kind);
            match parse_list_query(&self.registry, rt, params, limits) {
                Ok(q) => queries.push((kind, q)),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        if queries.is_empty() {
            let e = first_err.unwrap_or_else(|| ScimError::invalid_filter("invalid search"));
            return Err(DirectoryError::Protocol(e));
        }
        Ok(queries)
    }
}
