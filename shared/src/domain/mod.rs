//! The domain: what IT Hub knows about people, independent of any HR system or AWS service.

mod employee;
mod ids;

pub use employee::{Address, Employee, EmploymentStatus, HR_OWNED_FIELDS};
pub use ids::{ConnectionId, EmployeeId, TenantId};
