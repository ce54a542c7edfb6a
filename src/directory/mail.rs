//! Invitation emails over SMTP (`[email]` in the config file), through
//! `lettre` on tokio with rustls.
//!
//! The link holds the invitation's secret, so it is never written down: the
//! inviting write commits a delivery row *without* the link (who, which
//! invitation, when to give up), then hands the rendered message to a task
//! of this process, in memory only. That task sends it, retrying
//! `attempts` times with doubling waits from `retry_base_ms`; each outcome
//! lands in the row and the audit trail (`invitation_emailed`,
//! `invitation_email_failed`). A resend or a withdrawal cancels a mail not
//! sent yet. If the process stops before the send, the link is gone with
//! it: the worker marks rows still pending past their `give_up_at` as
//! abandoned, audits it, and the admin resends the invitation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Clock, Directory, DirectoryResult};
use crate::store::{AuditEntry, MailRecord, Store, Tenant};
use scim_protocol::datetime;

/// The plain-text invitation shipped with Rollcall.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/email/invitation.txt");
pub const DEFAULT_SUBJECT: &str = "You are invited to {tenant}";

const MAILER_ACTOR: &str = "rollcall:mailer";

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP (port 25): only to a relay on loopback when it needs
    /// credentials.
    None,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// `[email]` in the config file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server.
    pub host: String,
    /// Default: 25, 587 or 465 by `tls`.
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    pub username: Option<String>,
    /// A file holding the username (one line; trailing newline dropped).
    pub username_file: Option<PathBuf>,
    pub password: Option<String>,
    /// A file holding the password (one line; trailing newline dropped).
    pub password_file: Option<PathBuf>,
    /// The name announced in EHLO (default: 127.0.0.1 as a literal).
    pub hello_name: Option<String>,
    /// `{tenant}`, `{userName}` and `{expires}` are filled in.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// A plain-text template replacing the shipped one; it must hold
    /// `{link}` (also `{tenant}`, `{userName}`, `{expires}`).
    pub template_file: Option<PathBuf>,
    /// Per attempt: connect, talk, send.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts before a mail is given up.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait before the second attempt, doubling after each failure.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
}

fn default_subject() -> String {
    DEFAULT_SUBJECT.into()
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_attempts() -> u32 {
    5
}
fn default_retry_base_ms() -> u64 {
    5_000
}

/// `[email]` with its files read and its addresses parsed.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub config: EmailConfig,
    from: Mailbox,
    username: Option<String>,
    password: Option<String>,
    template: String,
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]") || host.starts_with("127.")
}

impl EmailConfig {
    /// Read the password and template files and check everything.
    pub fn resolve(&self) -> Result<MailSettings, String> {
        if self.host.trim().is_empty() {
            return Err("[email] needs a host".into());
        }
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("[email] from \"{}\" is not an address: {e}", self.from))?;
        let username = given_or_read(&self.username, &self.username_file, "username")?;
        let password = given_or_read(&self.password, &self.password_file, "password")?;
        if password.is_some() != username.is_some() {
            return Err("[email] username and a password go together".into());
        }
        if username.is_some() && self.tls == TlsMode::None && !is_loopback(&self.host) {
            return Err(
                "[email] tls = \"none\" would send the SMTP password in clear: use starttls or tls (plain SMTP with credentials only to a relay on loopback)".into(),
            );
        }
        let template = match &self.template_file {
            Some(f) => read(f, "template_file")?,
            None => DEFAULT_TEMPLATE.to_string(),
        };
        if !template.contains("{link}") {
            return Err("[email] the template must contain {link}".into());
        }
        if self.attempts < 1 || self.retry_base_ms < 1 || self.timeout_ms < 100 {
            return Err(
                "[email] attempts and retry_base_ms must be at least 1, timeout_ms at least 100"
                    .into(),
            );
        }
        Ok(MailSettings {
            config: self.clone(),
            from,
            username,
            password,
            template,
        })
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        })
    }
}

