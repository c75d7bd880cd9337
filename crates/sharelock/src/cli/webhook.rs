//! `sharelock webhook …`: the account's signed webhook endpoints (docs/protocol.md §9.9) and their
//! deliveries.

use super::home::Context;
use super::output::{human_time, print_json, resolve_id, rfc3339, short_ids, table};
use super::{CliResult, ExitStatus, Failure};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sharelock_client::OwnerSession;
use sharelock_client::api::ErrorCode;
use sharelock_client::api::webhooks::{DeliveryInfo, DeliveryState, WebhookInfo};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an HTTPS endpoint for some event kinds. Prints its signing secret, shown only this
    /// once (docs/protocol.md §9.9 says how a receiver verifies a delivery).
    Add(AddArgs),
    /// The account's endpoints.
    List,
    /// Remove an endpoint and its deliveries.
    Remove {
        /// The endpoint's id (or an unambiguous prefix).
        webhook: String,
    },
    /// An endpoint's newest deliveries, each with its attempts' outcomes.
    Deliveries(DeliveriesArgs),
    /// Send a signed test delivery (`ping`) to an endpoint and wait for its outcome.
    Ping(PingArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Where deliveries are POSTed (https://…).
    url: String,
    /// An event kind to deliver (repeat, or separate with commas): share_opened, record_edited,
    /// share_ended, access_failures, device_refused, file_added, record_destroyed.
    #[arg(
        long = "kind",
        value_name = "KIND",
        value_delimiter = ',',
        required = true
    )]
    kinds: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// The endpoint's id (or an unambiguous prefix).
    webhook: String,
    /// How many of the newest deliveries (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    /// The endpoint's id (or an unambiguous prefix).
    webhook: String,
    /// Only queue the ping; do not wait for its first attempt.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for the first attempt's outcome, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    wait: u64,
}

pub async fn run(ctx: &Context, command: WebhookCommand) -> CliResult {
    let session = ctx.session()?;
    match command {
        WebhookCommand::Add(args) => add(ctx, &session, args).await,
        WebhookCommand::List => list(ctx, &session).await,
        WebhookCommand::Remove { webhook } => remove(ctx, &session, &webhook).await,
        WebhookCommand::Deliveries(args) => deliveries(ctx, &session, args).await,
        WebhookCommand::Ping(args) => ping(ctx, &session, args).await,
    }
}

fn webhook_json(w: &WebhookInfo) -> Value {
    json!({"id": w.id, "url": w.url, "kinds": w.kinds, "created_at": rfc3339(w.created_at)})
}

fn state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

fn delivery_json(d: &DeliveryInfo) -> Value {
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "kind": d.kind,
        "share": d.share,
        "record": d.record,
        "at": rfc3339(d.at),
        "state": state_name(d.state),
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.map(rfc3339),
        "finished_at": d.finished_at.map(rfc3339),
        "log": d.log.iter().map(|a| json!({
            "n": a.n,
            "started_at": rfc3339(a.started_at),
            "finished_at": a.finished_at.map(rfc3339),
            "status": a.status,
            "error": a.error,
            "next_attempt_at": a.next_attempt_at.map(rfc3339),
        })).collect::<Vec<_>>(),
    })
}

/// The latest attempt's outcome in words.
fn outcome(d: &DeliveryInfo) -> String {
    match d.log.last() {
        None => "not attempted yet".into(),
        Some(a) => match (a.status, a.error.as_deref(), a.finished_at) {
            (Some(status), _, _) => format!("HTTP {status}"),
            (None, Some(error), _) => error.replace('_', " "),
            (None, None, None) => "running (or its server stopped)".into(),
            (None, None, Some(_)) => "no answer".into(),
        },
    }
}

/// Control characters out: the server's text goes to a terminal.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

async fn resolve(session: &OwnerSession, input: &str) -> CliResult<Uuid> {
    let ids: Vec<Uuid> = session.webhooks().await?.iter().map(|w| w.id).collect();
    resolve_id("webhook", input, &ids)
}

async fn add(ctx: &Context, session: &OwnerSession, args: AddArgs) -> CliResult {
    let created = session
        .create_webhook(&args.url, &args.kinds)
        .await
        .map_err(|e| {
            // An unknown kind is the caller's mistake, like any other bad argument.
            let usage = e.code() == Some(ErrorCode::MalformedRequest);
            let mut failure = Failure::from(e);
            if usage {
                failure.status = ExitStatus::Usage;
            }
            failure
        })?;
    if ctx.json() {
        print_json(&json!({"webhook": webhook_json(&created.webhook), "secret": created.secret}));
        return Ok(());
    }
    println!(
        "Webhook {} added for {}.",
        created.webhook.id,
        created.webhook.kinds.join(", ")
    );
    println!("Signing secret (shown only now; keep it with the receiver):");
    println!("{}", created.secret);
    Ok(())
}

