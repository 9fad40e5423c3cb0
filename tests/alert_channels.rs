//! Alert channels against real receivers on 127.0.0.1: an axum webhook recorder, aiosmtpd
//! (plain, STARTTLS with a self-signed certificate, AUTH) and `prometheus-alertmanager`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/receivers.rs"]
mod receivers;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use dcrawl::alert::channels::{Deliverer, DeliveryError};
use dcrawl::alert::notification::{AlertStatus, Notification};
use dcrawl::alert::{
    AlertmanagerChannel, Channel, ChannelKind, ChannelTemplate, EmailChannel, SmtpTls,
    WebhookChannel, WebhookFormat,
};
use dcrawl::result::Failure;
use receivers::{Alertmanager, Mail, SmtpOptions, SmtpReceiver, WebhookReceiver, closed_port_url};
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A firing notification for shop/home with two failures.
fn firing() -> Notification {
    Notification {
        channel: "c".into(),
        status: AlertStatus::Firing,
        spec: "shop".into(),
        target: "home".into(),
        url: "https://shop.example.com/".into(),
        labels: BTreeMap::from([
            ("team".to_string(), "web".to_string()),
            ("severity".to_string(), "page".to_string()),
        ]),
        since: at("2026-11-25T10:00:00.250Z"),
        resolved_at: None,
        consecutive_failures: 3,
        result: "failure".into(),
        error: None,
        failures: vec![
            Failure::new(
                "html[0]",
                "html[0] \"ul.products > li\": expected count >= 10, found 3",
            ),
            Failure::new("status", "expected 2xx, found 503 <b>&</b>"),
        ],
        repeat: false,
        status_page: Some("http://dcrawl.example:9813/".into()),
        screenshot_url: None,
        created_at: at("2026-11-25T10:02:00Z"),
    }
}

/// The same alert, recovered.
fn resolved() -> Notification {
    Notification {
        status: AlertStatus::Resolved,
        resolved_at: Some(at("2026-11-25T10:07:30Z")),
        result: "success".into(),
        failures: vec![],
        status_page: None,
        screenshot_url: None,
        created_at: at("2026-11-25T10:07:30Z"),
        ..firing()
    }
}

fn channel(kind: ChannelKind) -> Channel {
    Channel {
        name: "c".into(),
        kind,
        template: None,
        secrets: Default::default(),
    }
}

fn webhook(url: url::Url, format: WebhookFormat, headers: &[(&str, &str)]) -> Channel {
    channel(ChannelKind::Webhook(WebhookChannel {
        url,
        format,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }))
}

fn deliverer() -> Deliverer {
    Deliverer::new(Duration::from_secs(10)).unwrap()
}

// ------------------------------------------------------------------------------------------
// Webhooks

#[tokio::test]
async fn webhook_json_firing_and_resolved_payloads_arrive_exactly() {
    let rx = WebhookReceiver::start().await;
    let ch = webhook(
        rx.url("/ok"),
        WebhookFormat::Json,
        &[("Authorization", "Bearer tok"), ("X-Env", "prod")],
    );
    let d = deliverer();
    d.deliver(&ch, &firing()).await.unwrap();
    d.deliver(&ch, &resolved()).await.unwrap();
    let got = rx.all();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("content-type").unwrap(), "application/json");
    assert_eq!(got[0].header("authorization").unwrap(), "Bearer tok");
    assert_eq!(got[0].header("x-env").unwrap(), "prod");
    assert_eq!(
        got[0].json(),
        json!({
            "version": "1", "status": "firing", "spec": "shop", "target": "home",
            "url": "https://shop.example.com/", "labels": {"team": "web", "severity": "page"},
            "since": "2026-11-25T10:00:00Z", "consecutive_failures": 3, "result": "failure",
            "failures": [
                {"assertion": "html[0]",
                 "message": "html[0] \"ul.products > li\": expected count >= 10, found 3"},
                {"assertion": "status", "message": "expected 2xx, found 503 <b>&</b>"}
            ],
            "resolved_at": null, "error": null, "repeat": false,
            "status_page": "http://dcrawl.example:9813/", "screenshot_url": null
        })
    );
    assert_eq!(
        got[1].json(),
        json!({
            "version": "1", "status": "resolved", "spec": "shop", "target": "home",
            "url": "https://shop.example.com/", "labels": {"team": "web", "severity": "page"},
            "since": "2026-11-25T10:00:00Z", "consecutive_failures": 3, "result": "success",
            "failures": [], "resolved_at": "2026-11-25T10:07:30Z", "error": null,
            "repeat": false, "status_page": null, "screenshot_url": null
        })
    );
}

