//! Network activity (`network` rows): firewall, proxy and flow logs.
//!
//! One file per format; what they share with other families is in
//! [`super::readers`].

pub mod cef;
pub mod cisco_asa;
pub mod fortigate;
pub mod panos;
pub mod squid;
pub mod w3c;
pub mod zeek_conn;
pub mod zeek_http;
pub mod zeek_ssl;