async fn list(ctx: &Context, session: &OwnerSession) -> CliResult {
    let hooks = session.webhooks().await?;
    if ctx.json() {
        print_json(&json!({"webhooks": hooks.iter().map(webhook_json).collect::<Vec<_>>()}));
        return Ok(());
    }
    if hooks.is_empty() {
        println!("No webhooks.");
        return Ok(());
    }
    let ids: Vec<Uuid> = hooks.iter().map(|w| w.id).collect();
    let mut t = table(&["WEBHOOK", "URL", "KINDS", "ADDED"]);
    for (w, id) in hooks.iter().zip(short_ids(&ids)) {
        t.add_row(vec![
            id,
            clean(&w.url),
            w.kinds.join(", "),
            human_time(w.created_at),
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn remove(ctx: &Context, session: &OwnerSession, input: &str) -> CliResult {
    let id = resolve(session, input).await?;
    session.delete_webhook(id).await?;
    if ctx.json() {
        print_json(&json!({"webhook": id, "removed": true}));
    } else {
        println!("Webhook {id} removed; nothing more is delivered to it.");
    }
    Ok(())
}

async fn deliveries(ctx: &Context, session: &OwnerSession, args: DeliveriesArgs) -> CliResult {
    let id = resolve(session, &args.webhook).await?;
    let list = session.webhook_deliveries(id, args.limit).await?;
    if ctx.json() {
        print_json(&json!({"deliveries": list.iter().map(delivery_json).collect::<Vec<_>>()}));
        return Ok(());
    }
    if list.is_empty() {
        println!("No deliveries yet.");
        return Ok(());
    }
    let mut t = table(&[
        "DELIVERY",
        "KIND",
        "AT",
        "STATE",
        "ATTEMPTS",
        "LAST OUTCOME",
        "NEXT",
    ]);
    for d in &list {
        t.add_row(vec![
            d.id.to_string(),
            clean(&d.kind),
            human_time(d.at),
            state_name(d.state).to_owned(),
            d.attempts.to_string(),
            outcome(d),
            match d.state {
                DeliveryState::Pending => d.next_attempt_at.map(human_time).unwrap_or_default(),
                _ => String::new(),
            },
        ]);
    }
    println!("{t}");
    Ok(())
}

async fn ping(ctx: &Context, session: &OwnerSession, args: PingArgs) -> CliResult {
    let id = resolve(session, &args.webhook).await?;
    let delivery = session.ping_webhook(id).await?;
    if args.no_wait {
        if ctx.json() {
            print_json(&json!({"delivery": delivery, "state": "pending"}));
        } else {
            println!("Ping queued (delivery {delivery}).");
        }
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(args.wait);
    loop {
        let list = session.webhook_deliveries(id, 100).await?;
        let found = list.into_iter().find(|d| d.id == delivery);
        let attempted = found
            .as_ref()
            .filter(|d| d.log.first().is_some_and(|a| a.finished_at.is_some()));
        if let Some(d) = attempted {
            let first = &d.log[0];
            let ok = first.status.is_some_and(|s| (200..300).contains(&s));
            if ctx.json() {
                print_json(&delivery_json(d));
            } else if ok {
                println!("Ping delivered: the endpoint answered {}.", outcome(d));
            }
            if ok {
                return Ok(());
            }
            let what = match (first.status, first.error.as_deref()) {
                (Some(status), _) => format!("the endpoint answered HTTP {status}"),
                (None, Some(error)) => format!("the attempt failed ({})", error.replace('_', " ")),
                (None, None) => "the attempt failed".into(),
            };
            let retry = match d.state {
                DeliveryState::Pending => d
                    .next_attempt_at
                    .map(|t| format!("; it is tried again at {}", human_time(t)))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(Failure::other(format!("ping not delivered: {what}{retry}")));
        }
        if Instant::now() >= deadline {
            return Err(Failure::other(format!(
                "no outcome for the ping (delivery {delivery}) after {} s; see sharelock webhook \
                 deliveries {id}",
                args.wait
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