#[tokio::test]
async fn webhook_slack_text_carries_the_facts() {
    let rx = WebhookReceiver::start().await;
    let ch = webhook(rx.url("/ok"), WebhookFormat::Slack, &[]);
    let d = deliverer();
    d.deliver(&ch, &firing()).await.unwrap();
    d.deliver(&ch, &resolved()).await.unwrap();
    let got = rx.all();
    let body = got[0].json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let text = body["text"].as_str().unwrap();
    assert_eq!(
        text,
        ":red_circle: *[FIRING] shop/home*\n\
         URL: https://shop.example.com/\n\
         Failing since 2026-11-25T10:00:00Z (3 consecutive failed runs, last result: failure)\n\
         Failures:\n\
         • html[0] \"ul.products &gt; li\": expected count &gt;= 10, found 3\n\
         • status: expected 2xx, found 503 &lt;b&gt;&amp;&lt;/b&gt;\n\
         Status page: http://dcrawl.example:9813/"
    );
    let text = got[1].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(":large_green_circle: *[RESOLVED] shop/home*\n"),
        "{text}"
    );
    assert!(text.contains("Recovered at 2026-11-25T10:07:30Z"), "{text}");
}

#[tokio::test]
async fn webhook_payload_template_renders_json_and_bad_json_is_permanent() {
    let rx = WebhookReceiver::start().await;
    let mut ch = webhook(rx.url("/ok"), WebhookFormat::Json, &[]);
    ch.template = Some(ChannelTemplate {
        payload: Some(
            r#"{"alert": "{{ spec }}/{{ target }}", "first": {{ failures[0].message | tojson }}}"#
                .into(),
        ),
        ..ChannelTemplate::default()
    });
    let d = deliverer();
    d.deliver(&ch, &firing()).await.unwrap();
    assert_eq!(
        rx.all()[0].json(),
        json!({"alert": "shop/home",
               "first": "html[0] \"ul.products > li\": expected count >= 10, found 3"})
    );
    ch.template = Some(ChannelTemplate {
        payload: Some(r#"{"first": "{{ failures[0].message }}"}"#.into()),
        ..ChannelTemplate::default()
    });
    let err = d.deliver(&ch, &firing()).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Template(_)), "{err}");
    assert!(err.is_permanent());
    assert!(
        err.to_string()
            .starts_with("template: payload is not valid JSON"),
        "{err}"
    );
    assert_eq!(rx.all().len(), 1, "nothing is sent when the template fails");
}

#[tokio::test]
async fn webhook_500_is_retried_and_its_body_cut_to_200_bytes() {
    let rx = WebhookReceiver::start().await;
    let ch = webhook(rx.url("/status/500"), WebhookFormat::Json, &[]);
    let err = deliverer().deliver(&ch, &firing()).await.unwrap_err();
    assert!(!err.is_permanent());
    let DeliveryError::Http { status, url, body } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 500);
    assert_eq!(url, &format!("{}/status/500", rx.base));
    assert_eq!(body.len(), 200);
    assert!(
        err.to_string()
            .starts_with(&format!("HTTP 500 from {}/status/500: rejected", rx.base))
    );
    assert_eq!(rx.all().len(), 1);
}

#[tokio::test]
async fn webhook_400_is_permanent_429_is_not() {
    let rx = WebhookReceiver::start().await;
    let d = deliverer();
    let err = d
        .deliver(
            &webhook(rx.url("/status/400"), WebhookFormat::Json, &[]),
            &firing(),
        )
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    let err = d
        .deliver(
            &webhook(rx.url("/status/429"), WebhookFormat::Json, &[]),
            &firing(),
        )
        .await
        .unwrap_err();
    assert!(!err.is_permanent(), "{err}");
}

