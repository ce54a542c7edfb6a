//! The pages: compile-time templates (askama, auto-escaped) in
//! `templates/console/`, and the small view models they print. Templates
//! only loop and print; every word and link is made here or in `format.rs`.

use askama::Template;
use askama_web::WebTemplate;

use super::assets;
use super::session::Signed;
use crate::directory::views::{ConsoleUser, Permit};

/// What every page's frame shows: who is signed in, the CSRF token for
/// its forms, the hashed static files, and which section is open.
pub(crate) struct Layout {
    pub me: Option<ConsoleUser>,
    pub me_role: String,
    pub csrf: String,
    pub css: String,
    pub htmx: String,
    pub icon: String,
    pub nav: &'static str,
}

impl Layout {
    /// The frame of a page seen without a session.
    pub fn anonymous() -> Self {
        Layout {
            me: None,
            me_role: String::new(),
            csrf: String::new(),
            css: assets::css_url(),
            htmx: assets::htmx_url(),
            icon: assets::icon_url(),
            nav: "",
        }
    }

    /// The frame of a signed-in page of section `nav`.
    pub fn of(s: &Signed, nav: &'static str) -> Self {
        Layout {
            me_role: super::format::role_label(&s.session.user.role),
            me: Some(s.session.user.clone()),
            csrf: s.session.csrf(),
            nav,
            ..Self::anonymous()
        }
    }

    /// Whether the signed-in user may administer users.
    pub fn admin(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.administer.allowed)
    }
}

/// An option of a select.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Choice {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

/// A hidden form field.
pub(super) struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// One action as a control: a link, a button, a button with a text (a
/// reason, a successor), a
/// select, a typed confirmation; or, when the directory would refuse it,
/// its label and why (`off`).
pub(super) struct Control {
    /// `link`, `button`, `text`, `select`, `confirm` or `off`.
    pub kind: &'static str,
    /// A unique element id (for the input's label).
    pub id: String,
    pub label: String,
    /// The link's target or the form's action.
    pub action: String,
    /// The input's name and label (`text`, `select`, `confirm`).
    pub field: &'static str,
    pub field_label: String,
    pub options: Vec<Choice>,
    pub hidden: Vec<Hidden>,
    pub why: String,
    pub danger: bool,
}