/// `NAME` or `NAME_file` (one line, its trailing newline dropped), not both.
fn given_or_read(
    value: &Option<String>,
    file: &Option<PathBuf>,
    name: &str,
) -> Result<Option<String>, String> {
    match (value, file) {
        (Some(_), Some(_)) => Err(format!("[email] takes {name} or {name}_file, not both")),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(f)) => Ok(Some(
            read(f, &format!("{name}_file"))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        )),
        (None, None) => Ok(None),
    }
}

fn read(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("[email] cannot read {what} {}: {e}", path.display()))
}

/// Fill `{name}` placeholders.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_string(), |text, (k, v)| {
        text.replace(&format!("{{{k}}}"), v)
    })
}

/// One invitation email, rendered: it holds the link, in memory only.
pub struct MailJob {
    pub mail_id: i64,
    pub tenant: Tenant,
    pub user_id: String,
    pub to: Mailbox,
    subject: String,
    body: String,
}

/// Sends invitation emails and records how each went.
pub struct Mailer {
    settings: MailSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Sends under way, so that a command or a shutdown can wait for them.
    sending: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Mailer {
    pub fn new(settings: MailSettings, store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            store,
            clock,
            sending: Default::default(),
        }
    }

    /// The address an invitation goes to: the email given, else a userName
    /// that is an address; none when neither parses.
    pub fn recipient(email: Option<&str>, user_name: &str) -> Option<Mailbox> {
        email
            .or(Some(user_name))
            .and_then(|a| a.trim().parse::<lettre::Address>().ok())
            .map(|a| Mailbox::new(None, a))
    }

    /// How long a pending mail may take before the worker calls it
    /// abandoned: every attempt timing out, every wait, and a minute.
    pub fn give_up_after(&self) -> time::Duration {
        let c = &self.settings.config;
        let waits: u64 = (0..c.attempts.saturating_sub(1))
            .map(|i| c.retry_base_ms.saturating_mul(1u64 << i.min(30)))
            .sum();
        let total = waits.saturating_add(c.timeout_ms.saturating_mul(u64::from(c.attempts)));
        time::Duration::milliseconds(i64::try_from(total).unwrap_or(i64::MAX / 2))
            + time::Duration::minutes(1)
    }

    /// Render the invitation for `to`.
    pub fn render(
        &self,
        mail_id: i64,
        tenant: &Tenant,
        user: (&str, &str),
        to: Mailbox,
        link: &str,
        expires: &str,
    ) -> MailJob {
        let (user_id, user_name) = user;
        let vars = [
            ("tenant", tenant.name.as_str()),
            ("userName", user_name),
            ("expires", expires),
        ];
        let subject = fill(&self.settings.config.subject, &vars);
        // The link last, so that nothing in it is taken for a placeholder.
        let body = fill(&self.settings.template, &vars).replace("{link}", link);
        MailJob {
            mail_id,
            tenant: tenant.clone(),
            user_id: user_id.to_string(),
            to,
            subject,
            body,
        }
    }

    /// Send in the background; the outcome is recorded, never returned.
    pub fn dispatch(self: &Arc<Self>, job: MailJob) {
        let mailer = self.clone();
        let handle = tokio::spawn(async move { mailer.deliver(job).await });
        if let Ok(mut sending) = self.sending.lock() {
            sending.retain(|h| !h.is_finished());
            sending.push(handle);
        }
    }

    /// Wait for the sends under way (their retries included).
    async fn flush(&self) {
        let handles = match self.sending.lock() {
            Ok(mut sending) => std::mem::take(&mut *sending),
            Err(_) => Vec::new(),
        };
        for h in handles {
            let _ = h.await;
        }
    }