#[tokio::test]
async fn webhook_secrets_are_redacted_from_errors() {
    let rx = WebhookReceiver::start().await;
    let mut ch = webhook(
        rx.url("/status/401?key=urlsecret"),
        WebhookFormat::Json,
        &[("Authorization", "Bearer hdrsecret")],
    );
    ch.secrets = vec!["urlsecret".into(), "Bearer hdrsecret".into()].into();
    let err = deliverer().deliver(&ch, &firing()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("key=***"), "{msg}");
    assert!(msg.contains("rejected ***"), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
    assert_eq!(
        rx.all()[0].header("authorization").unwrap(),
        "Bearer hdrsecret"
    );
}

#[tokio::test]
async fn webhook_hanging_receiver_times_out() {
    let rx = WebhookReceiver::start().await;
    let d = Deliverer::new(Duration::from_secs(1)).unwrap();
    let started = Instant::now();
    let err = d
        .deliver(
            &webhook(rx.url("/hang"), WebhookFormat::Json, &[]),
            &firing(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().starts_with("timeout after 1s"), "{err}");
    assert!(!err.is_permanent());
    // Generous bound: the point is that it gives up at all, not how fast.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(rx.all().len(), 1);
}

#[tokio::test]
async fn webhook_connection_refused_and_redirects_not_followed() {
    let d = deliverer();
    let ch = webhook(
        url::Url::parse(&closed_port_url()).unwrap(),
        WebhookFormat::Json,
        &[],
    );
    let err = d.deliver(&ch, &firing()).await.unwrap_err();
    assert!(err.to_string().ends_with(": connection refused"), "{err}");
    assert!(!err.is_permanent());

    let rx = WebhookReceiver::start().await;
    let err = d
        .deliver(
            &webhook(rx.url("/redirect"), WebhookFormat::Json, &[]),
            &firing(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Http { status: 302, .. }),
        "{err:?}"
    );
    let paths: Vec<String> = rx.all().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/redirect"]);
}

// ------------------------------------------------------------------------------------------
// Email

fn email(port: u16, tls: SmtpTls, to: &[&str]) -> EmailChannel {
    EmailChannel {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: None,
        password: None,
        tls_verify: true,
        from: "dcrawl <dcrawl@example.com>".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
    }
}

/// The checks every delivered alert mail must pass.
fn assert_alert_mail(raw: &str) -> Mail {
    let mail = Mail::parse(raw);
    assert_eq!(
        mail.header("subject"),
        "[FIRING] shop/home: html[0] \"ul.products > li\": expected count >= 10, found 3"
    );
    assert_eq!(mail.header("from"), "dcrawl <dcrawl@example.com>");
    assert!(
        mail.header("to").contains("oncall@example.com"),
        "{:?}",
        mail.headers
    );
    assert!(
        mail.header("content-type")
            .starts_with("multipart/alternative")
    );
    assert!(mail.header("message-id").starts_with('<'));
    assert!(mail.header("date").ends_with("+0000"));
    let text = mail.part("text/plain");
    assert!(
        text.contains("- html[0] \"ul.products > li\": expected count >= 10, found 3"),
        "{text}"
    );
    assert!(text.contains("URL: https://shop.example.com/"), "{text}");
    assert!(
        text.contains("Failing since 2026-11-25T10:00:00Z (3 consecutive failed runs"),
        "{text}"
    );
    assert!(
        text.contains("Status page: http://dcrawl.example:9813/"),
        "{text}"
    );
    let html = mail.part("text/html");
    assert!(
        html.contains("html[0] &quot;ul.products &gt; li&quot;: expected count &gt;= 10, found 3"),
        "{html}"
    );
    assert!(
        html.contains("found 503 &lt;b&gt;&amp;&lt;/b&gt;"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"http://dcrawl.example:9813/\">"),
        "{html}"
    );
    mail
}

#[tokio::test]
async fn email_plain_smtp_delivers_text_and_html() {
    let Some(smtp) = SmtpReceiver::start(&SmtpOptions::default()) else {
        return;
    };
    let ch = channel(ChannelKind::Email(email(
        smtp.port,
        SmtpTls::None,
        &["oncall@example.com", "Ops <ops@example.com>"],
    )));
    deliverer().deliver(&ch, &firing()).await.unwrap();
    deliverer().deliver(&ch, &resolved()).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].meta["mail_from"], "dcrawl@example.com");
    assert_eq!(
        mails[0].meta["rcpt_tos"],
        json!(["oncall@example.com", "ops@example.com"])
    );
    assert_eq!(mails[0].meta["tls"], false);
    let mail = assert_alert_mail(&mails[0].raw);
    assert!(mail.header("to").contains("ops@example.com"));
    let resolved = Mail::parse(&mails[1].raw);
    assert_eq!(resolved.header("subject"), "[RESOLVED] shop/home");
    assert!(
        resolved
            .part("text/plain")
            .contains("Recovered at 2026-11-25T10:07:30Z")
    );
    assert!(resolved.part("text/html").contains("[RESOLVED] shop/home"));
}

