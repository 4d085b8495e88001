//! The domain: what IT Hub knows about people, independent of any HR system or AWS service.

mod employee;
mod ids;
pub mod lifecycle;
pub mod playbook;
mod schedule;
mod task;

pub use employee::{Address, Employee, EmploymentStatus, HR_OWNED_FIELDS, HUB_OWNED_FIELDS, HubFields};
pub use ids::{ConnectionId, EmployeeId, RunId, TenantId};
pub use lifecycle::{Decision, Effect, Hub, HubStatus, ManualOffboard};
pub use playbook::Playbook;
pub use schedule::Schedule;
pub use task::{Actor, ChecklistItem, HrNote, ItemKind, ItemStatus, Task, TaskId, TaskKind, TaskStatus};