    async fn deliver(&self, job: MailJob) {
        let c = &self.settings.config;
        let mut last = String::new();
        for attempt in 0..c.attempts {
            if attempt > 0 {
                let wait = c
                    .retry_base_ms
                    .saturating_mul(1u64 << (attempt - 1).min(30));
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            if !self.still_wanted(job.mail_id).await {
                return;
            }
            match self.send_once(&job).await {
                Ok(()) => {
                    self.finish(&job, None).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(mail = job.mail_id, attempt = attempt + 1, error = %e, "invitation email failed");
                    last = e;
                    if attempt + 1 < c.attempts {
                        if let Err(e) = self.store.mail_attempt_failed(job.mail_id, &last).await {
                            tracing::error!(mail = job.mail_id, error = %e, "recording a mail attempt failed");
                        }
                    }
                }
            }
        }
        self.finish(&job, Some(&last)).await;
    }

    /// False once the mail was cancelled (the invitation was resent,
    /// withdrawn or accepted) or given up.
    async fn still_wanted(&self, mail_id: i64) -> bool {
        match self.store.mail_by_id(mail_id).await {
            Ok(Some(m)) => m.sent_at.is_none() && m.failed_at.is_none(),
            Ok(None) => false,
            Err(e) => {
                tracing::error!(mail = mail_id, error = %e, "reading a mail's state failed");
                true
            }
        }
    }

    async fn send_once(&self, job: &MailJob) -> Result<(), String> {
        let message = Message::builder()
            .from(self.settings.from.clone())
            .to(job.to.clone())
            .subject(job.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(job.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport()?
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let c = &self.settings.config;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| format!("TLS setup: {e}"))
        };
        let mode = match c.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls(&c.host)?),
            TlsMode::Tls => Tls::Wrapper(tls(&c.host)?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.as_str())
            .port(c.port())
            .tls(mode)
            .timeout(Some(Duration::from_millis(c.timeout_ms)));
        if let Some(name) = &c.hello_name {
            b = b.hello_name(ClientId::Domain(name.clone()));
        }
        if let (Some(user), Some(password)) = (&self.settings.username, &self.settings.password) {
            b = b.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(b.build())
    }

    /// Record the end of a mail (sent, or given up with `error`) and audit it.
    async fn finish(&self, job: &MailJob, error: Option<&str>) {
        let to = job.to.email.to_string();
        let description = match error {
            None => format!("invitation emailed to {to}"),
            Some(e) => format!(
                "invitation email to {to} failed after {} attempts: {e}; resend the invitation",
                self.settings.config.attempts
            ),
        };
        let mail = MailEnd {
            id: job.mail_id,
            tenant: &job.tenant,
            user_id: &job.user_id,
            error,
            attempted: true,
            description,
        };
        if let Err(e) = end_mail(&self.store, self.clock.now(), mail).await {
            tracing::error!(mail = job.mail_id, error = %e, "recording a mail's outcome failed");
        }
    }
}

/// How one mail ended.
struct MailEnd<'a> {
    id: i64,
    tenant: &'a Tenant,
    user_id: &'a str,
    error: Option<&'a str>,
    attempted: bool,
    description: String,
}

/// End a mail row and audit it, in one transaction (nothing when it had
/// ended already).
async fn end_mail(store: &Store, now: OffsetDateTime, m: MailEnd<'_>) -> DirectoryResult<()> {
    let at = datetime::format(now);
    let mut tx = store.write(m.tenant).await?;
    if !tx.end_mail(m.id, &at, m.error, m.attempted).await? {
        return Ok(());
    }
    let action = if m.error.is_none() {
        "invitation_emailed"
    } else {
        "invitation_email_failed"
    };
    let entry = AuditEntry {
        actor: MAILER_ACTOR.into(),
        object_type: "User".into(),
        object_id: Some(m.user_id.to_string()),
        action: action.into(),
        description: m.description,
        ..AuditEntry::default()
    };
    tx.record_audit(now, &entry).await?;
    tx.commit().await?;
    Ok(())
}

impl Directory {
    /// Wait up to `within` for the invitation emails being sent (a command
    /// about to exit, a server shutting down); false if some are still
    /// under way.
    pub async fn flush_mail(&self, within: Duration) -> bool {
        match &self.mailer {
            Some(m) => tokio::time::timeout(within, m.flush()).await.is_ok(),
            None => true,
        }
    }

