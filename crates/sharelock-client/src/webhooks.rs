//! The owner's signed webhook endpoints (docs/protocol.md §9.9): register, list, remove, ping, and the
//! deliveries with each attempt's outcome. Nothing here is encrypted: webhooks carry no record content.

use crate::error::Result;
use crate::session::OwnerSession;
use reqwest::Method;
use sharelock_api::webhooks::{
    CreateWebhook, DeliveryInfo, DeliveryList, PingQueued, WebhookCreated, WebhookInfo, WebhookList,
};
use uuid::Uuid;

impl OwnerSession {
    /// Registers an endpoint for `kinds`; the answer holds its signing secret, shown only this once.
    pub async fn create_webhook(&self, url: &str, kinds: &[String]) -> Result<WebhookCreated> {
        let body = CreateWebhook {
            url: url.to_owned(),
            kinds: kinds.to_vec(),
        };
        self.api
            .json(self.authed(Method::POST, "/webhooks").json(&body))
            .await
    }

    /// The account's endpoints, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookInfo>> {
        let list: WebhookList = self.api.json(self.authed(Method::GET, "/webhooks")).await?;
        Ok(list.webhooks)
    }

    /// Removes an endpoint and its deliveries.
    pub async fn delete_webhook(&self, id: Uuid) -> Result<()> {
        self.api
            .send(self.authed(Method::DELETE, &format!("/webhooks/{id}")))
            .await?;
        Ok(())
    }

    /// Queues a signed `ping` to the endpoint; returns its delivery's id.
    pub async fn ping_webhook(&self, id: Uuid) -> Result<i64> {
        let queued: PingQueued = self
            .api
            .json(self.authed(Method::POST, &format!("/webhooks/{id}/ping")))
            .await?;
        Ok(queued.delivery)
    }

    /// The endpoint's newest deliveries (at most `limit`, 1 to 100), newest first.
    pub async fn webhook_deliveries(&self, id: Uuid, limit: u32) -> Result<Vec<DeliveryInfo>> {
        let list: DeliveryList = self
            .api
            .json(self.authed(
                Method::GET,
                &format!("/webhooks/{id}/deliveries?limit={limit}"),
            ))
            .await?;
        Ok(list.deliveries)
    }
}
