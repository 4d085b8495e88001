//! The webhook receiver: `POST /webhooks/{connection_id}`. It verifies, deduplicates, enqueues and answers; it
//! applies nothing itself (the worker does), so HR systems get their 2xx fast.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{Duration, Utc};
use ithub::domain::ConnectionId;
use ithub::messages::{EmployeeObserved, EmployeeRemoved, Message, Source};
use ithub::providers::WebhookError;
use ithub::queue::Queue;
use ithub::secrets::{ConnectionSecret, Secrets};
use ithub::store::{DeliveryClaim, Store};

/// HR payloads are small; anything larger is not a webhook we expect.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How long a delivery is remembered, to drop redeliveries.
pub const DEDUP_WINDOW: Duration = Duration::hours(24);
/// How long a delivery being queued holds its claim: a copy arriving meanwhile is told to retry, and a claim
/// whose process died is free again after this.
pub const IN_PROGRESS_FOR: Duration = Duration::seconds(60);
/// How often a connection may ask its HR system to confirm a subscription handshake.
const HANDSHAKE_EVERY: Duration = Duration::seconds(10);
/// A failed signature is checked against the secret as read at most this long ago.
const FRESH_ENOUGH: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct Webhooks {
    pub store: Store,
    pub queue: Queue,
    pub secrets: Secrets,
    /// For the HR calls a subscription handshake makes.
    pub http: ithub::providers::Http,
}

pub fn router(state: Webhooks) -> Router {
    Router::new()
        .route("/webhooks/{connection_id}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn problem(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Response {
    ithub::problem::problem(status, slug, title, detail).into_response()
}

fn not_verified(error: &WebhookError) -> Response {
    problem(StatusCode::UNAUTHORIZED, "bad-webhook-signature", "Delivery not verified", error.to_string())
}

/// A connection id nobody has is answered exactly as a bad signature: a stranger learns nothing about which ids
/// exist.
fn unknown_connection() -> Response {
    not_verified(&WebhookError::BadSignature)
}

async fn receive(
    State(hooks): State<Webhooks>,
    Path(connection_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    // A body over the limit (or one that could not be read) gets a problem with a reason, as every refusal does.
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let detail = format!("the delivery is larger than {MAX_BODY_BYTES} bytes");
            return problem(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Delivery too large", detail);
        }
        Err(rejection) => {
            return problem(rejection.status(), "bad-webhook-payload", "Delivery not readable", rejection.body_text());
        }
    };
    let Some(connection_id) = ConnectionId::parse(&connection_id) else {
        return unknown_connection();
    };
    let connection = match hooks.store.find_connection(&connection_id).await {
        // A connector whose HR system sends no webhooks has no webhook URL.
        Ok(Some(connection)) if connection.provider.kind().capabilities().webhooks => connection,
        Ok(_) => return unknown_connection(),
        Err(error) => {
            return unavailable(&connection_id, "could not read the connection", &error);
        }
    };
    let now = Utc::now();
    let verify = |secret: ConnectionSecret| {
        connection.provider.kind().verify_webhook(&secret.webhook_secrets, &headers, &body, now)
    };
    let verdict = match hooks.secrets.of_connection(&connection).await {
        // A rotation through IT Hub is seen at once (the connection says when its secrets changed); one made in
        // Secrets Manager by hand is found by checking a failed signature once more against a recent read (at
        // most one Secrets Manager read per connection every few seconds, however many forgeries arrive).
        Ok(secret) => match verify(secret) {
            Err(WebhookError::BadSignature) => {
                hooks.secrets.get_recent(&connection.secret_id, FRESH_ENOUGH).await.map(verify)
            }
            verdict => Ok(verdict),
        },
        Err(error) => Err(error),
    };
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(error) => {
            return unavailable(&connection_id, "could not read the connection's webhook secrets", &error);
        }
    };
    let delivery = match verdict {
        Ok(delivery) => delivery,
        Err(WebhookError::Handshake(token)) => return handshake(&hooks, &connection, token).await,
        Err(error @ WebhookError::BadPayload(_)) => {
            tracing::warn!(%connection_id, %error, "refused a signed delivery");
            return problem(StatusCode::BAD_REQUEST, "bad-webhook-payload", "Unreadable payload", error.to_string());
        }
        Err(error) => {
            tracing::warn!(%connection_id, %error, "refused an unverified delivery");
            return not_verified(&error);
        }
    };
    if delivery.hr_ids.is_empty() {
        // A verified connection test that names nobody: acknowledged, nothing to queue.
        tracing::info!(%connection_id, "acknowledged a connection test");
        return (StatusCode::OK, axum::Json(serde_json::json!({ "status": "acknowledged", "queued": 0 })))
            .into_response();
    }
    let claim = format!("webhook#{connection_id}#{}", delivery.delivery_key);
    match hooks.store.claim_delivery(&claim, IN_PROGRESS_FOR, now).await {
        Ok(DeliveryClaim::Claimed) => {}
        Ok(DeliveryClaim::Done) => {
            tracing::info!(%connection_id, "dropped a redelivery");
            return (StatusCode::OK, axum::Json(serde_json::json!({ "status": "duplicate", "queued": 0 })))
                .into_response();
        }
        Ok(DeliveryClaim::InProgress) => {
            // The same delivery is being queued right now: its sender should ask again, not count it done.
            tracing::info!(%connection_id, "a copy of this delivery is being queued");
            let mut answer = problem(
                StatusCode::CONFLICT,
                "delivery-in-progress",
                "Delivery in progress",
                "the same delivery is being accepted right now; please retry",
            );
            answer
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(IN_PROGRESS_FOR.num_seconds() as u32));
            return answer;
        }
        Err(error) => {
            return unavailable(&connection_id, "could not record the delivery", &error);
        }
    }
    let hints: Vec<Message> = delivery
        .hr_ids
        .iter()
        .map(|hr_id| {
            if delivery.removed.contains(hr_id) {
                // Deleted in the HR system, it says: the worker confirms that before offboarding anyone.
                return Message::EmployeeRemoved(EmployeeRemoved {
                    tenant_id: connection.tenant_id.clone(),
                    connection_id: connection.id.clone(),
                    hr_id: hr_id.clone(),
                    source: Source::Webhook,
                    removed_at: now,
                    run_key: None,
                });
            }
            Message::EmployeeObserved(EmployeeObserved {
                tenant_id: connection.tenant_id.clone(),
                connection_id: connection.id.clone(),
                hr_id: hr_id.clone(),
                source: Source::Webhook,
                observed_at: now,
                record: None,
                delivery_key: Some(delivery.delivery_key.clone()),
                initial_import: false,
                run_key: None,
            })
        })
        .collect();
    if let Err(error) = hooks.queue.send(&hints).await {
        let answer = unavailable(&connection_id, "could not queue the delivery; asking the sender to retry", &error);
        // Forget the claim so the sender's retry is not dropped as a duplicate.
        if let Err(error) = hooks.store.release_claim(&claim).await {
            tracing::error!(%error, "could not release the delivery claim");
        }
        return answer;
    }
    if let Err(error) = hooks.store.finish_delivery(&claim, DEDUP_WINDOW, now).await {
        // Queued all the same: a redelivery within the minute is told to retry, after it is queued again and
        // the worker finds it already applied.
        tracing::warn!(%error, "could not mark the delivery done");
    }
    tracing::info!(%connection_id, queued = hints.len(), "queued a delivery");
    (StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "status": "queued", "queued": hints.len() }))).into_response()
}