    /// Mails still pending past their `give_up_at`: the process that held
    /// their link stopped. Marked abandoned and audited; how many.
    pub async fn sweep_abandoned_mail(&self) -> DirectoryResult<usize> {
        let now = self.clock.now();
        let due: Vec<MailRecord> = self
            .store
            .abandoned_mail(&datetime::format(now), 100)
            .await?;
        for m in &due {
            let mail = MailEnd {
                id: m.id,
                tenant: &m.tenant,
                user_id: &m.user_id,
                error: Some("abandoned: the server stopped before the mail was sent"),
                attempted: false,
                description: format!(
                    "invitation email to {} abandoned: the server stopped before it was sent; resend the invitation",
                    m.recipient
                ),
            };
            end_mail(&self.store, now, mail).await?;
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn cfg(extra: &str) -> EmailConfig {
        toml::from_str(&format!(
            "host = \"smtp.example.com\"\nfrom = \"Rollcall <rollcall@example.com>\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn defaults_ports_and_tls() {
        let c = cfg("");
        assert_eq!((c.tls, c.port()), (TlsMode::Starttls, 587));
        assert_eq!(cfg("tls = \"tls\"").port(), 465);
        assert_eq!(cfg("tls = \"none\"\nport = 2525").port(), 2525);
        assert!(c.resolve().is_ok());
        assert!(
            toml::from_str::<EmailConfig>("host = \"h\"\nfrom = \"a@b\"\ntls = \"ssl\"").is_err()
        );
    }

    #[test]
    fn credentials_need_both_halves_and_never_go_in_clear_off_loopback() {
        assert!(cfg("username = \"u\"").resolve().is_err());
        assert!(cfg("password = \"p\"").resolve().is_err());
        assert!(cfg("username = \"u\"\npassword = \"p\"").resolve().is_ok());
        assert!(cfg("username = \"u\"\npassword = \"p\"\ntls = \"none\"")
            .resolve()
            .is_err());
        let local: EmailConfig = toml::from_str(
            "host = \"127.0.0.1\"\nfrom = \"a@b.c\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"",
        )
        .unwrap();
        assert!(local.resolve().is_ok());
        assert!(
            cfg("password = \"p\"\npassword_file = \"/x\"\nusername = \"u\"")
                .resolve()
                .is_err()
        );
    }

    #[test]
    fn password_file_and_template_file_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let tpl = dir.path().join("t.txt");
        std::fs::write(&tpl, "Join {tenant}: {link}\n").unwrap();
        let user = dir.path().join("user");
        std::fs::write(&user, "mailer@acme.test\r\n").unwrap();
        let c = cfg(&format!(
            "username_file = \"{}\"\npassword_file = \"{}\"\ntemplate_file = \"{}\"",
            user.display(),
            pw.display(),
            tpl.display()
        ));
        let s = c.resolve().unwrap();
        assert_eq!(s.username.as_deref(), Some("mailer@acme.test"));
        assert_eq!(s.password.as_deref(), Some("s3cret"));
        let both = cfg(&format!(
            "username = \"u\"\nusername_file = \"{}\"\npassword = \"p\"",
            user.display()
        ));
        assert!(both
            .resolve()
            .unwrap_err()
            .contains("username or username_file"));
        assert_eq!(s.template, "Join {tenant}: {link}\n");
        std::fs::write(&tpl, "no link here").unwrap();
        assert!(c.resolve().is_err());
        let bad: EmailConfig = toml::from_str("host = \"h\"\nfrom = \"not an address\"").unwrap();
        assert!(bad.resolve().is_err());
    }

    #[test]
    fn recipients_and_placeholders() {
        assert_eq!(
            Mailer::recipient(None, "ada@example.com").map(|m| m.email.to_string()),
            Some("ada@example.com".into())
        );
        assert_eq!(
            Mailer::recipient(Some("a@b.io"), "ada").map(|m| m.email.to_string()),
            Some("a@b.io".into())
        );
        assert!(Mailer::recipient(None, "ada").is_none());
        assert_eq!(
            fill(
                "{tenant} {userName} {tenant}",
                &[("tenant", "acme"), ("userName", "x")]
            ),
            "acme x acme"
        );
        assert!(DEFAULT_TEMPLATE.contains("{link}"));
    }
}
