//! The integration tests, one binary: every file here is a module, so the workspace links one test executable
//! rather than one per file (each links the AWS SDK; two dozen of them filled a CI disk). `secrets_in_logs`
//! stays a binary of its own, since it installs a global log subscriber.

mod adp;
mod api;
mod bamboohr;
mod bus;
mod connection_edit;
mod connections;
mod console;
mod credentials;
mod employees;
mod events;
mod faults;
mod gusto;
mod hibob;
mod hostile;
mod iam;
mod infra;
mod keys;
mod lifecycle;
mod lifecycle_props;
mod misbehaving;
mod personio;
mod privacy;
mod queue;
mod rippling;
mod scim;
mod store;
mod sync;
mod tenancy;
mod webhook;
mod workday;
