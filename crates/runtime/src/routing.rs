//! [`Router`]: routing and rules requests (queue-contact, queue-to-agent, queue
//! information, escalate-cdg, bre-request) and the contact commands that need no answer
//! (priority, screen pop, transfer, disconnect, go-to, emitted events).
//!
//! [`LocalRouter`] is the faithful local behaviour until the routing issue brings queues,
//! agents and offers: it answers at once, as a contact center with the queue configured
//! and no agent free would —
//!
//! - `QueueContact`: queued (`queueId` and `queueName` are the queue as the flow named it);
//!   with a list of known queues, any other is QUEUE_NOT_FOUND.
//! - `QueueToAgent`: queued for the agent (`agentId` as named, `queueId`).
//! - `GetQueueInfo`: position 1 of 1 when the contact is queued there, else 0 of 0;
//!   estimated wait 0.
//! - `AdvancedQueueInfo`: the contacts this router queued there, everything else 0 (no
//!   agents are logged in).
//! - `EscalateCdg`: moved to the target group (default 2).
//! - `BreRequest`: BRE_NOT_CONFIGURED (there is no rules engine).
//!
//! No agent ever answers, so a queued contact stays parked until the caller hangs up.

use std::sync::Mutex;

use engine::{Command, Reply};
use serde_json::{json, Value as Json};

use crate::BoxFuture;

/// Answers routing and rules requests.
pub trait Router: Send + Sync {
    /// The answer to a request command; `None` leaves the task waiting (an answer comes
    /// later, through [`crate::resume`]).
    fn request<'a>(&'a self, command: &'a Command) -> BoxFuture<'a, Option<Reply>>;

    /// A contact command that needs no answer.
    fn notify(&self, command: &Command) {
        let _ = command;
    }
}

/// The local stand-in for routing; see the module documentation.
#[derive(Debug, Default)]
pub struct LocalRouter {
    known_queues: Option<Vec<String>>,
    queued: Mutex<Vec<String>>,
    notified: Mutex<Vec<Command>>,
}

impl LocalRouter {
    pub fn new() -> LocalRouter {
        LocalRouter::default()
    }

    /// Only these queues (ids or names) exist; others are QUEUE_NOT_FOUND.
    pub fn with_queues(queues: Vec<String>) -> LocalRouter {
        LocalRouter {
            known_queues: Some(queues),
            ..LocalRouter::default()
        }
    }

    /// The contact commands seen so far (priority, screen pops, transfers...).
    pub fn notified(&self) -> Vec<Command> {
        self.notified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known(&self, queue: &str) -> Result<(), Reply> {
        match &self.known_queues {
            Some(qs) if !qs.iter().any(|q| q == queue) => Err(Reply::Err {
                code: "QUEUE_NOT_FOUND".to_owned(),
                message: format!("no queue '{queue}'"),
            }),
            _ => Ok(()),
        }
    }

    fn answer(&self, command: &Command) -> Option<Reply> {
        let ok = |v: Json| Reply::Ok {
            outputs: match v {
                Json::Object(m) => m,
                _ => serde_json::Map::new(),
            },
        };
        Some(match command {
            Command::QueueContact(q) => match self.known(&q.queue) {
                Err(e) => e,
                Ok(()) => {
                    self.queued().push(q.queue.clone());
                    ok(json!({"queueId": q.queue, "queueName": q.queue}))
                }
            },
            Command::QueueToAgent(q) => match self.known(&q.queue) {
                Err(e) => e,
                Ok(()) => {
                    self.queued().push(q.queue.clone());
                    ok(json!({"agentId": q.agent, "queueId": q.queue}))
                }
            },
            Command::GetQueueInfo { queue, .. } => match self.known(queue) {
                Err(e) => e,
                Ok(()) => {
                    let n = self.queued().iter().filter(|q| *q == queue).count();
                    ok(json!({
                        "queueId": queue, "queueName": queue,
                        "positionInQueue": n.min(1), "estimatedWaitTime": 0, "contactsInQueue": n
                    }))
                }
            },
            Command::AdvancedQueueInfo { queue, .. } => match self.known(queue) {
                Err(e) => e,
                Ok(()) => {
                    let n = self.queued().iter().filter(|q| *q == queue).count();
                    ok(json!({
                        "contactsInQueue": n, "longestWaitTime": 0, "averageWaitTime": 0,
                        "loggedInAgents": 0, "availableAgents": 0
                    }))
                }
            },
            Command::EscalateCdg {
                queue,
                target_group,
                ..
            } => match self.known(queue) {
                Err(e) => e,
                Ok(()) => ok(json!({"distributionGroup": target_group.unwrap_or(2)})),
            },
            Command::BreRequest(_) => Reply::Err {
                code: "BRE_NOT_CONFIGURED".to_owned(),
                message: "no business rules engine is configured".to_owned(),
            },
            _ => return None,
        })
    }
}

impl Router for LocalRouter {
    fn request<'a>(&'a self, command: &'a Command) -> BoxFuture<'a, Option<Reply>> {
        Box::pin(std::future::ready(self.answer(command)))
    }

    fn notify(&self, command: &Command) {
        self.notified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(command.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::QueueContact;

    fn queue(id: u64, q: &str) -> Command {
        Command::QueueContact(QueueContact {
            id,
            queue: q.into(),
            priority: None,
            skill_requirements: Vec::new(),
        })
    }

    #[tokio::test]
    async fn queues_at_once_and_reports_the_position() {
        let r = LocalRouter::new();
        let Some(Reply::Ok { outputs }) = r.request(&queue(1, "Sales")).await else {
            panic!("queued")
        };
        assert_eq!(outputs["queueName"], json!("Sales"));
        let info = Command::GetQueueInfo {
            id: 2,
            queue: "Sales".into(),
        };
        let Some(Reply::Ok { outputs }) = r.request(&info).await else {
            panic!("info")
        };
        assert_eq!(outputs["positionInQueue"], json!(1));
        assert_eq!(r.request(&Command::Disconnect).await, None);
    }

    #[tokio::test]
    async fn unknown_queues_are_not_found_when_queues_are_listed() {
        let r = LocalRouter::with_queues(vec!["Sales".into()]);
        assert!(matches!(
            r.request(&queue(1, "Support")).await,
            Some(Reply::Err { code, .. }) if code == "QUEUE_NOT_FOUND"
        ));
    }
}
