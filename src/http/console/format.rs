//! Words and links the pages show: the seeds' labels for statuses, types
//! and roles, dates, and the user list's query string (kept in every link,
//! so that a filtered, sorted view can be shared).

use serde::Deserialize;

use crate::directory::admin::UserListParams;

/// The status filter's choices: value and label ("All" is every user not
/// deleted).
pub(super) const STATUS_CHOICES: [(&str, &str); 9] = [
    ("", "All"),
    // The status words: enabled is invited, created or active.
    ("enabled", "Enabled"),
    ("passive", "Passive (disabled)"),
    ("active", "Active"),
    ("created", "Created"),
    ("invited", "Invited"),
    ("disabled", "Disabled"),
    ("banned", "Banned"),
    ("deleted", "Deleted"),
];

/// A status as the seeds say it.
pub(super) fn status_label(status: &str) -> String {
    STATUS_CHOICES
        .iter()
        .find(|(v, _)| *v == status)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| title(status))
}

/// `user` → User, `viewer` → Viewer.
pub(super) fn type_label(t: &str) -> String {
    title(t)
}

/// A role name as a label: `super-admin` → Super Admin.
pub(super) fn role_label(role: &str) -> String {
    title(role)
}

fn title(s: &str) -> String {
    s.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-02-03T08:15:00.000Z` → `2026-02-03 08:15 UTC`; none → Never.
pub(super) fn when(at: Option<&str>) -> String {
    match at {
        None => "Never".into(),
        Some(t) if t.len() >= 16 && t.as_bytes().get(10) == Some(&b'T') => {
            format!("{} {} UTC", &t[..10], &t[11..16])
        }
        Some(t) => t.to_string(),
    }
}

/// The user list's query string, as the browser sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ListQuery {
    pub search: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    pub role: Option<String>,
    pub group: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListQuery {
    /// The admin API's parameters (the directory reads the status words:
    /// "Passive" is Disabled, as DataStream says).
    pub fn params(&self) -> UserListParams {
        let own = |v: &Option<String>| given(v).map(str::to_string);
        UserListParams {
            search: own(&self.search),
            sort: own(&self.sort),
            order: own(&self.order),
            status: given(&self.status).map(str::to_ascii_lowercase),
            user_type: own(&self.user_type),
            role: own(&self.role),
            group: own(&self.group),
            page: own(&self.page),
            page_size: own(&self.page_size),
        }
    }

    /// `/console/users?…` with the non-empty parameters.
    pub fn href(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        let pairs = [
            ("search", &self.search),
            ("status", &self.status),
            ("type", &self.user_type),
            ("role", &self.role),
            ("group", &self.group),
            ("sort", &self.sort),
            ("order", &self.order),
            ("page", &self.page),
            ("page_size", &self.page_size),
        ];
        for (k, v) in pairs {
            if let Some(v) = given(v) {
                s.append_pair(k, v);
            }
        }
        let q = s.finish();
        if q.is_empty() {
            "/console/users".into()
        } else {
            format!("/console/users?{q}")
        }
    }

    fn sort_key(&self) -> &str {
        given(&self.sort).unwrap_or("userName")
    }

    fn descending(&self) -> bool {
        given(&self.order) == Some("desc")
    }

    /// The link a column header sorts by: ascending first, then the other
    /// way; back to the first page.
    pub fn sorted_by(&self, key: &str) -> String {
        let flip = self.sort_key() == key && !self.descending();
        ListQuery {
            sort: Some(key.into()),
            order: Some(if flip { "desc" } else { "asc" }.into()),
            page: None,
            ..self.clone()
        }
        .href()
    }

    /// `aria-sort` of a column header.
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort_key() == key, self.descending()) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }

    /// The same view, at page `n`.
    pub fn at_page(&self, n: i64) -> String {
        ListQuery {
            page: Some(n.to_string()),
            ..self.clone()
        }
        .href()
    }

    /// The value a filter field shows.
    pub fn value(&self, field: &str) -> String {
        let v = match field {
            "search" => &self.search,
            "status" => &self.status,
            "type" => &self.user_type,
            "role" => &self.role,
            "group" => &self.group,
            "sort" => &self.sort,
            "order" => &self.order,
            "page_size" => &self.page_size,
            _ => &None,
        };
        let v = given(v).unwrap_or("").to_string();
        match (field, v.as_str()) {
            ("status", s) => s.to_ascii_lowercase(),
            _ => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_seeds() {
        assert_eq!(role_label("super-admin"), "Super Admin");
        assert_eq!(role_label("read-only"), "Read Only");
        assert_eq!(status_label("disabled"), "Disabled");
        assert_eq!(type_label("viewer"), "Viewer");
        assert_eq!(
            when(Some("2026-02-03T08:15:00.000Z")),
            "2026-02-03 08:15 UTC"
        );
        assert_eq!(when(None), "Never");
    }

    #[test]
    fn the_query_string_keeps_the_filters_and_the_status_words() {
        let q = ListQuery {
            search: Some("ann".into()),
            status: Some("Passive".into()),
            sort: Some("email".into()),
            page: Some("3".into()),
            ..Default::default()
        };
        assert_eq!(q.params().status.as_deref(), Some("passive"));
        assert_eq!(q.value("status"), "passive");
        assert_eq!(
            q.sorted_by("email"),
            "/console/users?search=ann&status=Passive&sort=email&order=desc"
        );
        assert_eq!(q.aria_sort("email"), "ascending");
        assert_eq!(q.aria_sort("role"), "none");
        assert!(q.at_page(4).ends_with("page=4"));
        assert_eq!(ListQuery::default().href(), "/console/users");
    }
}