#[tokio::test]
async fn email_starttls_with_a_self_signed_certificate() {
    let opts = SmtpOptions {
        starttls: true,
        auth: None,
    };
    let Some(smtp) = SmtpReceiver::start(&opts) else {
        return;
    };
    let mut e = email(smtp.port, SmtpTls::Starttls, &["oncall@example.com"]);
    // Verified (the default): the self-signed certificate is refused, and retried later.
    let err = deliverer()
        .deliver(&channel(ChannelKind::Email(e.clone())), &firing())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transport { .. }), "{err:?}");
    assert!(!err.is_permanent());
    assert!(smtp.mails().is_empty());
    // Plain SMTP against a server that requires STARTTLS is refused by the server.
    let err = deliverer()
        .deliver(
            &channel(ChannelKind::Email(email(
                smtp.port,
                SmtpTls::None,
                &["oncall@example.com"],
            ))),
            &firing(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("SMTP 530"), "{err}");

    e.tls_verify = false;
    deliverer()
        .deliver(&channel(ChannelKind::Email(e)), &firing())
        .await
        .unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].meta["tls"], true);
    assert_alert_mail(&mails[0].raw);
}

#[tokio::test]
async fn email_auth_over_starttls_and_a_wrong_password() {
    let opts = SmtpOptions {
        starttls: true,
        auth: Some(("dcrawl".into(), "pa55word".into())),
    };
    let Some(smtp) = SmtpReceiver::start(&opts) else {
        return;
    };
    let mut e = email(smtp.port, SmtpTls::Starttls, &["oncall@example.com"]);
    e.tls_verify = false;
    e.username = Some("dcrawl".into());
    e.password = Some("wrong-pa55".into());
    let mut ch = channel(ChannelKind::Email(e.clone()));
    ch.secrets = vec!["wrong-pa55".into()].into();
    let err = deliverer().deliver(&ch, &firing()).await.unwrap_err();
    assert!(err.to_string().starts_with("SMTP 535"), "{err}");
    assert!(err.is_permanent());
    assert!(!err.to_string().contains("wrong-pa55"), "{err}");
    assert!(smtp.mails().is_empty());

    e.password = Some("pa55word".into());
    deliverer()
        .deliver(&channel(ChannelKind::Email(e)), &firing())
        .await
        .unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].meta["auth_user"], "dcrawl");
    assert_alert_mail(&mails[0].raw);
}

