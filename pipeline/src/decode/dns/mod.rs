//! DNS queries (`dns` rows): resolver query logs.
//!
//! One file per format; what they share with other families is in
//! [`super::readers`].

pub mod bind_query;
pub mod umbrella_dns;
pub mod windows_dns;
pub mod zeek_dns;