/// A subscription's verification token, confirmed with the HR system before it becomes the connection's newest
/// webhook secret (a token the HR system does not confirm is answered like a bad signature).
async fn handshake(
    hooks: &Webhooks,
    connection: &ithub::store::Connection,
    token: ithub::providers::auth::Secret,
) -> Response {
    let connection_id = &connection.id;
    let now = Utc::now();
    match hooks.secrets.get(&connection.secret_id).await {
        // Already kept: a repeated handshake costs the HR system no call.
        Ok(secret) if secret.webhook_secrets.iter().any(|s| s == token.expose()) => return verified(),
        Ok(_) => {}
        Err(error) => {
            return unavailable(connection_id, "could not read the connection's secrets", &error);
        }
    }
    // At most one confirmation call to the HR system per connection every few seconds, however many unsigned
    // handshakes arrive: a flood cannot spend the connection's HR rate limit.
    let throttle = format!("handshake#{connection_id}");
    match hooks.store.claim_delivery(&throttle, HANDSHAKE_EVERY, now).await {
        Ok(DeliveryClaim::Claimed) => {}
        Ok(_) => return not_verified(&WebhookError::BadSignature),
        Err(error) => {
            return unavailable(connection_id, "could not record the handshake", &error);
        }
    }
    let confirmed = match hooks.secrets.connect(connection, hooks.http.clone(), &hooks.store).await {
        Ok(provider) => provider.confirm_subscription(token.expose()).await,
        Err(error) => {
            return unavailable(connection_id, "could not read the connection's credentials", &error);
        }
    };
    match confirmed {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(%connection_id, "the HR system did not confirm a verification token");
            return not_verified(&WebhookError::BadSignature);
        }
        Err(error) => {
            return unavailable(connection_id, "could not confirm a webhook subscription", &error);
        }
    }
    let kept = hooks
        .secrets
        .update(&hooks.store, &connection.secret_id, |secret| {
            if !secret.webhook_secrets.iter().any(|s| s == token.expose()) {
                // Newest first; the previous one stays valid for deliveries already signed with it.
                secret.webhook_secrets.insert(0, token.expose().to_owned());
                secret.webhook_secrets.truncate(2);
            }
        })
        .await;
    if let Err(error) = kept {
        return unavailable(connection_id, "could not keep the confirmed verification token", &error);
    }
    tracing::info!(%connection_id, "confirmed the webhook subscription");
    verified()
}

fn verified() -> Response {
    (StatusCode::OK, axum::Json(serde_json::json!({ "status": "verified", "queued": 0 }))).into_response()
}

/// What went wrong is logged under a new correlation id; the sender gets the id and no detail.
fn unavailable(connection_id: &ConnectionId, what: &str, error: &dyn std::fmt::Display) -> Response {
    let correlation_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(%correlation_id, %connection_id, %error, "{what}");
    ithub::problem::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily-unavailable",
        "Temporarily unavailable",
        "the delivery was not accepted; please retry",
    )
    .value("correlation_id", &correlation_id)
    .into_response()
}
