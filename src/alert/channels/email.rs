//! Email over SMTP (lettre): STARTTLS (required), implicit TLS or plain; optional login;
//! a multipart/alternative message with a plain-text and an HTML part.

use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Deliverer, DeliveryError, reason};
use crate::alert::notification::{
    Notification, email_html, email_subject, email_text, render_template,
};
use crate::alert::{ChannelTemplate, EmailChannel, SmtpTls};

/// Subject, text body and HTML body of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EmailContent {
    /// The `Subject:` (one line).
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
}

/// Render the email for `n`; the `subject` and `body` templates replace the subject and the
/// plain-text part (the HTML part is then the text body, escaped, in a `<pre>`).
pub(super) fn content(
    template: Option<&ChannelTemplate>,
    n: &Notification,
) -> Result<EmailContent, DeliveryError> {
    let subject = match template.and_then(|t| t.subject.as_deref()) {
        Some(source) => render_template(source, n)
            .map_err(DeliveryError::Template)?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        None => email_subject(n),
    };
    let (text, html) = match template.and_then(|t| t.body.as_deref()) {
        Some(source) => {
            let text = render_template(source, n).map_err(DeliveryError::Template)?;
            let html = format!(
                "<!DOCTYPE html>\n<html><body><pre>{}</pre></body></html>\n",
                crate::report::escape_html(&text)
            );
            (text, html)
        }
        None => (email_text(n), email_html(n)),
    };
    Ok(EmailContent {
        subject,
        text,
        html,
    })
}

/// Build the message: From, To, Subject, Date and a multipart/alternative body.
fn message(e: &EmailChannel, c: EmailContent) -> Result<Message, DeliveryError> {
    let mailbox = |s: &str| {
        s.parse::<Mailbox>()
            .map_err(|err| DeliveryError::Address(format!("{s:?}: {err}")))
    };
    let mut builder = Message::builder()
        .from(mailbox(&e.from)?)
        .subject(c.subject)
        .message_id(None)
        .user_agent(concat!("dcrawl/", env!("CARGO_PKG_VERSION")).to_string());
    for to in &e.to {
        builder = builder.to(mailbox(to)?);
    }
    if e.to.is_empty() {
        return Err(DeliveryError::Address("no recipient".into()));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(c.text, c.html))
        .map_err(|err| DeliveryError::Address(err.to_string()))
}

/// The lettre transport for the channel's server, security and login.
fn transport(
    e: &EmailChannel,
    d: &Deliverer,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let params = || {
        TlsParameters::builder(e.host.clone())
            .dangerous_accept_invalid_certs(!e.tls_verify)
            .build()
            .map_err(|err| DeliveryError::Invalid(format!("TLS setup: {err}")))
    };
    let tls = match e.tls {
        SmtpTls::Starttls => Tls::Required(params()?),
        SmtpTls::Tls => Tls::Wrapper(params()?),
        SmtpTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(e.host.clone())
        .port(e.port)
        .tls(tls)
        .timeout(Some(d.timeout));
    if let Some(user) = &e.username {
        let password = e
            .password
            .as_ref()
            .map(|p| p.expose().clone())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// Send the notification to every recipient in one SMTP transaction.
pub(super) async fn deliver(
    d: &Deliverer,
    e: &EmailChannel,
    template: Option<&ChannelTemplate>,
    n: &Notification,
) -> Result<(), DeliveryError> {
    let msg = message(e, content(template, n)?)?;
    let mailer = transport(e, d)?;
    let server = format!("{}:{}", e.host, e.port);
    let sent = tokio::time::timeout(d.timeout, mailer.send(msg)).await;
    match sent {
        Err(_) => Err(DeliveryError::Timeout {
            after: d.timeout,
            target: format!("smtp://{server}"),
        }),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(smtp_error(&err, d, server)),
    }
}

/// Classify a lettre error: a server reply, a timeout, or a transport problem.
fn smtp_error(
    err: &lettre::transport::smtp::Error,
    d: &Deliverer,
    server: String,
) -> DeliveryError {
    if let Some(code) = err.status() {
        let message = std::error::Error::source(err)
            .map(|s| s.to_string())
            .unwrap_or_default();
        return DeliveryError::Smtp {
            code: code.into(),
            message,
            server,
        };
    }
    if err.is_timeout() {
        return DeliveryError::Timeout {
            after: d.timeout,
            target: format!("smtp://{server}"),
        };
    }
    DeliveryError::Transport {
        target: format!("smtp://{server}"),
        reason: reason(err),
    }
}
