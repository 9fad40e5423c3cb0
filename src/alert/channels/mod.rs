//! Delivering notifications: email (SMTP via lettre), webhooks (JSON, Slack) and Alertmanager.