#[tokio::test]
async fn email_rejected_recipient_is_permanent_and_templates_apply() {
    let Some(smtp) = SmtpReceiver::start(&SmtpOptions::default()) else {
        return;
    };
    let d = deliverer();
    let ch = channel(ChannelKind::Email(email(
        smtp.port,
        SmtpTls::None,
        &["reject@example.com"],
    )));
    let err = d.deliver(&ch, &firing()).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("SMTP 550 5.1.1 <reject@example.com>"),
        "{err}"
    );
    assert!(err.is_permanent());
    let bad = channel(ChannelKind::Email(email(
        smtp.port,
        SmtpTls::None,
        &["not an address"],
    )));
    let err = d.deliver(&bad, &firing()).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Address(_)), "{err:?}");
    assert!(err.is_permanent());

    let mut ch = channel(ChannelKind::Email(email(
        smtp.port,
        SmtpTls::None,
        &["oncall@example.com"],
    )));
    ch.template = Some(ChannelTemplate {
        subject: Some("{{ spec }} down ({{ consecutive_failures }}x) – {{ labels.team }}".into()),
        body: Some(
            "{% for f in failures %}* {{ f.assertion }}\n{% endfor %}<see {{ url }}>".into(),
        ),
        payload: None,
    });
    d.deliver(&ch, &firing()).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = Mail::parse(&mails[0].raw);
    assert_eq!(mail.header("subject"), "shop down (3x) – web");
    assert_eq!(
        mail.part("text/plain").trim_end(),
        "* html[0]\n* status\n<see https://shop.example.com/>"
    );
    assert!(
        mail.part("text/html")
            .contains("&lt;see https://shop.example.com/&gt;")
    );
}

// ------------------------------------------------------------------------------------------
// Alertmanager

#[tokio::test]
async fn alertmanager_accepts_firing_then_resolved() {
    let Some(am) = Alertmanager::start().await else {
        return;
    };
    let amc = AlertmanagerChannel {
        url: url::Url::parse(&am.base).unwrap(),
    };
    let ch = channel(ChannelKind::Alertmanager(amc.clone()));
    let now = Utc::now().trunc_subsecs(0);
    let mut n = firing();
    n.labels.insert("spec".into(), "not-ours".into());
    n.labels.insert("owner-team".into(), "shop-devs".into());
    n.since = now - chrono::Duration::minutes(5);
    let d = deliverer();
    d.deliver(&ch, &n).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        let found = am.alerts().await.into_iter().find(|a| {
            a["labels"]["alertname"] == "DcrawlTargetDown" && a["labels"]["target"] == "home"
        });
        if let Some(a) = found {
            break a;
        }
        assert!(Instant::now() < deadline, "the alert never showed up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        alert["labels"],
        json!({"alertname": "DcrawlTargetDown", "spec": "shop", "target": "home",
               "team": "web", "severity": "page", "owner_team": "shop-devs"})
    );
    assert_eq!(alert["status"]["state"], "active");
    assert_eq!(alert["generatorURL"], "http://dcrawl.example:9813/");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert_eq!(
        summary,
        "shop/home is failing: html[0] \"ul.products > li\": expected count >= 10, found 3"
    );
    let description = alert["annotations"]["description"].as_str().unwrap();
    assert!(
        description.contains("- status: expected 2xx, found 503"),
        "{description}"
    );
    let starts = DateTime::parse_from_rfc3339(alert["startsAt"].as_str().unwrap()).unwrap();
    assert_eq!(starts, n.since);

    // Resolved (endsAt in the past), through the engine's batch re-post.
    let mut r = n.clone();
    r.status = AlertStatus::Resolved;
    r.resolved_at = Some(now - chrono::Duration::seconds(1));
    d.post_alertmanager(&amc, &[r]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let still = am
            .alerts()
            .await
            .into_iter()
            .any(|a| a["labels"]["target"] == "home" && a["status"]["state"] == "active");
        if !still {
            break;
        }
        assert!(Instant::now() < deadline, "the alert never resolved");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn alertmanager_rejects_an_invalid_alert_with_a_permanent_error() {
    let Some(am) = Alertmanager::start().await else {
        return;
    };
    // Resolved before it started: Alertmanager answers 400 ("start time must be before end
    // time"). A label name with a dash is sent as `team_name`, which it accepts.
    let mut n = firing();
    n.labels.insert("team-name".into(), "x".into());
    n.status = AlertStatus::Resolved;
    n.resolved_at = Some(n.since - chrono::Duration::minutes(1));
    let amc = AlertmanagerChannel {
        url: url::Url::parse(&am.base).unwrap(),
    };
    let err = deliverer().post_alertmanager(&amc, &[n]).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Http { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("start time must be before end time"),
        "{err}"
    );
    assert!(err.is_permanent());
}
