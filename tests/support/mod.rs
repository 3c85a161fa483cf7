//! Helpers shared by the end-to-end tests: running the binary and reading
//! what it writes (`cli`), generated inputs (`corpus`, `day`, `traffic`),
//! the real peers the tests start on loopback (`tansu`, `pytools`, `smtp`,
//! `browser`) and a small HTTP client (`http`).

pub mod browser;
pub mod cli;
pub mod corpus;
pub mod day;
pub mod http;
pub mod pytools;
#[path = "../../nudge/tests/support/smtp.rs"]
pub mod smtp;
pub mod tansu;
pub mod traffic;
