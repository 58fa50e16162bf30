//! One integration-test binary for the server (one binary links once: cheap on 2 cores).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod audit;
mod audit_anchors;
mod authentication;
mod case_attachments;
mod case_sla;
mod cli;
mod clients;
mod console;
mod data_protection;
mod db_roles;
mod fapi;
mod fapi_node;
mod http2;
mod incidents;
mod invariants;
mod iso20022;
mod kyc;
mod metrics;
mod monitoring;
mod multi_instance;
mod networks;
mod operations;
mod operator_api;
mod payments;
mod people;
mod protection;
mod readme;
mod reports;
mod scanners;
mod scopes;
mod screening;
mod snap;
mod staff_tokens;
mod store_tls;
mod tls;
mod webhooks;