impl Control {
    fn base(kind: &'static str, label: &str, action: String) -> Self {
        Control {
            kind,
            id: String::new(),
            label: label.into(),
            action,
            field: "",
            field_label: String::new(),
            options: Vec::new(),
            hidden: Vec::new(),
            why: String::new(),
            danger: false,
        }
    }
    pub fn link(label: &str, href: String) -> Self {
        Self::base("link", label, href)
    }
    pub fn button(label: &str, action: String) -> Self {
        Self::base("button", label, action)
    }
    pub fn off(label: &str, why: &str) -> Self {
        Control {
            why: why.into(),
            ..Self::base("off", label, String::new())
        }
    }
    /// A form with one input of `kind` (`text`, `select`, `confirm`).
    pub fn input(kind: &'static str, label: &str, action: String, field: &'static str) -> Self {
        Self::base(kind, label, action).named(field)
    }
    fn named(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
    pub fn id(mut self, id: String) -> Self {
        self.id = id;
        self
    }
    pub fn labelled(mut self, field_label: impl Into<String>) -> Self {
        self.field_label = field_label.into();
        self
    }
    pub fn options(mut self, options: Vec<Choice>) -> Self {
        self.options = options;
        self
    }
    pub fn hidden(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.hidden.push(Hidden {
            name,
            value: value.into(),
        });
        self
    }
    pub fn danger(mut self) -> Self {
        self.danger = true;
        self
    }

    /// This control if the permit allows it, else its label and why.
    pub fn unless(self, p: &Permit) -> Self {
        match (&p.allowed, &p.reason) {
            (true, _) => self,
            (false, why) => {
                let label = self.label.clone();
                Control::off(&label, why.as_deref().unwrap_or("not allowed"))
            }
        }
    }
}

/// A user list column header.
pub(super) struct Header {
    pub label: &'static str,
    pub href: String,
    pub aria_sort: &'static str,
}

/// One row of the user list.
pub(super) struct Row {
    pub href: String,
    pub name: String,
    pub email: String,
    pub type_label: String,
    pub role_label: String,
    pub status: String,
    pub status_label: String,
    pub last_login: String,
    /// The tenant's owner.
    pub owner: bool,
    pub menu_label: String,
    pub menu: Vec<Control>,
}

/// `GET /console/users`.
#[derive(Template, WebTemplate)]
#[template(path = "console/users.html")]
pub(super) struct UsersPage {
    pub layout: Layout,
    pub return_to: String,
    pub search: String,
    pub group: String,
    pub sort: String,
    pub order: String,
    pub statuses: Vec<Choice>,
    pub types: Vec<Choice>,
    pub roles: Vec<Choice>,
    pub sizes: Vec<Choice>,
    pub headers: Vec<Header>,
    pub rows: Vec<Row>,
    pub total: String,
    pub page_text: String,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// Invite user and the registrations toggle (admins).
    pub invite_header: Option<super::invite::InviteHeader>,
    /// What the page says first (a read-only directory).
    pub notice: Option<String>,
}

/// A label and a value on the detail page.
pub(super) struct Fact {
    pub label: &'static str,
    pub value: String,
    /// Read-only: the identity provider manages it.
    pub managed: bool,
}

/// One part of effective access and where it came from.
pub(super) struct AccessLine {
    pub what: String,
    pub value: String,
    pub source: String,
    pub why: String,
}

/// One audit entry on the detail page.
pub(super) struct Activity {
    pub at: String,
    pub action: String,
    pub description: String,
    pub actor: String,
    pub ip: String,
}

/// A group of controls with a heading.
pub(super) struct Card {
    pub title: &'static str,
    pub note: String,
    pub controls: Vec<Control>,
}

/// `GET /console/users/{id}`.
#[derive(Template, WebTemplate)]
#[template(path = "console/user.html")]
pub(super) struct UserPage {
    pub layout: Layout,
    pub return_to: String,
    pub title: String,
    pub sub: String,
    pub notices: Vec<String>,
    pub general: Vec<Fact>,
    pub access: Vec<AccessLine>,
    pub projects: Vec<AccessLine>,
    pub matched: Vec<AccessLine>,
    pub activity: Vec<Activity>,
    pub activity_next: Option<String>,
    pub cards: Vec<Card>,
    /// The pending invitation, if the user was invited.
    pub invitation: Option<super::invite::InvitationPanel>,
}

/// `GET /console/users/{id}/delete`.
#[derive(Template, WebTemplate)]
#[template(path = "console/delete.html")]
pub(super) struct DeletePage {
    pub layout: Layout,
    pub return_to: String,
    pub user_name: String,
    pub title: String,
    pub action: String,
    pub back: String,
    pub search: String,
    pub successors: Vec<Choice>,
    pub retention_days: i64,
}

/// One seat pool on the seats page.
pub(super) struct SeatLine {
    pub kind: &'static str,
    pub used: i64,
    pub limit: String,
    pub left: String,
}

/// `GET /console/seats`.
#[derive(Template, WebTemplate)]
#[template(path = "console/seats.html")]
pub(super) struct SeatsPage {
    pub layout: Layout,
    pub lines: Vec<SeatLine>,
}

/// `GET /console/sign-in`: no session.
#[derive(Template, WebTemplate)]
#[template(path = "console/sign_in.html")]
pub(super) struct SignInPage {
    pub layout: Layout,
    /// The identity providers to sign in with.
    pub providers: Vec<crate::directory::console_oidc::IdentityProvider>,
}

/// `GET /console/login/{secret}`: the sign-in link's page.
#[derive(Template, WebTemplate)]
#[template(path = "console/link.html")]
pub(super) struct LinkPage {
    pub layout: Layout,
    pub user_name: String,
    pub secret: String,
}
